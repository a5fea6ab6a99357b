import type { ImportOptions } from "./importers/importer.ts";
import { detectImporter, importerByName } from "./importers/index.ts";
import type { ImportSummary, Store } from "./store.ts";

/** Parse a file or folder with the named (or detected) importer and write it to the store in one transaction. */
export async function importPath(
  store: Store,
  path: string,
  options: ImportOptions & { format?: string } = {},
): Promise<ImportSummary> {
  const importer = options.format ? importerByName(options.format) : await detectImporter(path);
  const batch = await importer.parse(path, options);
  return store.importBatch(batch);
}
