import { access, constants, stat } from "node:fs/promises";
import { DataError, UsageError } from "./errors.ts";
import type { ImportOptions } from "./importers/importer.ts";
import { detectImporter, importerByName } from "./importers/index.ts";
import type { ImportSummary, Store } from "./store.ts";
import type { ParsedBatch } from "./types.ts";

/**
 * Parse a file or folder with the named (or detected) importer; nothing touches the store. Every failure is a
 * DataError or UsageError naming the file: importers name file, line and field for bad records, and anything else
 * they throw (a file system error, a corrupted Parquet page, a parser's own exception) is turned into one here.
 */
export async function parsePath(path: string, options: ImportOptions & { format?: string } = {}): Promise<ParsedBatch> {
  await checkReadable(path);
  const importer = options.format ? importerByName(options.format) : await detectImporter(path);
  try {
    return await importer.parse(path, options);
  } catch (e) {
    throw importError(e, path, importer.format);
  }
}

/** Parse a file or folder with the named (or detected) importer and write it to the store in one transaction. */
export async function importPath(
  store: Store,
  path: string,
  options: ImportOptions & { format?: string } = {},
): Promise<ImportSummary> {
  return store.importBatch(await parsePath(path, options));
}

/** What a file system error code means, for messages a user can act on. */
const FS_PROBLEMS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many levels of symbolic links (a symlink loop?)",
  EISDIR: "is a folder, expected a file",
  ENOTDIR: "a part of the path is not a folder",
  ENAMETOOLONG: "the path is too long",
  EMFILE: "too many open files",
  EIO: "input/output error reading the disk",
};

function fsProblem(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && code.startsWith("E") ? (FS_PROBLEMS[code] ?? code) : null;
}

/** The path exists and can be read: said before format detection, which would otherwise just not recognise it. */
async function checkReadable(path: string): Promise<void> {
  try {
    await stat(path);
    await access(path, constants.R_OK);
  } catch (e) {
    throw new DataError(null, null, `${path}: cannot read (${fsProblem(e) ?? (e as Error).message})`);
  }
}

/** Any error an importer threw, as a DataError/UsageError naming the file (the one it was reading, when known). */
export function importError(e: unknown, path: string, format: string): Error {
  if (e instanceof DataError || e instanceof UsageError) return e;
  const problem = fsProblem(e);
  if (problem) {
    const file = (e as NodeJS.ErrnoException).path ?? path;
    return new DataError(null, null, `${file}: cannot read (${problem})`);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new DataError(null, null, `${path}: cannot be read as ${format} data (${message})`);
}
