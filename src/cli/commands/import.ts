import type { Command } from "commander";
import { importPath } from "../../data/import.ts";
import { progress } from "../../util/progress.ts";
import { openStore, printJson } from "../options.ts";

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("import routing data from a file or folder into the store (one transaction)")
    .argument("<paths...>", "files or folders to import")
    .option("--db <file>", "SQLite store file", process.env.FUSIONKIT_DB ?? "./fusionkit.db")
    .option("--format <format>", "source format (detected when unambiguous)")
    .option("--dataset <name>", "dataset name to store the queries under")
    .option("--json", "print the import summary as JSON")
    .action(async (paths: string[], opts: { db: string; format?: string; dataset?: string; json?: boolean }) => {
      const store = openStore(opts);
      try {
        const summaries = [];
        for (const path of paths) {
          const bar = progress(`parsing ${path}`, 1);
          const summary = await importPath(store, path, {
            format: opts.format,
            dataset: opts.dataset,
            onProgress: (done, total) => bar.update(done, total),
          });
          bar.stop();
          summaries.push(summary);
          if (!opts.json)
            process.stdout.write(
              `${path} (${summary.format}, dataset ${summary.dataset}): +${summary.queriesAdded} queries, ` +
                `+${summary.outcomesAdded} outcomes (${summary.outcomesUnchanged} unchanged), +${summary.modelsAdded} models\n`,
            );
        }
        if (opts.json) printJson(summaries);
      } finally {
        store.close();
      }
    });
}
