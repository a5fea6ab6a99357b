import type { Command } from "commander";
import { UsageError } from "../data/errors.ts";
import { DEFAULT_DB, Store } from "../data/store.ts";
import type { Split } from "../data/types.ts";
import { GATEWAY_DATASET } from "../serve/labels.ts";

/** Options shared by commands that read the store. */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option("--db <file>", "SQLite store file", process.env.FUSIONKIT_DB ?? DEFAULT_DB)
    .option("--dataset <name>", "restrict to one dataset in the store");
}

export function openStore(opts: { db?: string }): Store {
  return new Store(opts.db ?? DEFAULT_DB);
}

export function parseSplit(value: string | undefined): Split | undefined {
  if (value === undefined) return undefined;
  if (value !== "train" && value !== "test") throw new UsageError(`--split must be train or test, got "${value}"`);
  return value;
}

/**
 * The dataset a command works on: `--dataset` when given (it must exist); else the only one; else the first
 * one imported into the store (after `fusionkit demo`: llmrouter), skipping the gateway's feedback dataset
 * (it only complements the data a router was trained on).
 * A default among several is named on stderr, so the choice is never silent.
 */
export function resolveDataset(store: Store, dataset: string | undefined): string {
  const all = store.datasets();
  if (dataset) {
    if (!all.includes(dataset))
      throw new UsageError(`dataset "${dataset}" is not in ${store.path} (have: ${all.join(", ") || "none"})`);
    return dataset;
  }
  if (all.length === 0) throw new UsageError(`${store.path} holds no data; run "fusionkit import" first`);
  if (all.length === 1) return all[0] as string;
  const byImport = store.db
    .prepare<[], { dataset: string }>("SELECT dataset FROM queries GROUP BY dataset ORDER BY MIN(rowid)")
    .all()
    .map((r) => r.dataset);
  const chosen = byImport.find((d) => d !== GATEWAY_DATASET) ?? (byImport[0] as string);
  process.stderr.write(
    `note: ${store.path} holds several datasets (${all.join(", ")}); using "${chosen}", the first imported (choose with --dataset)\n`,
  );
  return chosen;
}

/** A split the command needs must exist: say how to make it rather than fail on an empty table. */
export function requireSplit(store: Store, dataset: string, split: Split | undefined): void {
  if (split === undefined) return;
  const row = store.db
    .prepare<[string, string], { n: number }>("SELECT COUNT(*) AS n FROM queries WHERE dataset = ? AND split = ?")
    .get(dataset, split);
  if (!row?.n)
    throw new UsageError(
      `dataset "${dataset}" has no ${split} split in ${store.path}; assign one with "fusionkit split --dataset ${dataset}"`,
    );
}

/**
 * The llm-judge scenario ranks by LLM-judge scores; on data without any it would silently equal
 * performance-first, so it is an error that says how to get them.
 */
export function requireJudgeScores(store: Store, dataset: string, split: Split): void {
  const row = store.db
    .prepare<[string, string], { n: number }>(
      "SELECT COUNT(*) AS n FROM (SELECT 1 FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE q.dataset = ? AND q.split = ? AND o.judge IS NOT NULL LIMIT 1)",
    )
    .get(dataset, split);
  if (!row?.n)
    throw new UsageError(
      `scenario llm-judge needs LLM-judge scores, and the ${split} split of dataset "${dataset}" has none; score responses with "fusionkit judge --dataset ${dataset} ..." or choose another scenario`,
    );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
