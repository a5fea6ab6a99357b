import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateRouters } from "../../src/eval/evaluate.ts";
import type { CandidateInfo, TrainingSet } from "../../src/routing/router.ts";
import { ConstantRouter, candidates, set, TaskMeanRouter, testSet, train } from "./tiny.ts";

test("evaluate: hand-computed metrics for a per-task router and a constant router", () => {
  const r = evaluateRouters(
    train,
    testSet,
    [
      { name: "task-mean", create: () => new TaskMeanRouter() },
      { name: "always-dear", create: () => new ConstantRouter([0.2, 0.9], [1, 3]) },
    ],
    { scenarios: ["performance-first", "balance"], lambdas: [0, 1e6] },
  );
  // singles: cheap (1+1+0+0.5)/4 = 0.625 at cost 1; dear (0+1+1+1)/4 = 0.75 at cost 3
  assert.deepEqual(
    r.singles.map((s) => [s.model, s.performance, s.cost]),
    [
      ["cheap", 0.625, 1],
      ["dear", 0.75, 3],
    ],
  );
  assert.equal(r.bestSingle.model, "dear");
  assert.deepEqual(r.bestSingle.perTask, { A: { performance: 0.5, cost: 3 }, B: { performance: 1, cost: 3 } });
  // oracle: cheap, cheap (tie → cheaper), dear, dear → 1.0 at (1+1+3+3)/4 = 2
  assert.deepEqual([r.oracle.performance, r.oracle.cost], [1, 2]);
  assert.deepEqual(r.costRange, { min: 1, max: 3 });

  const tmPerf = r.routers.find((x) => x.name === "task-mean" && x.scenario === "performance-first");
  assert.ok(tmPerf);
  // A → cheap (1 > 0.5), B → dear: scores 1, 1, 1, 1 at cost 2 — the oracle
  assert.equal(tmPerf.performance, 1);
  assert.equal(tmPerf.cost, 2);
  assert.equal(tmPerf.reward, 1);
  assert.equal(tmPerf.gapClosed, 1);
  assert.deepEqual(tmPerf.beatsBestSingleOn, ["A"]);
  assert.deepEqual(tmPerf.losesOn, []);
  assert.deepEqual(tmPerf.tiesOn, ["B"]);
  assert.deepEqual(tmPerf.usage, { cheap: 0.5, dear: 0.5 });
  // λ sweep: λ=0 → (2, 1.0); λ huge → all cheap (1, 0.625). Hull (1,.625)–(2,1) then flat to 3:
  // area 0.8125 + 1 over the range [1,3] → 0.90625
  assert.deepEqual(
    tmPerf.frontier.map((p) => [p.lambda, p.cost, p.performance]),
    [
      [0, 2, 1],
      [1e6, 1, 0.625],
    ],
  );
  assert.equal(tmPerf.aiq, 0.90625);
  // Two models: strong = dear (train mean 0.75 vs 0.5). Score dear−cheap: A −0.5, B +1. Curve
  // (0, .625) → (.5, 1) → (1, .75); APGR = (0.84375 − 0.625)/0.125 = 1.75; CPT50 = 0.0625/0.75, CPT80 = 0.1/0.75
  assert.equal(tmPerf.apgr, 1.75);
  assert.ok(Math.abs((tmPerf.cpt50 as number) - 0.0625 / 0.75) < 1e-12);
  assert.ok(Math.abs((tmPerf.cpt80 as number) - 0.1 / 0.75) < 1e-12);

  // Balance with train scales: A cheap 0.5 vs dear −0.5; B cheap 0 vs dear 0 → tie → cheaper. All cheap.
  const tmBal = r.routers.find((x) => x.name === "task-mean" && x.scenario === "balance");
  assert.ok(tmBal);
  assert.equal(tmBal.performance, 0.625);
  assert.equal(tmBal.cost, 1);
  // reward with test ranges (perf [0,1], cost [1,3] in both tasks): .5, .5, 0, .25 → 0.3125
  assert.equal(tmBal.reward, 0.3125);

  const dear = r.routers.find((x) => x.name === "always-dear" && x.scenario === "performance-first");
  assert.ok(dear);
  assert.equal(dear.performance, 0.75);
  assert.equal(dear.gapClosed, 0);
  assert.deepEqual([dear.beatsBestSingleOn, dear.losesOn], [[], []]);
  // hull (1,.625)–(3,.75): area 2·0.6875 over 2
  assert.equal(dear.aiq, 0.6875);
  assert.equal(r.pair?.strong, "dear");
});

test("evaluate: an artifact-loaded router is scored without training, and a candidate with no outcome is never chosen", () => {
  const fitted = new TaskMeanRouter();
  fitted.fit(train);
  // The test data has no outcome for "dear" on the B queries: the router must fall back to cheap there.
  const holes = set(["A", "A", "B", "B"], [1, 0, 1, 1, 0, Number.NaN, 0.5, Number.NaN]);
  const scales = {
    global: { perfMin: 0, perfMax: 1, costMin: 1, costMax: 3 },
    perTask: {},
  };
  const r = evaluateRouters(train, holes, [{ name: "loaded", fitted, scales, source: "x.json" }], {
    scenarios: ["performance-first"],
    lambdas: [0],
  });
  const res = r.routers[0];
  assert.ok(res);
  assert.equal(res.source, "x.json");
  assert.equal(res.fitSeconds, 0);
  assert.equal(res.performance, (1 + 1 + 0 + 0.5) / 4);
  assert.deepEqual(res.usage, { cheap: 1 });
});

test("evaluate: train and test sets with different candidates are refused", () => {
  const other: TrainingSet = {
    ...testSet,
    candidates: [candidates[1] as CandidateInfo, candidates[0] as CandidateInfo],
  };
  assert.throws(
    () => evaluateRouters(train, other, [], { scenarios: ["balance"] }),
    /different candidates \(train: cheap, dear; test: dear, cheap\)/,
  );
});
