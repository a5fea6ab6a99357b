import type { Command } from "commander";
import { parsePath } from "../../data/import.ts";
import { Store } from "../../data/store.ts";
import type { ParsedBatch } from "../../data/types.ts";
import { progress } from "../../util/progress.ts";
import { defaultDb, printJson } from "../options.ts";

/**
 * How long an import waits for another writer (a second import, `train`, the gateway's log) to release the
 * store's write lock: a command run by hand may wait; failing with "database is locked" helps nobody.
 */
const IMPORT_BUSY_TIMEOUT_MS = 10 * 60_000;

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("import routing data from files or folders into the store (all of them or nothing)")
    .argument("<paths...>", "files or folders to import")
    .option("--db <file>", "SQLite store file", defaultDb())
    .option("--format <format>", "source format (detected when unambiguous)")
    .option("--dataset <name>", "dataset name to store the queries under")
    .option("--json", "print the import summary as JSON")
    .action(async (paths: string[], opts: { db: string; format?: string; dataset?: string; json?: boolean }) => {
      // Every path is parsed before anything is written, so a bad second file leaves the first unstored too.
      const batches: ParsedBatch[] = [];
      for (const path of paths) {
        const bar = progress(`parsing ${path}`, 1);
        try {
          batches.push(
            await parsePath(path, {
              format: opts.format,
              dataset: opts.dataset,
              onProgress: (done, total) => bar.update(done, total),
            }),
          );
        } finally {
          bar.stop();
        }
      }
      const store = new Store(opts.db, { busyTimeoutMs: IMPORT_BUSY_TIMEOUT_MS });
      try {
        const summaries = store.importBatches(batches);
        if (opts.json) printJson(summaries);
        else
          summaries.forEach((summary, i) => {
            process.stdout.write(
              `${paths[i]} (${summary.format}, dataset ${summary.dataset}): +${summary.queriesAdded} queries, ` +
                `+${summary.outcomesAdded} outcomes (${summary.outcomesUnchanged} unchanged), +${summary.modelsAdded} models\n`,
            );
          });
      } finally {
        store.close();
      }
    });
}
