import type { Command } from "commander";
import { loadRoutingTable } from "../../data/table.ts";
import { datasetStats } from "../../eval/stats.ts";
import { formatTable } from "../../report/text-table.ts";
import { openStore, parseSplit, printJson, requireSplit, resolveDataset, withStoreOptions } from "../options.ts";

export function registerStats(program: Command): void {
  withStoreOptions(
    program
      .command("stats")
      .description("per task × model mean performance and cost, best single model, oracle, tie rate")
      .option("--split <split>", "train or test (default: all queries)")
      .option("--json", "print one JSON object (see README)"),
  ).action((opts: { db: string; dataset?: string; split?: string; json?: boolean }) => {
    const store = openStore(opts);
    try {
      const dataset = resolveDataset(store, opts.dataset);
      const split = parseSplit(opts.split);
      requireSplit(store, dataset, split);
      const table = loadRoutingTable(store, { dataset, split });
      const s = datasetStats(table);
      const result = {
        dataset,
        split: split ?? "all",
        queries: s.queries,
        models: s.candidates.map((c) => c.candidate),
        perModel: s.candidates,
        bestSingle: s.bestSingle,
        oracle: s.oracle,
        tieRate: s.tieRate,
        perTask: s.perTask,
      };
      if (opts.json) return printJson(result);
      const tasks = Object.keys(s.perTask);
      const header = ["model", ...tasks, "ALL", "cost/query"];
      const rows = s.candidates.map((c) => [
        c.candidate,
        ...tasks.map((t) => fmt(s.perTask[t]?.candidates.find((x) => x.candidate === c.candidate)?.performance)),
        fmt(c.performance),
        `$${c.cost.toExponential(2)}`,
      ]);
      rows.push([
        "ORACLE",
        ...tasks.map((t) => fmt(s.perTask[t]?.oracle.performance)),
        fmt(s.oracle.performance),
        `$${s.oracle.cost.toExponential(2)}`,
      ]);
      process.stdout.write(
        `${dataset}, split ${result.split}: ${s.queries} queries × ${s.candidates.length} candidates\n`,
      );
      process.stdout.write(formatTable(header, rows));
      process.stdout.write(
        `best single: ${s.bestSingle.model} ${fmt(s.bestSingle.performance)} (cost $${s.bestSingle.cost.toExponential(2)}/query); ` +
          `oracle ${fmt(s.oracle.performance)}; top-score ties on ${(100 * s.tieRate).toFixed(1)}% of queries\n`,
      );
    } finally {
      store.close();
    }
  });
}

function fmt(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? "—" : v.toFixed(3);
}
