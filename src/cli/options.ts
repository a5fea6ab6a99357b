import type { Command } from "commander";
import { UsageError } from "../data/errors.ts";
import { DEFAULT_DB, Store } from "../data/store.ts";
import type { Split } from "../data/types.ts";

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

/** When the store holds several datasets and none is chosen, say so instead of mixing them. */
export function resolveDataset(store: Store, dataset: string | undefined): string | undefined {
  if (dataset) {
    if (!store.datasets().includes(dataset))
      throw new UsageError(
        `dataset "${dataset}" is not in ${store.path} (have: ${store.datasets().join(", ") || "none"})`,
      );
    return dataset;
  }
  const all = store.datasets();
  if (all.length > 1)
    throw new UsageError(`${store.path} holds several datasets (${all.join(", ")}); choose one with --dataset`);
  if (all.length === 0) throw new UsageError(`${store.path} holds no data; run "fusionkit import" first`);
  return all[0];
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
