import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  bestWithinBudget,
  cheapestAssignment,
  cheapestMatch,
  costMatchSummary,
  fitTaskPlan,
  oracleFrontier,
  refineLambdas,
} from "../../src/eval/cost-match.ts";
import type { EvalResult } from "../../src/eval/evaluate.ts";
import type { OutcomeMatrix } from "../../src/eval/metrics.ts";
import { Rng } from "../../src/util/prng.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { runCli } from "../support/cli.ts";

const close = (a: number | undefined, b: number, msg?: string) =>
  assert.ok(a !== undefined && Math.abs(a - b) < 1e-12, msg ?? `${a} ≠ ${b}`);

test("cheapestMatch: the cheapest λ point at or above the target, ties to the better one; null when none", () => {
  const points = [
    { lambda: 0, performance: 0.6, cost: 10 },
    { lambda: 1, performance: 0.6, cost: 8 },
    { lambda: 2, performance: 0.55, cost: 5 },
    { lambda: 3, performance: 0.61, cost: 8 },
  ];
  const m = cheapestMatch(points, { performance: 0.6, cost: 10 });
  assert.deepEqual(m, { lambda: 3, performance: 0.61, cost: 8, costRatio: 0.8 });
  // A mean equal up to rounding (0.1 + 0.2 vs 0.3) still matches.
  assert.equal(
    cheapestMatch([{ lambda: 5, performance: 0.1 + 0.2, cost: 4 }], { performance: 0.3, cost: 8 })?.costRatio,
    0.5,
  );
  assert.equal(cheapestMatch(points, { performance: 0.7, cost: 10 }), null);
});

test("bestWithinBudget: the best point that costs at most the budget", () => {
  const points = [
    { lambda: 0, performance: 0.7, cost: 10 },
    { lambda: 1, performance: 0.55, cost: 6 },
    { lambda: 2, performance: 0.55, cost: 5 },
  ];
  assert.deepEqual(bestWithinBudget(points, 6), { lambda: 2, performance: 0.55, cost: 5 });
  assert.equal(bestWithinBudget(points, 4), null);
});

test("refineLambdas keeps the grid and adds geometric sub-steps", () => {
  const r = refineLambdas([0, 1, 4], 2);
  assert.equal(r.length, 4);
  assert.deepEqual([r[0], r[1], r[3]], [0, 1, 4]);
  close(r[2], 2);
});

// 3 queries × 3 candidates as (cost, performance):
// row 0: A (1, 0), B (2, 1), C (4, 1)    → hull A → B (C is dearer and no better): step +1 perf for +1 cost
// row 1: A (1, 0), B (2, 0.5), C (3, 1)  → B lies on the chord A → C: hull A → C, step +1 for +2
// row 2: A (1, 1), B (2, 0), C (4, 1)    → A is best and cheapest: hull A only
// Start at every row's cheapest: performance 1, cost 3 (sums).
const m3: OutcomeMatrix = {
  candidates: ["A", "B", "C"],
  performance: Float64Array.from([0, 1, 1, 0, 0.5, 1, 1, 0, 1]),
  cost: Float64Array.from([1, 2, 4, 1, 2, 3, 1, 2, 4]),
};

test("cheapestAssignment: LP bound from the greedy over convex hulls, and a feasible rounding", () => {
  // Target mean 0.5 → sum 1.5: half of row 0's step (cost +0.5) in the LP; the whole step when rounded.
  const half = cheapestAssignment(m3, 0.5);
  assert.ok(half);
  close(half.lp.cost, 3.5 / 3);
  close(half.lp.performance, 0.5);
  close(half.integer.cost, 4 / 3);
  close(half.integer.performance, 2 / 3);
  assert.deepEqual([...half.choices], [1, 0, 0]);
  // Target 0.9 → sum 2.7: row 0's step (sum 2, cost 4), then 0.7 of row 1's (cost + 2·0.7).
  const high = cheapestAssignment(m3, 0.9);
  assert.ok(high);
  close(high.lp.cost, 5.4 / 3);
  close(high.integer.cost, 2);
  close(high.integer.performance, 1);
  assert.deepEqual([...high.choices], [1, 2, 0]);
  // Already met by the cheapest candidates: LP = integer = the cheapest assignment.
  const low = cheapestAssignment(m3, 0.2);
  assert.ok(low);
  close(low.lp.cost, 1);
  close(low.integer.cost, 1);
  // The oracle frontier: cheapest everywhere, then row 0's step, then row 1's.
  assert.deepEqual(
    oracleFrontier(m3).map((x) => [x.performance, x.cost]),
    [
      [1 / 3, 1],
      [2 / 3, 4 / 3],
      [1, 2],
    ],
  );
  // Above every row's best: unreachable.
  assert.equal(cheapestAssignment(m3, 1.01), null);
});

test("cheapestAssignment: weighted rows and missing outcomes", () => {
  // One row weighted 3 (A: cost 1 perf 0; B: cost 2 perf 1), one row weighted 1 with B missing (A: 1, 1).
  const m: OutcomeMatrix = {
    candidates: ["A", "B"],
    performance: Float64Array.from([0, 1, 1, Number.NaN]),
    cost: Float64Array.from([1, 2, 1, Number.NaN]),
  };
  // Start: perf 1 of 4, cost 4 of 4. Target 0.5 → sum 2: one third of row 0's step (+3 perf, +3 cost).
  const a = cheapestAssignment(m, 0.5, [3, 1]);
  assert.ok(a);
  close(a.lp.cost, 5 / 4);
  close(a.integer.cost, 7 / 4);
  close(a.integer.performance, 1);
});

test("costMatchSummary: oracle, task-level oracle, floor and per-task picture, worked by hand", () => {
  // Tasks A, A, B, B; candidates cheap (cost 1) and dear (cost 3); performance (cheap, dear) per row:
  // (1, 0), (1, 1), (0, 1), (0.5, 1). Best single: dear, 0.75 at 3 (cheap: 0.625 at 1).
  const m: OutcomeMatrix = {
    candidates: ["cheap", "dear"],
    performance: Float64Array.from([1, 0, 1, 1, 0, 1, 0.5, 1]),
    cost: Float64Array.from([1, 3, 1, 3, 1, 3, 1, 3]),
  };
  const s = costMatchSummary(m, ["A", "A", "B", "B"], { model: "dear", performance: 0.75, cost: 3 }, ["cheap", "dear"]);
  // Oracle: all cheap gives sum 2.5 at cost 4; row 2 to dear buys +1 for +2 (the steepest step), half needed.
  close(s.oracle?.lp.cost, 5 / 4);
  close(s.oracle?.lp.costRatio, 5 / 12);
  close(s.oracle?.integer.cost, 6 / 4);
  close(s.oracle?.integer.performance, 3.5 / 4);
  // Task level: A (cheap 1 at 1, dear 0.5 at 3) stays cheap; B (cheap 0.25, dear 1) × 2 queries is a step of
  // +1.5 perf for +4 cost, of which 0.5 is needed: cost (4 + 4/3)/4.
  close(s.taskOracle?.cost, 16 / 3 / 4);
  close(s.taskOracle?.costRatio, 16 / 3 / 12);
  // Floor: each query's cheapest candidate (cheap everywhere here).
  close(s.floor.cost, 1);
  close(s.floor.performance, 0.625);
  close(s.floor.costRatio, 1 / 3);
  assert.deepEqual(s.perTask.A, {
    queries: 2,
    bestSingle: { performance: 0.5, cost: 3 },
    bestSingleCostShare: 0.5,
    cheapest: { model: "cheap", performance: 1, cost: 1 },
    oracle: { performance: 1, cost: 1 },
  });
  assert.deepEqual(s.perTask.B?.oracle, { performance: 0.75, cost: 2 });
  assert.equal(s.taskPlan, undefined); // no train split given

  // With a train split (A: cheap 1, dear 0.5; B: cheap 0, dear 1; two queries each): dear's train
  // performance is 0.75; the plan keeps A on cheap (better and cheaper) and needs B on dear to reach it.
  // On the test rows it scores (1 + 1 + 1 + 1)/4 at (1 + 1 + 3 + 3)/4 = 2, i.e. 2/3 of dear's cost.
  const train: OutcomeMatrix = {
    candidates: ["cheap", "dear"],
    performance: Float64Array.from([1, 0.5, 1, 0.5, 0, 1, 0, 1]),
    cost: Float64Array.from([1, 3, 1, 3, 1, 3, 1, 3]),
  };
  const tasks = ["A", "A", "B", "B"];
  assert.deepEqual(
    fitTaskPlan(train, tasks, 0.75),
    new Map([
      ["A", 0],
      ["B", 1],
    ]),
  );
  assert.equal(fitTaskPlan(train, tasks, 1.01), null);
  const withTrain = costMatchSummary(m, tasks, { model: "dear", performance: 0.75, cost: 3 }, ["cheap", "dear"], {
    m: train,
    tasks,
  });
  assert.deepEqual(withTrain.taskPlan, {
    performance: 1,
    cost: 2,
    costRatio: 2 / 3,
    plan: { A: "cheap", B: "dear" },
  });
});

test("cheapestAssignment brackets the exact optimum found by brute force (random small cases)", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const n = 4;
    const c = 3;
    const performance = Float64Array.from({ length: n * c }, () => Math.round(rng.next() * 4) / 4);
    const cost = Float64Array.from({ length: n * c }, () => 1 + rng.int(5));
    const m: OutcomeMatrix = { candidates: ["a", "b", "c"], performance, cost };
    const target = Math.round(rng.next() * 8) / 8;
    // Exact integer optimum over all c^n assignments.
    let exact = Infinity;
    for (let code = 0; code < c ** n; code++) {
      let p = 0;
      let k = 0;
      for (let i = 0, x = code; i < n; i++, x = Math.floor(x / c)) {
        p += performance[i * c + (x % c)] as number;
        k += cost[i * c + (x % c)] as number;
      }
      if (p / n >= target - 1e-12) exact = Math.min(exact, k / n);
    }
    const a = cheapestAssignment(m, target);
    if (exact === Infinity) {
      assert.equal(a, null, `trial ${trial}`);
      continue;
    }
    assert.ok(a, `trial ${trial}`);
    assert.ok(a.lp.cost <= exact + 1e-12, `trial ${trial}: LP ${a.lp.cost} above the optimum ${exact}`);
    assert.ok(a.integer.cost >= exact - 1e-12, `trial ${trial}: rounding ${a.integer.cost} below the optimum`);
    assert.ok(a.integer.performance >= target - 1e-12, `trial ${trial}: rounding misses the target`);
  }
});

test("costMatchSummary: the cost floor is each query's cheapest candidate, not each task's", () => {
  // One task, two queries; A costs 1 then 4, B costs 2 both times. Cheapest on average: B (2 < 2.5);
  // the floor takes A on query 0 and B on query 1: (1 + 2)/2.
  const m: OutcomeMatrix = {
    candidates: ["A", "B"],
    performance: Float64Array.from([0, 1, 1, 0]),
    cost: Float64Array.from([1, 2, 4, 2]),
  };
  const s = costMatchSummary(m, ["t", "t"], { model: "B", performance: 0.5, cost: 2 }, ["A", "B"]);
  close(s.floor.cost, 1.5);
  close(s.floor.performance, 0);
  assert.deepEqual(s.perTask.t?.cheapest, { model: "B", performance: 0.5, cost: 2 });
});

test("fusionkit eval --json on RouteProfile: cost-match fields agree with the frontier and the bounds, report section and plot written", async () => {
  const db = tempDb();
  const reportDir = join(tempDir(), "report");
  const imp = await runCli(["import", join(REPO, "data/routeprofile"), "--db", db]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.equal((await runCli(["split", "--db", db, "--seed", "7"])).code, 0);
  const run = await runCli([
    "eval",
    ...["--db", db, "--embedder", "hash", "--routers", "best-single,best-per-task,linear"],
    ...["--scenario", "performance,balance,cost", "--report-dir", reportDir, "--json"],
  ]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as EvalResult;
  const bs = r.bestSingle;
  for (const x of r.routers) {
    const what = `${x.name}/${x.scenario}`;
    close(x.costRatio, x.cost / bs.cost, `${what}: cost ratio`);
    const m = x.matchBestSingle;
    // The refined sweep contains the plotted frontier's λs: no plotted point that matches is cheaper.
    for (const p of x.frontier)
      if (p.performance >= bs.performance - 1e-12)
        assert.ok(m && m.cost <= p.cost + 1e-15, `${what}: frontier point at λ ${p.lambda} is a cheaper match`);
    if (m) {
      assert.ok(m.performance >= bs.performance - 1e-12, `${what}: match below the target`);
      close(m.costRatio, m.cost / bs.cost, `${what}: match ratio`);
    }
    // No router, at any λ, pays less than the oracle's bound for the best single model's performance.
    if (m && r.costMatch.oracle) assert.ok(m.cost >= r.costMatch.oracle.lp.cost - 1e-15, `${what}: beats the oracle`);
  }
  const cm = r.costMatch;
  assert.equal(cm.target.model, bs.model);
  assert.ok(cm.oracle && cm.taskOracle && cm.taskPlan, "bounds present");
  // floor ≤ oracle LP ≤ oracle integer; the task-only oracle cannot beat the per-query one.
  assert.ok(cm.floor.cost <= cm.oracle.lp.cost + 1e-15);
  assert.ok(cm.oracle.lp.cost <= cm.oracle.integer.cost + 1e-15);
  assert.ok(cm.oracle.lp.cost <= cm.taskOracle.cost + 1e-15);
  assert.ok(cm.oracle.integer.performance >= bs.performance - 1e-12);
  assert.equal(Object.keys(cm.perTask).length, r.tasks.length);
  close(
    Object.values(cm.perTask).reduce((s, t) => s + t.bestSingleCostShare, 0),
    1,
  );
  const md = readFileSync(join(reportDir, "report.md"), "utf8");
  assert.match(md, /## Cost to match the best single model/);
  assert.match(md, /per-query oracle, LP/);
  assert.match(readFileSync(join(reportDir, "cost-match.svg"), "utf8"), /cost to match the best single model/);
});
