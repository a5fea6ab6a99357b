import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { REPO, tempDb, tempDir } from "../helpers.ts";

const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(REPO, "bin/fusionkit.js"), ...args], { encoding: "utf8", cwd: REPO });

let db: string;
before(() => {
  db = tempDb();
  const imp = run("import", join(REPO, "data/routeprofile"), "--db", db);
  assert.equal(imp.status, 0, imp.stderr);
});

test("fusionkit distill on bundled RouteProfile: needs a split, then writes every format and the report", () => {
  const noSplit = run("distill", "--db", db, "--out", tempDir());
  assert.equal(noSplit.status, 2);
  assert.match(noSplit.stderr, /0 train and 0 test queries.*run "fusionkit split" first/);
  assert.equal(run("split", "--db", db, "--seed", "42").status, 0);

  const out = tempDir();
  const r = run("distill", "--db", db, "--out", out, "--rank", "hybrid", "--top-k", "5", "--with-gold");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^routeprofile: 480 train queries, 1 removed by decontamination against 120 test queries/);
  assert.match(r.stdout, /ALL +480 +0 +1 /);
  const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  assert.equal(report.total.trainQueries, 480);
  assert.equal(report.removed[0].task, "gsm8k");
  const alpaca = JSON.parse(readFileSync(join(out, "alpaca.json"), "utf8"));
  const openai = readFileSync(join(out, "openai.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const sharegpt = JSON.parse(readFileSync(join(out, "sharegpt.json"), "utf8"));
  const dpo = readFileSync(join(out, "dpo.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(alpaca.length, report.total.sftRecords);
  assert.equal(openai.length, alpaca.length);
  assert.equal(sharegpt.length, alpaca.length);
  assert.equal(dpo.length, report.total.dpoPairs);
  assert.ok(report.total.goldRecords > 0);
  for (const d of dpo) assert.ok(d.prompt && d.chosen && d.rejected && d.chosen !== d.rejected);
  // Hybrid without judge scores says so in the report.
  assert.match(
    readFileSync(join(out, "report.md"), "utf8"),
    /Note: 3840 of 3840 training responses have no judge score/,
  );

  const small = run("distill", "--db", db, "--out", tempDir(), "--small-only", "--max-params", "9", "--json");
  assert.equal(small.status, 0, small.stderr);
  const s = JSON.parse(small.stdout);
  assert.deepEqual(s.models, [
    "gemma-2-9b-it",
    "llama-3.1-8b-instruct",
    "llama-3.2-3b-instruct",
    "qwen2.5-7b-instruct",
  ]);

  const bad = run("distill", "--db", db, "--out", tempDir(), "--formats", "alpaca,csv");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown format "csv"/);
});
