import { Rng } from "../util/prng.ts";
import type { Query, Split } from "./types.ts";

/**
 * Reproducible train/test split by query, stratified by task: within each task the queries (sorted by id,
 * so the result does not depend on import order) are shuffled with the seed and the first
 * round(testFraction × n) go to test.
 */
export function stratifiedSplit(
  queries: Query[],
  testFraction: number,
  seed: number,
): Array<{ id: string; split: Split }> {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`test fraction must be in (0,1), got ${testFraction}`);
  const byTask = new Map<string, string[]>();
  for (const q of queries) {
    const ids = byTask.get(q.task) ?? [];
    ids.push(q.id);
    byTask.set(q.task, ids);
  }
  const out: Array<{ id: string; split: Split }> = [];
  for (const task of [...byTask.keys()].sort()) {
    const ids = (byTask.get(task) ?? []).sort();
    const rng = new Rng(seed ^ hashString(task));
    rng.shuffle(ids);
    const nTest = Math.round(testFraction * ids.length);
    ids.forEach((id, i) => {
      out.push({ id, split: i < nTest ? "test" : "train" });
    });
  }
  return out;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
