import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createEmbedder } from "../../src/embed/registry.ts";
import { toRouteQuery } from "../../src/routing/dataset.ts";
import { loadPolicy } from "../../src/routing/policy-artifacts.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { runCli } from "../support/cli.ts";

test("fusionkit train --policy cascade|vote on RouteProfile's recorded responses writes artifacts a gateway can load", async () => {
  const db = tempDb();
  assert.equal((await runCli(["import", join(REPO, "data/routeprofile"), "--db", db])).code, 0);
  assert.equal((await runCli(["split", "--db", db, "--seed", "42"])).code, 0);
  const dir = tempDir();
  for (const name of ["cascade", "vote"]) {
    const out = join(dir, `${name}.json`);
    const run = await runCli(["train", "--db", db, "--policy", name, "--embedder", "hash", "--out", out, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { policy: string; trainQueries: number; artifact: string; bytes: number };
    assert.equal(summary.policy, name);
    assert.equal(summary.artifact, out);
    assert.ok(summary.trainQueries > 400 && summary.bytes > 0);
    const loaded = loadPolicy(out);
    assert.equal(loaded.name, name);
    assert.equal(loaded.candidates.length, 8);
    assert.equal(loaded.embedder.startsWith("hash"), true);
    // The loaded policy plans calls among the artifact's candidates at every operating point.
    const k = loaded.policy.point("within-cost");
    const query = await toRouteQuery(
      "Which planet is largest? A) Mars B) Jupiter",
      { task: null, domain: null },
      createEmbedder(loaded.embedder),
    );
    const [p] = loaded.policy.plans([query], k);
    assert.ok(p && p.plan.stages.length >= 1);
    for (const stage of p.plan.stages) for (const j of stage) assert.ok(j >= 0 && j < 8);
  }
  const bad = await runCli(["train", "--db", db, "--policy", "magic", "--out", join(dir, "x.json")]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--policy: unknown policy "magic" \(known: .*cascade.*\)/);
});
