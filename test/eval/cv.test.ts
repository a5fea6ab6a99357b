import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { crossValidateRouters, cvFolds, spread } from "../../src/eval/cv.ts";
import { evaluateRouters } from "../../src/eval/evaluate.ts";
import { stratifiedFolds } from "../../src/routing/math.ts";
import { subset } from "../../src/routing/tuning.ts";
import { Rng } from "../../src/util/prng.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { runCli } from "../support/cli.ts";
import { ConstantRouter, set, TaskMeanRouter } from "./tiny.ts";

test("spread: mean and sample standard deviation over folds, NaN folds skipped", () => {
  // [1, 2, 3]: mean 2, sample variance ((1)² + 0 + (1)²)/2 = 1
  assert.deepEqual(spread([1, 2, 3]), { mean: 2, sd: 1, folds: [1, 2, 3] });
  const s = spread([0.5, Number.NaN, 0.7]);
  assert.ok(Math.abs(s.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(s.sd - Math.sqrt(0.02)) < 1e-12);
  assert.ok(Number.isNaN(spread([0.4]).sd));
});

test("stratifiedFolds: every row in exactly one fold, each task dealt evenly, seeded", () => {
  const tasks = [...Array(7).fill("a"), ...Array(5).fill("b"), null, null, null];
  const f = stratifiedFolds(tasks, 3, new Rng(9));
  assert.equal(f.length, tasks.length);
  assert.ok([...f].every((k) => k >= 0 && k < 3));
  for (const t of ["a", "b", null]) {
    const counts = [0, 0, 0];
    tasks.forEach((x, i) => {
      if (x === t) counts[f[i] as number]++;
    });
    // round-robin dealing: counts within a task differ by at most one
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${t}: ${counts}`);
  }
  // fold sizes overall differ by at most one (15 rows → 5, 5, 5)
  assert.deepEqual([0, 1, 2].map((k) => [...f].filter((x) => x === k).length).sort(), [5, 5, 5]);
  assert.deepEqual([...stratifiedFolds(tasks, 3, new Rng(9))], [...f]);
  assert.throws(() => stratifiedFolds(tasks, 1, new Rng(1)), /folds must be an integer ≥ 2/);
});

// Two tasks × 6 queries; in A the cheap model is right on 5 of 6, in B the dear one on 5 of 6.
const data = set([..."AAAAAA", ..."BBBBBB"], [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0]);

test("crossValidateRouters: each fold is the held-out evaluation of a router fitted on the other folds", () => {
  const entries = [
    { name: "task-mean", create: () => new TaskMeanRouter() },
    { name: "always-dear", create: () => new ConstantRouter([0, 1], [1, 3]) },
  ];
  const o = { folds: 3, seed: 5, scenarios: ["performance-first" as const] };
  const cv = crossValidateRouters(data, entries, o);
  const folds = cvFolds(data, o);
  const held = folds.flatMap((f) => f.heldRows).sort((a, b) => a - b);
  assert.deepEqual(held, [...Array(12).keys()], "every train row is held out exactly once");
  for (const f of folds) assert.equal(f.trainRows.length + f.heldRows.length, 12);
  folds.forEach((f, k) => {
    const direct = evaluateRouters(subset(data, f.trainRows), subset(data, f.heldRows), entries, {
      scenarios: o.scenarios,
    });
    for (const [r, name] of ["task-mean", "always-dear"].entries()) {
      const row = cv.routers.find((x) => x.name === name);
      assert.ok(row);
      assert.equal(row.performance.folds[k], direct.routers[r]?.performance);
      // each fold's fit was timed (a wall-clock figure: only its presence and sign can be checked)
      const fit = row.fitSeconds.folds[k] as number;
      assert.ok(Number.isFinite(fit) && fit >= 0, `fitSeconds of ${name} in fold ${k}: ${fit}`);
    }
    assert.equal(cv.oracle.folds[k], direct.oracle.performance);
  });
  // always-dear scores the dear column: 1 on 6 of 12 rows, folds of 4 rows (2 per task) → B has 5/6 right
  const dear = cv.routers.find((x) => x.name === "always-dear");
  assert.ok(dear);
  const dearTotal = dear.performance.folds.reduce((a, b) => a + b * 4, 0);
  assert.equal(dearTotal, 6);
  // task-mean learns cheap for A and dear for B in every fold (the 5-of-6 majority survives any 2 removed rows)
  const tm = cv.routers.find((x) => x.name === "task-mean");
  assert.ok(tm);
  assert.ok(Math.abs(tm.performance.mean - 10 / 12) < 1e-12);
});

test("fusionkit eval --cv: mean ± sd over folds beside the test score in JSON, table and report", async () => {
  const db = tempDb();
  const reportDir = join(tempDir(), "report");
  assert.equal((await runCli(["import", join(REPO, "data/routeprofile"), "--db", db])).code, 0);
  assert.equal((await runCli(["split", "--db", db, "--seed", "7"])).code, 0);
  const args = [
    "eval",
    "--db",
    db,
    "--embedder",
    "hash",
    "--routers",
    "best-per-task,knn",
    "--scenario",
    "performance",
  ];
  const run = await runCli([...args, "--cv", "3", "--report-dir", reportDir, "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as {
    trainQueries: number;
    routers: Array<{ name: string; performance: number }>;
    cv: {
      folds: number;
      queries: number;
      routers: Array<{ name: string; performance: { mean: number; sd: number; folds: number[] } }>;
      bestSingle: { folds: number[] };
    };
  };
  assert.equal(r.cv.folds, 3);
  assert.equal(r.cv.queries, r.trainQueries);
  assert.deepEqual(
    r.cv.routers.map((x) => x.name),
    ["best-per-task", "knn"],
  );
  for (const x of r.cv.routers) {
    assert.equal(x.performance.folds.length, 3);
    const mean = x.performance.folds.reduce((a, b) => a + b, 0) / 3;
    assert.ok(Math.abs(mean - x.performance.mean) < 1e-12);
    assert.ok(x.performance.sd >= 0);
  }
  const md = readFileSync(join(reportDir, "report.md"), "utf8");
  assert.match(md, /\| CV perf \|/);
  assert.match(md, /3-fold cross-validation on the train split/);
  const table = await runCli([...args, "--cv", "--no-report"]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /CV perf/);
  assert.match(table.stdout, /knn +performance-first +\d\.\d{3} +\d\.\d{3} ± \d\.\d{3}/);
  assert.match(table.stderr, /cross-validation fold 5\/5/, "--cv alone means 5 folds");
  const bad = await runCli([...args, "--cv", "1"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--cv: expected a number of folds ≥ 2, got "1"/);
});
