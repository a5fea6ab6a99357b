import { UsageError } from "../errors.ts";
import { fusionbenchImporter } from "./fusionbench.ts";
import { fusionkitImporter } from "./fusionkit.ts";
import type { Importer } from "./importer.ts";
import { llmrouterImporter } from "./llmrouter.ts";
import { llmrouterNqImporter } from "./llmrouter-nq.ts";
import { routellmImporter } from "./routellm.ts";
import { routeprofileImporter } from "./routeprofile.ts";
import { routerbenchImporter } from "./routerbench.ts";

/** Name → importer registry; `fusionkit import --format <name>` and detection both read it. */
export const IMPORTERS: Importer[] = [
  fusionbenchImporter,
  llmrouterImporter,
  routeprofileImporter,
  llmrouterNqImporter,
  routellmImporter,
  routerbenchImporter,
  fusionkitImporter,
];

export function importerByName(format: string): Importer {
  const imp = IMPORTERS.find((i) => i.format === format);
  if (!imp) throw new UsageError(`unknown format "${format}" (known: ${IMPORTERS.map((i) => i.format).join(", ")})`);
  return imp;
}

/** The one importer whose detect() accepts the path; none or several is a usage error asking for --format. */
export async function detectImporter(path: string): Promise<Importer> {
  const hits: Importer[] = [];
  for (const imp of IMPORTERS) if (await imp.detect(path)) hits.push(imp);
  if (hits.length === 1) return hits[0] as Importer;
  if (hits.length === 0)
    throw new UsageError(
      `cannot tell the format of ${path}; pass --format (${IMPORTERS.map((i) => i.format).join("|")})`,
    );
  throw new UsageError(`${path} looks like several formats (${hits.map((h) => h.format).join(", ")}); pass --format`);
}
