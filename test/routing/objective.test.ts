import assert from "node:assert/strict";
import { test } from "node:test";
import {
  choose,
  type Knob,
  lambdaGrid,
  learnScales,
  objective,
  parseKnob,
  rank,
  scaleFor,
} from "../../src/routing/objective.ts";
import type { CandidateInfo } from "../../src/routing/router.ts";

const cands: CandidateInfo[] = ["a", "b", "c"].map((key) => ({
  key,
  model: key,
  mode: "direct",
  inputPrice: null,
  outputPrice: null,
  description: null,
}));

test("learnScales: min–max per task and globally, NaN cells skipped", () => {
  // 3 queries × 2 candidates; tasks x, x, y.
  const perf = new Float64Array([0.2, 0.8, 1, Number.NaN, 0.5, 0.5]);
  const cost = new Float64Array([1, 3, 2, Number.NaN, 10, 20]);
  const s = learnScales(["x", "x", "y"], perf, cost, 2);
  assert.deepEqual(s.perTask.x, { perfMin: 0.2, perfMax: 1, costMin: 1, costMax: 3 });
  assert.deepEqual(s.perTask.y, { perfMin: 0.5, perfMax: 0.5, costMin: 10, costMax: 20 });
  assert.deepEqual(s.global, { perfMin: 0.2, perfMax: 1, costMin: 1, costMax: 20 });
  assert.equal(scaleFor(s, "unseen"), s.global);
  assert.equal(scaleFor(s, null), s.global);
});

test("objective: FusionFactory scenarios on per-task min–max normalised values, and λ on raw cost", () => {
  const scale = { perfMin: 0.2, perfMax: 1, costMin: 1, costMax: 3 };
  // perf 0.6 → 0.5 normalised; cost 2.5 → 0.75 normalised.
  assert.equal(objective(0.6, 2.5, { scenario: "performance-first" }, scale), 0.6);
  assert.ok(Math.abs(objective(0.6, 2.5, { scenario: "balance" }, scale) - (0.5 * 0.5 - 0.5 * 0.75)) < 1e-12);
  assert.ok(Math.abs(objective(0.6, 2.5, { scenario: "cost-first" }, scale) - (0.2 * 0.5 - 0.8 * 0.75)) < 1e-12);
  assert.equal(objective(0.6, 2.5, { lambda: 0.1 }, scale), 0.6 - 0.25);
  // An empty range (all values equal) contributes 0 instead of dividing by zero.
  const flat = { perfMin: 0.5, perfMax: 0.5, costMin: 1, costMax: 1 };
  assert.equal(objective(0.5, 1, { scenario: "balance" }, flat), 0);
});

test("rank: ties on the objective go to the lower predicted cost, then the earlier column", () => {
  const scale = { perfMin: 0, perfMax: 1, costMin: 0, costMax: 10 };
  const row = { performance: [0.9, 0.9, 0.5], cost: [5, 2, 1] };
  const r = rank(row, cands, { scenario: "performance-first" }, scale);
  assert.deepEqual(
    r.map((x) => x.key),
    ["b", "a", "c"],
  );
  assert.equal(r[0].predictedCost, 2);
  assert.match(r[0].reason, /predicted performance 0\.900/);
  const same = rank({ performance: [0.7, 0.7, 0.7], cost: [3, 3, 3] }, cands, { scenario: "performance-first" }, scale);
  assert.deepEqual(
    same.map((x) => x.key),
    ["a", "b", "c"],
  );
  // Float noise below 1e-12 is a tie too.
  const noisy = rank(
    { performance: [0.3 + 1e-15, 0.3, 0], cost: [2, 1, 0] },
    cands,
    { scenario: "performance-first" },
    scale,
  );
  assert.equal(noisy[0].key, "b");
});

test("rank and choose: a tie-break score orders candidates tied on the objective and on cost, never others", () => {
  const scale = { perfMin: 0, perfMax: 1, costMin: 0, costMax: 10 };
  const perfFirst = { scenario: "performance-first" } as const;
  const keys = (row: Parameters<typeof rank>[0], knob: Parameters<typeof rank>[2] = perfFirst) =>
    rank(row, cands, knob, scale).map((x) => x.key);
  const pick = (row: { performance: number[]; cost: number[]; tieBreak?: number[] }, knob = perfFirst as Knob) =>
    choose(
      {
        performance: Float64Array.from(row.performance),
        cost: Float64Array.from(row.cost),
        ...(row.tieBreak ? { tieBreak: Float64Array.from(row.tieBreak) } : {}),
      },
      3,
      knob,
      { global: scale, perTask: {} },
      [null],
    )[0];
  // a and b tie on performance and cost: the higher tie-break score (b) goes first; c is worse.
  const tied = { performance: [1, 1, 0], cost: [2, 2, 1], tieBreak: [0.3, 0.7, 0.9] };
  assert.deepEqual(keys(tied), ["b", "a", "c"]);
  assert.equal(pick(tied), 1);
  // Without it, the earlier column.
  assert.deepEqual(keys({ performance: [1, 1, 0], cost: [2, 2, 1] }), ["a", "b", "c"]);
  // Cost still comes first: a is cheaper, whatever the tie-break says.
  const cheaper = { performance: [1, 1, 0], cost: [1, 2, 1], tieBreak: [0.3, 0.7, 0.9] };
  assert.deepEqual(keys(cheaper), ["a", "b", "c"]);
  assert.equal(pick(cheaper), 0);
  // Under every knob the objective comes first, then cost, then the tie-break score. balance: a = b =
  // 0.5·1 − 0.5·0.2 = 0.4 > c = 0 − 0.5·0.1 = −0.05; cost-first: a = b = 0.2 − 0.8·0.2 = 0.04 > c = −0.08;
  // λ = 0.2: a = b = 1 − 0.4 = 0.6 > c = −0.2; λ = 1: a = b = c = −1, so c (cheapest) first, then b, a.
  assert.deepEqual(keys(tied, { scenario: "balance" }), ["b", "a", "c"]);
  assert.deepEqual(keys(tied, { scenario: "cost-first" }), ["b", "a", "c"]);
  assert.equal(pick(tied, { lambda: 0.2 }), 1);
  assert.deepEqual(keys(tied, { lambda: 1 }), ["c", "b", "a"]);
});

test("rank: cost-first and λ trade performance for cost as computed by hand", () => {
  const scale = { perfMin: 0, perfMax: 1, costMin: 0, costMax: 10 };
  const row = { performance: [0.9, 0.6, 0.2], cost: [10, 4, 0] };
  // cost-first: a = 0.2·0.9 − 0.8·1 = −0.62; b = 0.12 − 0.32 = −0.2; c = 0.04 − 0 = 0.04.
  const cf = rank(row, cands, { scenario: "cost-first" }, scale);
  assert.deepEqual(
    cf.map((x) => x.key),
    ["c", "b", "a"],
  );
  assert.ok(Math.abs(cf[0].score - 0.04) < 1e-12);
  // balance: a = 0.45 − 0.5 = −0.05; b = 0.3 − 0.2 = 0.1; c = 0.1 − 0 = 0.1 → tie b/c, c is cheaper.
  assert.deepEqual(
    rank(row, cands, { scenario: "balance" }, scale).map((x) => x.key),
    ["c", "b", "a"],
  );
  // λ = 0.05: a = 0.4, b = 0.4, c = 0.2 → tie a/b, b is cheaper.
  assert.deepEqual(
    rank(row, cands, { lambda: 0.05 }, scale).map((x) => x.key),
    ["b", "a", "c"],
  );
});

test("rank: llm-judge uses the judge prediction when present; NaN predictions sink", () => {
  const scale = { perfMin: 0, perfMax: 1, costMin: 0, costMax: 1 };
  const row = { performance: [0.9, 0.1, Number.NaN], cost: [1, 1, 0], judge: [0.2, 0.8, Number.NaN] };
  assert.equal(rank(row, cands, { scenario: "llm-judge" }, scale)[0].key, "b");
  const pf = rank(row, cands, { scenario: "performance-first" }, scale);
  assert.equal(pf[0].key, "a");
  assert.equal(pf[2].key, "c");
});

test("choose agrees with the top of rank for every query and knob", () => {
  const pred = {
    performance: new Float64Array([0.9, 0.9, 0.5, 0.2, 0.6, 0.6]),
    cost: new Float64Array([5, 2, 1, 3, 9, 1]),
  };
  const scales = learnScales(["x", "y"], pred.performance, pred.cost, 3);
  const tasks = ["x", "y"];
  for (const knob of [
    { scenario: "performance-first" as const },
    { scenario: "balance" as const },
    { scenario: "cost-first" as const },
    { lambda: 0.1 },
  ]) {
    const picks = choose(pred, 3, knob, scales, tasks);
    for (let i = 0; i < 2; i++) {
      const row = {
        performance: pred.performance.subarray(i * 3, i * 3 + 3),
        cost: pred.cost.subarray(i * 3, i * 3 + 3),
      };
      assert.equal(cands[picks[i]].key, rank(row, cands, knob, scaleFor(scales, tasks[i]))[0].key);
    }
  }
  assert.deepEqual([...choose(pred, 3, { scenario: "performance-first" }, scales, tasks)], [1, 2]);
});

test("parseKnob and lambdaGrid", () => {
  assert.deepEqual(parseKnob(undefined, undefined), { scenario: "performance-first" });
  assert.deepEqual(parseKnob("balance", undefined), { scenario: "balance" });
  assert.deepEqual(parseKnob(undefined, "250"), { lambda: 250 });
  assert.throws(() => parseKnob("cheap", undefined), /--scenario must be one of/);
  assert.throws(() => parseKnob(undefined, "-1"), /--lambda must be a number/);
  assert.throws(() => parseKnob("balance", "1"), /not both/);
  const g = lambdaGrid(1e-5, 5);
  assert.equal(g[0], 0);
  assert.equal(g.length, 5);
  assert.ok(Math.abs(g[1] - 100) < 1e-6 && Math.abs(g[4] - 1e8) < 1e-2);
});
