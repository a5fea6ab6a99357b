import type { Command } from "commander";
import { exportCanonical } from "../../data/export.ts";
import { openStore, parseSplit, resolveDataset, withStoreOptions } from "../options.ts";

export function registerExport(program: Command): void {
  withStoreOptions(
    program
      .command("export")
      .description("write the store (or one dataset/split) as FusionKit canonical JSONL (see README)")
      .requiredOption("--out <file>", "output .jsonl file")
      .option("--split <split>", "train or test (default: all queries)"),
  ).action(async (opts: { db: string; dataset?: string; split?: string; out: string }) => {
    const split = parseSplit(opts.split);
    const store = openStore(opts);
    try {
      // Unlike stats, export may write several datasets at once; a named one must exist.
      const dataset = opts.dataset ? resolveDataset(store, opts.dataset) : undefined;
      const s = await exportCanonical(store, opts.out, { dataset, split });
      process.stdout.write(`${opts.out}: ${s.models} models, ${s.queries} queries, ${s.outcomes} outcomes\n`);
    } finally {
      store.close();
    }
  });
}
