import { UsageError } from "./errors.ts";
import type { Store } from "./store.ts";

/**
 * Dataset naming shared by every layer: the gateway's own feedback dataset, and the rule for the dataset a
 * command or a background job works on when none is named.
 */

/** The dataset (and its one task) the gateway's labelled traffic is exported to; see serve/labels.ts. */
export const GATEWAY_DATASET = "gateway";
export const GATEWAY_TASK = "gateway";

/**
 * The dataset to work on: `dataset` when given (it must exist); else the only one; else the first one
 * imported into the store (after `fusionkit demo`: llmrouter), skipping the gateway's feedback dataset
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
