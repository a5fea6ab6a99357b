import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { REPO, tempDb, tempDir } from "../helpers.ts";

const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(REPO, "bin/fusionkit.js"), ...args], { encoding: "utf8", cwd: REPO });

let db: string;
let dir: string;
before(() => {
  db = tempDb();
  dir = tempDir();
  const imp = run("import", join(REPO, "data/llmrouter"), "--db", db);
  assert.equal(imp.status, 0, imp.stderr);
});

test("fusionkit train → artifact file + store copy; fusionkit route loads it in another process", () => {
  const art = join(dir, "knn.json");
  const t = run(
    "train",
    "--router",
    "knn",
    "--embedder",
    "hash",
    "--db",
    db,
    "--out",
    art,
    "--param",
    "k=10",
    "--json",
  );
  assert.equal(t.status, 0, t.stderr);
  const summary = JSON.parse(t.stdout);
  assert.equal(summary.trainQueries, 5608);
  assert.equal(summary.candidates.length, 9);
  assert.equal(summary.embedder, "hash-1024");
  assert.equal(summary.storeId, "llmrouter/knn");
  const artifact = JSON.parse(readFileSync(art, "utf8"));
  assert.equal(artifact.format, "fusionkit-router");
  assert.equal(artifact.state.main.k, 10);

  // A train-split HumanEval prompt: its own outcomes are its nearest neighbour's.
  const text = readFileSync(join(REPO, "data/llmrouter/query_data/default_query_train.jsonl"), "utf8")
    .split("\n")
    .map((l) => (l ? JSON.parse(l) : null))
    .find((q) => q && q.task_name === "human_eval")?.query as string;
  assert.ok(text, "fixture: a human_eval query in the bundled train split");
  const r = run("route", text, "--router-artifact", art, "--task", "human_eval", "--json");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.router, "knn");
  assert.equal(out.ranked.length, 9);
  for (let i = 1; i < out.ranked.length; i++) assert.ok(out.ranked[i - 1].score >= out.ranked[i].score - 1e-12);
  assert.match(out.ranked[0].reason, /nearest same-task neighbours \(top cos 1\.00\)/);

  // Cost-first under the same artifact puts a cheaper candidate first; the text table names the choice.
  const cf = run("route", text, "--router-artifact", art, "--task", "human_eval", "--scenario", "cost-first");
  assert.equal(cf.status, 0, cf.stderr);
  assert.match(cf.stdout, /knob cost-first, task human_eval: send to \S+/);
  assert.match(cf.stdout, /pred\. perf +pred\. cost +score +reason/);
});

test("fusionkit train/route: bad input gives a clear error and exit code 2", () => {
  const unknown = run("train", "--router", "nope", "--db", db, "--embedder", "hash");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown router "nope" \(known: random, cheapest/);
  const badParam = run("train", "--router", "knn", "--db", db, "--embedder", "hash", "--param", "k=ten");
  assert.equal(badParam.status, 2);
  assert.match(badParam.stderr, /--param: router "knn": parameter "k": expected a number, got "ten"/);
  const unknownParam = run("train", "--db", db, "--embedder", "hash", "--param", "kk=3");
  assert.equal(unknownParam.status, 2, "auto is the default router");
  assert.match(
    unknownParam.stderr,
    /--param: router "auto": unknown parameter "kk" \(known: bases, baseParams, folds, z, memory, seed\)/,
  );
  const bothKnobs = run("train", "--router", "knn", "--db", db, "--scenario", "balance", "--lambda", "3");
  assert.equal(bothKnobs.status, 2);
  assert.match(bothKnobs.stderr, /--scenario or --lambda, not both/);

  const broken = join(dir, "broken.json");
  writeFileSync(
    broken,
    JSON.stringify({
      format: "fusionkit-router",
      version: 1,
      router: "knn",
      embedder: "hash",
      candidates: [],
      knob: { scenario: "balance" },
      scales: { global: {}, perTask: {} },
      state: { main: { k: 3 } },
    }),
  );
  const r = run("route", "hello", "--router-artifact", broken);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /broken\.json:line 1, field "candidates": the artifact lists no candidates/);
  const notJson = join(dir, "x.json");
  writeFileSync(notJson, "{");
  const r2 = run("route", "hello", "--router-artifact", notJson);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /x\.json:line 1: not valid JSON/);
});
