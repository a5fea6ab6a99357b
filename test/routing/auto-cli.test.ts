import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { REPO, tempDir } from "../helpers.ts";
import { runCli, startFakeProcess, startGatewayProcess } from "../serve/support/procs.ts";

// `auto` is the router `train` and `serve` use when none is named: trained on the bundled RouteProfile
// data (hashed embeddings, two quick folds, one base router), saved, routed with, and served without --router.
test("train defaults to auto; route explains its per-task choice; serve picks the stored auto artifact", async () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const artifact = join(dir, "auto.json");
  assert.equal((await runCli(["import", join(REPO, "data/routeprofile"), "--db", db])).code, 0);
  assert.equal((await runCli(["split", "--db", db, "--seed", "3"])).code, 0);
  const t = await runCli([
    "train",
    ...["--db", db, "--embedder", "hash", "--out", artifact, "--json"],
    ...["--param", "folds=2", "--param", 'bases=["knn","logistic"]'],
  ]);
  assert.equal(t.code, 0, t.stderr);
  const summary = JSON.parse(t.stdout) as { router: string; storeId: string };
  assert.equal(summary.router, "auto");
  assert.equal(summary.storeId, "routeprofile/auto");
  const saved = JSON.parse(readFileSync(artifact, "utf8")) as {
    router: string;
    state: {
      main: { bases: string[]; baseStates: Record<string, unknown>; perTask: Record<string, { policy: string }> };
    };
  };
  assert.equal(saved.router, "auto");
  const policies = Object.values(saved.state.main.perTask).map((p) => p.policy);
  assert.equal(policies.length, 12, "one choice per RouteProfile task");
  // Only the bases some task uses are kept, each with its fitted state.
  const used = new Set(policies.flatMap((p) => (p === "mean" ? saved.state.main.bases : [p])));
  for (const b of saved.state.main.bases) assert.equal(b in saved.state.main.baseStates, used.has(b), b);

  const r = await runCli(["route", "What is 12 * 7?", "--router-artifact", artifact, "--task", "gsm8k", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { router: string; ranked: Array<{ reason: string }> };
  assert.equal(out.router, "auto");
  assert.match(out.ranked[0]?.reason ?? "", /^auto: task "gsm8k" uses /);
  // A training query asked again (with stray whitespace) is routed by what was observed on it.
  const store = new Database(db, { readonly: true });
  const seen = store
    .prepare("SELECT text, task FROM queries WHERE split = 'train' AND task = 'gsm8k' ORDER BY id LIMIT 1")
    .get() as { text: string; task: string };
  store.close();
  const again = await runCli([
    "route",
    ` ${seen.text}\n`,
    "--router-artifact",
    artifact,
    "--task",
    seen.task,
    "--json",
  ]);
  assert.equal(again.code, 0, again.stderr);
  const recalled = JSON.parse(again.stdout) as { ranked: Array<{ reason: string }> };
  assert.match(
    recalled.ranked[0]?.reason ?? "",
    /^auto: this exact query is in the routing data \(1 observation\): observed performance \d\.\d{3} for this candidate/,
  );

  const fake = await startFakeProcess({ models: { m: { reply: "hi" } } });
  const providers = join(dir, "providers.yaml");
  const models = (JSON.parse(readFileSync(artifact, "utf8")) as { candidates: Array<{ model: string }> }).candidates;
  const lines = ["providers:", "  - name: fake", `    baseUrl: ${fake.url}`, "models:"];
  for (const m of models)
    lines.push(
      `  - name: ${m.model}`,
      "    provider: fake",
      `    upstreamId: ${m.model}`,
      "    inputPrice: 0.2",
      "    outputPrice: 0.2",
    );
  writeFileSync(providers, `${lines.join("\n")}\n`);
  try {
    const gw = await startGatewayProcess(["--providers", providers, "--db", db, "--no-auth"]);
    try {
      assert.match(gw.stderr(), /routing with "routeprofile\/auto" from the store/);
      const listed = (await (await fetch(`${gw.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
      assert.ok(listed.data.some((m) => m.id === "fusionkit/auto"));
    } finally {
      await gw.stop();
    }
  } finally {
    await fake.stop();
  }
});
