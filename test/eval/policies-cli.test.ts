import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, tempDb } from "../helpers.ts";
import { runCli } from "../support/cli.ts";

interface PolicyRow {
  name: string;
  scenario: string;
  performance: number;
  cost: number;
  costRatio: number;
  frontier: Array<{ cost: number; performance: number }>;
  perTask: Record<string, { performance: number; queries: number }>;
  usage: Record<string, number>;
  policy?: {
    point: string;
    meanCalls: number;
    meanStages: number;
    stageLatencyMs: number;
    perCallLatencyMs: number;
    stopReasons: Record<string, number>;
  };
}

test("fusionkit eval --policies cascade,vote: replayed on RouteProfile's recorded responses, in the routers' JSON with CV", async () => {
  const db = tempDb();
  assert.equal((await runCli(["import", join(REPO, "data/routeprofile"), "--db", db])).code, 0);
  assert.equal((await runCli(["split", "--db", db, "--seed", "42"])).code, 0);
  const args = ["eval", "--db", db, "--embedder", "hash", "--routers", "best-single", "--no-report"];
  const run = await runCli([
    ...args,
    "--policies",
    "cascade,vote",
    "--scenario",
    "balance,cost",
    "--call-latency-ms",
    "500",
    "--cv",
    "3",
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as {
    queries: number;
    oracle: { performance: number };
    routers: PolicyRow[];
    cv: {
      routers: Array<{ name: string; pooled: { performance: number; cost: number } }>;
      pooledBestSingle: { cost: number };
    };
  };
  const policies = r.routers.filter((x) => x.policy);
  assert.deepEqual(
    policies.map((x) => `${x.name}/${x.scenario}/${x.policy?.point}`),
    [
      "cascade/balance/within-cost",
      "cascade/cost-first/match-best",
      "vote/balance/within-cost",
      "vote/cost-first/match-best",
    ],
  );
  for (const x of policies) {
    const p = x.policy as NonNullable<PolicyRow["policy"]>;
    assert.ok(p.meanCalls >= 1 && p.meanCalls <= 8, `${x.name}: ${p.meanCalls} calls`);
    assert.ok(p.meanStages >= 1 && p.meanStages <= p.meanCalls);
    assert.equal(p.stageLatencyMs, p.meanStages * 500);
    const reasons = Object.values(p.stopReasons).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(reasons - 1) < 1e-9, "every query stops for one reason");
    assert.ok(Math.abs(Object.values(x.usage).reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const perTaskMean = Object.values(x.perTask).reduce((a, t) => a + t.performance * t.queries, 0) / r.queries;
    assert.ok(Math.abs(perTaskMean - x.performance) < 1e-9);
    assert.ok(x.performance <= r.oracle.performance + 1e-12);
    assert.equal(x.frontier.length, 24);
  }
  const cascade = r.cv.routers.find((x) => x.name === "cascade");
  assert.ok(cascade && cascade.pooled.performance > 0 && r.cv.pooledBestSingle.cost > 0);

  const bad = await runCli([...args, "--policies", "cascade,magic"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--policies: unknown policy "magic" \(known: cascade, vote\)/);

  // Data without responses cannot replay answers: a clear usage error, not a silent degenerate cascade.
  const mmlu = tempDb();
  assert.equal((await runCli(["import", join(REPO, "test/fixtures/routellm/mmlu"), "--db", mmlu])).code, 0);
  assert.equal((await runCli(["split", "--db", mmlu, "--seed", "1"])).code, 0);
  const none = await runCli(["eval", "--db", mmlu, "--embedder", "hash", "--policies", "cascade", "--no-report"]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /--policies: dataset "\S+" has no recorded responses/);
});
