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
  for (const args of [
    ["import", join(REPO, "data/routeprofile"), "--db", db],
    ["split", "--db", db, "--seed", "42"],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 0, r.stderr);
  }
});

test("fusionkit thought build | list | retrieve | prompt on bundled RouteProfile (extractive summariser)", () => {
  const report = join(tempDir(), "thought.md");
  const b = run("thought", "build", "--db", db, "--summariser", "extractive", "--embedder", "hash", "--report", report);
  assert.equal(b.status, 0, b.stderr);
  assert.match(
    b.stdout,
    /template set extractive\+hybrid \(routeprofile, embedder hash-1024\): 368 built, 0 already there, 112 queries without a successful response/,
  );
  assert.match(b.stdout, /ALL +480 +368/);
  const md = readFileSync(report, "utf8");
  assert.match(md, /summariser \*\*extractive\*\* \(non-LLM/);
  assert.match(md, /### gsm8k[\s\S]*> Problem type: gsm8k \(Math\)\. Reasoning steps: /);

  // A rerun resumes: nothing left to build.
  const again = run("thought", "build", "--db", db, "--summariser", "extractive", "--embedder", "hash", "--json");
  assert.equal(JSON.parse(again.stdout).alreadyDone, 368);

  const list = run("thought", "list", "--db", db, "--json");
  assert.deepEqual(
    JSON.parse(list.stdout).map((s: { set: string; templates: number }) => [s.set, s.templates]),
    [["extractive+hybrid", 368]],
  );

  const q = "A baker sells 12 muffins an hour for 8 hours. How many muffins does she sell?";
  const r = run("thought", "retrieve", "--db", db, "--task", "gsm8k", "--k", "3", "--json", q);
  assert.equal(r.status, 0, r.stderr);
  const hits = JSON.parse(r.stdout) as Array<{ task: string; similarity: number; sameTask: boolean }>;
  assert.equal(hits.length, 3);
  assert.ok(hits.every((h) => h.task === "gsm8k" && h.sameTask));
  assert.ok(hits[0].similarity >= hits[1].similarity && hits[1].similarity >= hits[2].similarity);

  const p = run("thought", "prompt", "--db", db, "--task", "gsm8k", q);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^Thought templates distilled from how strong models solved similar problems/);
  assert.match(p.stdout, /Template 3: Problem type: gsm8k/);
  assert.ok(p.stdout.trimEnd().endsWith(q));
});

test("thought build: bad summariser, llm without providers and unknown set are clear errors", () => {
  const bad = run("thought", "build", "--db", db, "--summariser", "gpt");
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--summariser must be "extractive" or "llm:<model>"/);
  const noProv = run("thought", "build", "--db", db, "--summariser", "llm:some-model");
  assert.equal(noProv.status, 2);
  assert.match(noProv.stderr, /needs --providers/);
  const noSet = run("thought", "retrieve", "--db", db, "--set", "nope", "x");
  assert.equal(noSet.status, 2);
  assert.match(noSet.stderr, /no template set "nope"/);
});
