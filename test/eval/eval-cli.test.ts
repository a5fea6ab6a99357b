import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { xmlProblem } from "../report/xml-check.ts";
import { runCli } from "../support/cli.ts";

// The bundled RouteProfile data (600 real queries × 8 models, no split of its own), seeded 80/20 split.
const db = tempDb();
const reportDir = join(tempDir(), "report");

interface RouterJson {
  name: string;
  scenario: string;
  performance: number;
  cost: number;
  reward: number;
  gapClosed: number | null;
  aiq: number;
  frontier: Array<{ lambda: number; cost: number; performance: number }>;
  perTask: Record<string, { performance: number; cost: number; queries: number }>;
  beatsBestSingleOn: string[];
  losesOn: string[];
  usage: Record<string, number>;
}
interface EvalJson {
  dataset: string;
  split: string;
  queries: number;
  candidates: string[];
  tasks: string[];
  routers: RouterJson[];
  bestSingle: { model: string; performance: number; cost: number; perTask: Record<string, { performance: number }> };
  oracle: { performance: number; cost: number };
  singles: Array<{ model: string; performance: number; cost: number }>;
  costRange: { min: number; max: number };
}

let result: EvalJson;

before(async () => {
  const imp = await runCli(["import", join(REPO, "data/routeprofile"), "--db", db]);
  assert.equal(imp.code, 0, imp.stderr);
  const split = await runCli(["split", "--db", db, "--seed", "7"]);
  assert.equal(split.code, 0, split.stderr);
  const run = await runCli([
    "eval",
    "--db",
    db,
    "--embedder",
    "hash",
    "--routers",
    "best-single,best-per-task,knn,cheapest",
    "--scenario",
    "performance,balance,cost",
    "--report-dir",
    reportDir,
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  result = JSON.parse(run.stdout) as EvalJson;
});

test("eval --json: baselines agree with `fusionkit stats` on the same split", async () => {
  const stats = await runCli(["stats", "--db", db, "--split", "test", "--json"]);
  assert.equal(stats.code, 0, stats.stderr);
  const s = JSON.parse(stats.stdout) as {
    queries: number;
    bestSingle: EvalJson["bestSingle"];
    oracle: EvalJson["oracle"];
  };
  assert.equal(result.split, "test");
  assert.equal(result.dataset, "routeprofile");
  assert.equal(result.queries, s.queries);
  assert.equal(result.bestSingle.model, s.bestSingle.model);
  assert.ok(Math.abs(result.bestSingle.performance - s.bestSingle.performance) < 1e-12);
  assert.ok(Math.abs(result.bestSingle.cost - s.bestSingle.cost) < 1e-15);
  assert.ok(Math.abs(result.oracle.performance - s.oracle.performance) < 1e-12);
  assert.ok(Math.abs(result.oracle.cost - s.oracle.cost) < 1e-15);
  assert.equal(result.candidates.length, 8);
  assert.equal(result.tasks.length, 12);
});

test("eval --json: every router × scenario row is consistent with the baselines", () => {
  assert.equal(result.routers.length, 4 * 3);
  const best = result.bestSingle.performance;
  const oracle = result.oracle.performance;
  for (const r of result.routers) {
    const what = `${r.name}/${r.scenario}`;
    assert.ok(
      r.performance >= 0 && r.performance <= oracle + 1e-12,
      `${what}: 0 ≤ ${r.performance} ≤ oracle ${oracle}`,
    );
    assert.ok(r.cost > 0, `${what}: cost ${r.cost}`);
    assert.ok(
      Math.abs((r.gapClosed as number) - (r.performance - best) / (oracle - best)) < 1e-9,
      `${what}: gap closed`,
    );
    // The per-task means, weighted by each task's queries, give back the overall mean.
    let sum = 0;
    let n = 0;
    for (const t of Object.values(r.perTask)) {
      sum += t.performance * t.queries;
      n += t.queries;
    }
    assert.equal(n, result.queries);
    assert.ok(Math.abs(sum / n - r.performance) < 1e-9, `${what}: per-task means`);
    // beats/loses are judged per task against the best single model's own per-task means.
    for (const t of r.beatsBestSingleOn)
      assert.ok((r.perTask[t]?.performance ?? 0) > (result.bestSingle.perTask[t]?.performance ?? 1), `${what} ${t}`);
    for (const t of r.losesOn)
      assert.ok((r.perTask[t]?.performance ?? 1) < (result.bestSingle.perTask[t]?.performance ?? 0), `${what} ${t}`);
    const used = Object.values(r.usage).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(used - 1) < 1e-9, `${what}: usage sums to 1`);
    assert.ok(r.frontier.length >= 2 && r.frontier[0]?.lambda === 0, `${what}: frontier starts at λ = 0`);
    assert.ok(r.aiq > 0 && r.aiq <= oracle, `${what}: AIQ ${r.aiq}`);
  }
  // The cheapest router (cheapest model of each task on train) is the cheapest router here, within a few
  // percent of the cheapest single model (train and test costs differ a little).
  const perfFirst = result.routers.filter((r) => r.scenario === "performance-first");
  const cheapest = perfFirst.find((r) => r.name === "cheapest");
  assert.ok(cheapest);
  for (const r of perfFirst) assert.ok(cheapest.cost <= r.cost, `cheapest ${cheapest.cost} ≤ ${r.name} ${r.cost}`);
  const minCost = Math.min(...result.singles.map((s) => s.cost));
  assert.ok(cheapest.cost <= 1.05 * minCost, `cheapest ${cheapest.cost} vs cheapest single ${minCost}`);
  // best-single sends every query to one model, and scores exactly that model's test mean.
  const single = result.routers.find((r) => r.name === "best-single" && r.scenario === "performance-first");
  assert.ok(single);
  const [model] = Object.keys(single.usage);
  assert.equal(single.performance, result.singles.find((s) => s.model === model)?.performance);
  // Paying less: cost-first never costs more than performance-first for the same router.
  for (const name of ["best-per-task", "knn"]) {
    const perf = result.routers.find((r) => r.name === name && r.scenario === "performance-first");
    const cost = result.routers.find((r) => r.name === name && r.scenario === "cost-first");
    assert.ok(
      perf && cost && cost.cost <= perf.cost,
      `${name}: cost-first ${cost?.cost} ≤ performance-first ${perf?.cost}`,
    );
  }
});

test("eval writes the report folder: Markdown and well-formed SVG plots", () => {
  const md = readFileSync(join(reportDir, "report.md"), "utf8");
  assert.match(md, /^# FusionKit evaluation: routeprofile/);
  assert.match(md, new RegExp(`best single \\(${result.bestSingle.model}\\)`));
  for (const f of ["frontier.svg", "per-task.svg"]) {
    const svg = readFileSync(join(reportDir, f), "utf8");
    assert.equal(xmlProblem(svg), null, `${f}: ${xmlProblem(svg)}`);
    for (const s of result.singles) assert.ok(f !== "frontier.svg" || svg.includes(s.model), `${f} lacks ${s.model}`);
  }
  assert.ok(!existsSync(join(reportDir, "strong-calls.svg")), "no two-model plot for 8 candidates");
});

test("eval: bad flags and missing splits are clear errors (exit 2)", async () => {
  const badScenario = await runCli(["eval", "--db", db, "--scenario", "speed", "--no-report"]);
  assert.equal(badScenario.code, 2);
  assert.match(
    badScenario.stderr,
    /--scenario: unknown scenario "speed" \(known: performance-first, balance, cost-first, llm-judge/,
  );
  const badRouter = await runCli(["eval", "--db", db, "--routers", "knn,oracle-peek", "--no-report"]);
  assert.equal(badRouter.code, 2);
  assert.match(badRouter.stderr, /--routers: unknown router "oracle-peek" \(known: random, cheapest/);
  const badParams: Array<[string[], RegExp]> = [
    [
      ["--param", "memory=false"],
      /--param must look like router\.name=value \(e\.g\. auto\.memory=false\), got "memory"/,
    ],
    [["--param", "auto.memory=false"], /--param auto\.memory: router "auto" is not one of --routers \(knn\)/],
    [["--param", "knn.memory=false"], /--param: router "knn": unknown parameter "memory"/],
    [["--param", "knn.k=ten"], /--param: router "knn": parameter "k": expected a number, got "ten"/],
  ];
  for (const [flags, message] of badParams) {
    const bad = await runCli(["eval", "--db", db, "--routers", "knn", ...flags, "--no-report"]);
    assert.equal(bad.code, 2, flags.join(" "));
    assert.match(bad.stderr, message);
  }
  const fresh = tempDb();
  const imp = await runCli(["import", join(REPO, "data/routeprofile"), "--db", fresh]);
  assert.equal(imp.code, 0, imp.stderr);
  const noSplit = await runCli(["eval", "--db", fresh, "--embedder", "hash", "--no-report"]);
  assert.equal(noSplit.code, 2);
  assert.match(
    noSplit.stderr,
    /dataset "routeprofile" has no train queries in .*; assign a split with "fusionkit split --dataset routeprofile"/,
  );
});

test("eval --param router.name=value: the named router is trained with it", async () => {
  const args = ["eval", "--db", db, "--embedder", "hash", "--routers", "knn", "--scenario", "performance"];
  const run = await runCli([...args, "--param", "knn.k=1", "--param", "knn.shrink=0", "--no-report", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const one = (JSON.parse(run.stdout) as EvalJson).routers[0];
  const byDefault = result.routers.find((r) => r.name === "knn" && r.scenario === "performance-first");
  assert.ok(one && byDefault);
  // The single nearest neighbour's choices are not the default kNN's (k tuned in fit, with shrinkage).
  assert.notDeepEqual(one.usage, byDefault.usage);
});

test("eval --artifacts: a router trained by `fusionkit train` in another process scores the same, without training", async () => {
  const artifact = join(tempDir(), "knn.json");
  const train = await runCli(["train", "--db", db, "--router", "knn", "--embedder", "hash", "--out", artifact]);
  assert.equal(train.code, 0, train.stderr);
  // No --embedder: the artifact's own embedder (hash-1024) is used.
  const run = await runCli([
    "eval",
    "--db",
    db,
    "--artifacts",
    artifact,
    "--scenario",
    "performance",
    "--no-report",
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as EvalJson & {
    routers: Array<RouterJson & { source: string; fitSeconds: number }>;
  };
  assert.equal(r.routers.length, 1);
  const loaded = r.routers[0];
  assert.ok(loaded);
  assert.equal(loaded.name, "knn");
  assert.equal(loaded.source, artifact);
  assert.equal(loaded.fitSeconds, 0);
  assert.doesNotMatch(run.stderr, /training knn/);
  const trained = result.routers.find((x) => x.name === "knn" && x.scenario === "performance-first");
  assert.ok(trained);
  assert.equal(loaded.performance, trained.performance);
  assert.equal(loaded.cost, trained.cost);
  assert.deepEqual(loaded.usage, trained.usage);

  const mismatch = await runCli(["eval", "--db", db, "--artifacts", artifact, "--embedder", "hash:256", "--no-report"]);
  assert.equal(mismatch.code, 2);
  assert.match(
    mismatch.stderr,
    /knn\.json was trained with embedder "hash-1024" but the evaluation embeds with "hash-256"; pass --embedder hash-1024/,
  );
});
