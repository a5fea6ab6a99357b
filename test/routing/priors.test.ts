import assert from "node:assert/strict";
import { test } from "node:test";
import { Priors } from "../../src/routing/priors.ts";
import type { TrainingSet } from "../../src/routing/router.ts";
import { CANDIDATES as candidates } from "./toy.ts";

const N = Number.NaN;

/** Rows of (task, performance per candidate, cost per candidate). */
function set(rows: [string | null, number[], number[]][]): TrainingSet {
  return {
    candidates,
    queries: rows.map(([task], i) => ({ text: `q${i}`, embedding: new Float32Array(2), task, domain: null })),
    performance: Float64Array.from(rows.flatMap(([, p]) => p)),
    cost: Float64Array.from(rows.flatMap(([, , c]) => c)),
    judge: null,
  };
}

const same = (got: Float64Array, want: number[]) => assert.deepEqual([...got].map(String), want.map(String));

test("priors: mean cost over the known costs only; a cell without one takes the candidate's global mean, NaN if none", () => {
  const p = Priors.fit(
    set([
      ["a", [1, 0, 1], [2, N, N]],
      ["a", [0, 1, 0], [4, 6, N]],
      ["b", [1, 1, 1], [N, N, N]],
      ["b", [N, 0, 1], [N, 3, N]],
      [null, [0, 1, 0], [9, N, N]], // no task: counts in the global means only
    ]),
  );
  // Columns cheap, big, mid (toy.ts; their prices play no part here).
  // cheap: known costs 2, 4 (task a) and 9 (no task) → a 3, global 5; task b has none → 5.
  // big: 6 in task a, 3 in task b → global 4.5 (counting missing costs as $0 gave a 3, b 1.5, global 1.8).
  // mid: performances known, no cost anywhere → NaN (was $0, the cheapest-looking).
  same(p.costRow("a"), [3, 6, N]);
  same(p.costRow("b"), [5, 3, N]);
  same(p.globalCost, [5, 4.5, N]);
  // Performance means are unchanged: over the known performances, per task and overall.
  same(p.perfRow("a"), [0.5, 0.5, 0.5]);
  same(p.perfRow("b"), [1, 0.5, 1]);
  same(p.globalPerf, [0.5, 0.6, 0.6]);
  // The saved state has the same fields (counts are still of known performances) and restores the same means.
  const state = JSON.parse(JSON.stringify(p.state()));
  assert.deepEqual(Object.keys(state).sort(), [
    "cost",
    "count",
    "globalCost",
    "globalCount",
    "globalPerf",
    "perf",
    "tasks",
  ]);
  const back = Priors.restore(state, candidates.length);
  same(back.count, [2, 2, 2, 1, 2, 2]);
  same(back.globalCount, [4, 5, 5]);
  same(back.costRow("a"), [3, 6, N]);
  same(back.globalCost, [5, 4.5, N]);
});
