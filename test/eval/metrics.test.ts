import assert from "node:assert/strict";
import { test } from "node:test";
import {
  aiq,
  apgr,
  callCurve,
  choiceMeans,
  compareTasks,
  cpt,
  gapClosed,
  meanReward,
  nonDecreasingHull,
  type OutcomeMatrix,
  perTaskMeans,
  strongWeak,
  taskRanges,
  twoModelCurve,
} from "../../src/eval/metrics.ts";

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-12, msg ?? `${a} ≠ ${b}`);

// 3 queries × 2 candidates; tasks a, a, b. Hand-computed values below.
const m: OutcomeMatrix = {
  candidates: ["cheap", "dear"],
  performance: Float64Array.from([1, 0, 0, 1, 0.5, 0.5]),
  cost: Float64Array.from([1, 2, 1, 2, 1, 2]),
};
const tasks = ["a", "a", "b"];
const choices = Int32Array.from([0, 1, 1]);

test("choiceMeans: mean performance and cost of the chosen candidates", () => {
  const r = choiceMeans(m, choices);
  close(r.performance, (1 + 1 + 0.5) / 3);
  close(r.cost, (1 + 2 + 2) / 3);
  const sub = choiceMeans(m, choices, [0, 2]);
  close(sub.performance, 0.75);
  close(sub.cost, 1.5);
});

test("choiceMeans refuses to score a candidate with no outcome", () => {
  const holes: OutcomeMatrix = { ...m, performance: Float64Array.from([1, Number.NaN, 0, 1, 0.5, 0.5]) };
  assert.throws(() => choiceMeans(holes, Int32Array.from([1, 0, 0])), /query row 0: chosen candidate 1/);
});

test("reward: per-task min–max normalisation and the FusionFactory scenarios", () => {
  const ranges = taskRanges(m, tasks);
  // task a: perf in [0,1], cost in [1,2]; task b: perf range empty (→ 0), cost in [1,2].
  assert.deepEqual([...ranges.perfMin], [0, 0, 0.5]);
  assert.deepEqual([...ranges.costMax], [2, 2, 2]);
  // normalised (perf', cost') of the choices: row0 (1,0), row1 (1,1), row2 (0,1)
  close(meanReward(m, choices, ranges, 1, 0), 2 / 3); // performance-first
  close(meanReward(m, choices, ranges, 0.5, 0.5), 0); // balance: (0.5 + 0 − 0.5)/3
  close(meanReward(m, choices, ranges, 0.2, 0.8), (0.2 - 0.6 - 0.8) / 3); // cost-first
  // A judge score replaces performance as the quality.
  const judge = Float64Array.from([0.2, 0.6, 0.4, 0.4, 0, 1]);
  const jr = taskRanges(m, tasks, judge);
  // task a judge range [0.2,0.6]: row0 chose 0.2 → 0, row1 chose 0.4 → 0.5; task b [0,1]: row2 chose 1 → 1
  close(meanReward(m, choices, jr, 1, 0, undefined, judge), (0 + 0.5 + 1) / 3);
});

test("gap closed: (router − best single)/(oracle − best single)", () => {
  close(gapClosed(0.6, 0.5, 0.9), 0.25);
  close(gapClosed(0.4, 0.5, 0.9), -0.25);
  close(gapClosed(0.9, 0.5, 0.9), 1);
  assert.ok(Number.isNaN(gapClosed(0.5, 0.5, 0.5)));
});

test("per-task means and beats/loses against a reference", () => {
  const per = perTaskMeans(m, choices, tasks);
  assert.deepEqual(per, { a: { performance: 1, cost: 1.5, queries: 2 }, b: { performance: 0.5, cost: 2, queries: 1 } });
  const ref = perTaskMeans(m, Int32Array.from([1, 1, 1]), tasks); // always "dear": a 0.5, b 0.5
  assert.deepEqual(compareTasks(per, ref), { beats: ["a"], loses: [], ties: ["b"] });
  const worse = perTaskMeans(m, Int32Array.from([1, 0, 0]), tasks); // a: 0, b: 0.5
  assert.deepEqual(compareTasks(worse, ref), { beats: [], loses: ["a"], ties: ["b"] });
});

test("RouteLLM call curve, APGR and CPT on a hand-computed case", () => {
  const weak = Float64Array.from([1, 0, 0, 1]);
  const strong = Float64Array.from([1, 1, 1, 0]);
  // q1 first (0.9), then q2 and q3 together (tied 0.5), then q0.
  const curve = callCurve(weak, strong, Float64Array.from([0.1, 0.9, 0.5, 0.5]));
  assert.deepEqual(curve.strongShare, [0, 0.25, 0.75, 1]);
  assert.deepEqual(curve.performance, [0.5, 0.75, 0.75, 0.75]);
  // area = 0.25·(0.5+0.75)/2 + 0.5·0.75 + 0.25·0.75 = 0.71875; APGR = (0.71875 − 0.5)/(0.75 − 0.5)
  close(apgr(curve), 0.875);
  close(cpt(curve, 0.5), 0.125); // target 0.625 on the first segment
  close(cpt(curve, 0.8), 0.2); // target 0.7
  // A router with no preference (all scores tied) is the straight line: APGR 0.5, CPT(p) = p.
  const flat = callCurve(weak, strong, new Float64Array(4));
  assert.deepEqual(flat.strongShare, [0, 1]);
  close(apgr(flat), 0.5);
  close(cpt(flat, 0.5), 0.5);
  close(cpt(flat, 0.8), 0.8);
  // No gap between the models: undefined.
  assert.ok(Number.isNaN(apgr(callCurve(weak, weak, new Float64Array(4)))));
});

test("strong/weak pair and the two-model curve from a prediction's scores", () => {
  // Columns: 0 = weak (mean 0.5), 1 = strong (mean 0.75); row 4 has no weak outcome and is left out.
  const m = {
    candidates: ["w", "s"],
    performance: Float64Array.from([1, 1, 0, 1, 0, 1, 1, 0, Number.NaN, 1]),
    cost: Float64Array.from([1, 5, 1, 5, 1, 5, 1, 5, 1, 5]),
  };
  const pair = strongWeak(m);
  assert.deepEqual(pair, { strong: 1, weak: 0 });
  // score(strong) − score(weak): 0.1, 0.9, 0.5, 0.5 — the hand-computed case above.
  const score = Float64Array.from([0, 0.1, 0, 0.9, 0.25, 0.75, 0.25, 0.75, 0, 9]);
  const curve = twoModelCurve(m, score, pair);
  assert.ok(curve);
  assert.deepEqual(curve.strongShare, [0, 0.25, 0.75, 1]);
  close(apgr(curve), 0.875);
  // Equal means: the dearer candidate is the strong one.
  assert.deepEqual(strongWeak({ ...m, performance: Float64Array.from([1, 1, 0, 0, 1, 1, 0, 0, 1, 1]) }), {
    strong: 1,
    weak: 0,
  });
});

test("non-decreasing convex hull and AIQ on a hand-computed case", () => {
  const pts = [
    { cost: 1, performance: 0.2 },
    { cost: 2, performance: 0.5 },
    { cost: 2, performance: 0.1 },
    { cost: 3, performance: 0.55 }, // under the segment (2,0.5)–(4,0.9): not on the hull
    { cost: 4, performance: 0.9 },
    { cost: 5, performance: 0.8 }, // after the best point: hull goes flat instead
  ];
  assert.deepEqual(nonDecreasingHull(pts), [
    { cost: 1, performance: 0.2 },
    { cost: 2, performance: 0.5 },
    { cost: 4, performance: 0.9 },
  ]);
  // area over [1,5] = 1·0.35 + 2·0.7 + 1·0.9 = 2.65
  close(aiq(pts), 2.65 / 4);
  // Over a wider shared range [0,5], nothing is credited below the cheapest point.
  close(aiq(pts, 0, 5), 2.65 / 5);
  // A single point: AIQ over a range is its performance times the covered share.
  close(aiq([{ cost: 2, performance: 0.6 }], 0, 4), 0.6 * 0.5);
  close(aiq([{ cost: 2, performance: 0.6 }]), 0.6);
});
