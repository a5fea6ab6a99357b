import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { stratifiedSplit } from "../../data/split.ts";
import { openStore, parseOpenShare, parseSeed, resolveDataset, withStoreOptions } from "../options.ts";

export function registerSplit(program: Command): void {
  withStoreOptions(
    program
      .command("split")
      .description("assign a reproducible train/test split by query (seeded, stratified by task)")
      .option("--test-fraction <f>", "share of each task's queries in test", "0.2")
      .option("--seed <n>", "random seed", "42")
      .option("--force", "re-split queries that already have a split from their source"),
  ).action((opts: { db: string; dataset?: string; testFraction: string; seed: string; force?: boolean }) => {
    const testFraction = parseOpenShare(opts.testFraction, "--test-fraction");
    const seed = parseSeed(opts.seed, "--seed");
    const store = openStore(opts);
    try {
      const dataset = resolveDataset(store, opts.dataset);
      const queries = store.queries({ dataset });
      const unsplit = opts.force ? queries : queries.filter((q) => !q.split);
      if (unsplit.length === 0)
        throw new UsageError(
          `every query of ${dataset} already has the split its source gives; use --force to re-split`,
        );
      const assignments = stratifiedSplit(unsplit, testFraction, seed);
      store.setSplits(assignments);
      const nTest = assignments.filter((a) => a.split === "test").length;
      process.stdout.write(`${dataset}: ${assignments.length - nTest} train, ${nTest} test (seed ${opts.seed})\n`);
    } finally {
      store.close();
    }
  });
}
