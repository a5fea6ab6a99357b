import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";

const CLI = join(REPO, "bin/fusionkit.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: REPO });
// For commands that call the in-process fake server: they must run without blocking this event loop.
const runAsync = (...args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args], { cwd: REPO });

let db: string;
let fake: FakeOpenAI;
let providers: string;
before(async () => {
  // The student answers (A) when given templates and (B) otherwise: scores then follow the gold letters.
  fake = await startFakeOpenAI({
    models: {
      student: { answers: { "Thought templates": "(A)" }, reply: "(B)" },
      summ: {
        reply:
          "<template>Problem type: recall. Recall the fact, then answer briefly. Answer format: a short phrase.</template>",
      },
    },
  });
  providers = join(tempDir(), "providers.yaml");
  writeFileSync(providers, providersYaml(fake.url, ["student", "summ"]));
  db = tempDb();
  for (const args of [
    ["import", join(REPO, "data/routeprofile"), "--db", db],
    ["split", "--db", db, "--seed", "42"],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 0, r.stderr);
  }
});
after(async () => fake.close());

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

test("fusionkit thought eval over a real OpenAI-protocol server: per-task table, JSON, Markdown", async () => {
  const report = join(tempDir(), "eval.md");
  const args = ["thought", "eval", "--db", db, "--model", "student", "--providers", providers, "--limit-per-task", "2"];
  const { stdout } = await runAsync(...args, "--report", report);
  assert.match(
    stdout,
    /routeprofile test split, model student, templates extractive\+hybrid \(k=3\): 20 queries scored/,
  );
  assert.match(stdout, /skipped human_eval: .*--allow-code-exec/);
  assert.match(readFileSync(report, "utf8"), /^# Thought templates: effect on student/);

  const json = JSON.parse((await runAsync(...args, "--json")).stdout);
  assert.equal(json.overall.n, 20);
  assert.deepEqual(Object.keys(json.skippedTasks).sort(), ["human_eval", "mbpp"]);
  // Per task the reported means are the means of the per-query scores, which follow the gold letters.
  for (const [task, t] of Object.entries(json.perTask) as Array<
    [string, { n: number; without: number; with: number }]
  >) {
    const rows = json.rows.filter((r: { task: string }) => r.task === task);
    assert.equal(rows.length, t.n);
    const mean = (f: (r: { with: { score: number }; without: { score: number } }) => number) =>
      rows.reduce((a: number, r: never) => a + f(r), 0) / rows.length;
    assert.ok(Math.abs(mean((r) => r.without.score) - t.without) < 1e-12);
    assert.ok(Math.abs(mean((r) => r.with.score) - t.with) < 1e-12);
  }
  // Multiple-choice queries: "(A)" with templates, "(B)" without.
  const mc = json.rows.find((r: { task: string }) => r.task === "mmlu");
  assert.equal(mc.with.response, "(A)");
  assert.equal(mc.without.response, "(B)");
  // Two requests per query in the first run (code tasks' first queries are asked before they turn out
  // unscorable); the second run is answered from the response cache in the store.
  const sent = fake.requestsFor("student").length;
  assert.ok(sent >= 2 * 20 && sent <= 2 * 24, `${sent} requests`);
});

test("fusionkit thought build --summariser llm:<model> over a real OpenAI-protocol server, beside the extractive set", async () => {
  const args = [
    "thought",
    "build",
    "--db",
    db,
    "--summariser",
    "llm:summ",
    "--providers",
    providers,
    "--embedder",
    "hash",
  ];
  const { stdout } = await runAsync(...args, "--limit", "4", "--json");
  const s = JSON.parse(stdout);
  assert.equal(s.set, "llm:summ+hybrid");
  assert.equal(s.built, 4);
  assert.ok(s.cost > 0);
  assert.equal(fake.requestsFor("summ").length, 4);
  const list = JSON.parse(run("thought", "list", "--db", db, "--json").stdout) as Array<{
    set: string;
    templates: number;
  }>;
  assert.deepEqual(
    list.map((x) => [x.set, x.templates]),
    [
      ["extractive+hybrid", 368],
      ["llm:summ+hybrid", 4],
    ],
  );
  // With two sets in the store, retrieval asks which one.
  const ambiguous = run("thought", "retrieve", "--db", db, "x");
  assert.equal(ambiguous.status, 2);
  assert.match(ambiguous.stderr, /several template sets .*choose one with --set/);
  const r = run("thought", "retrieve", "--db", db, "--set", "llm:summ+hybrid", "--k", "1", "--json", "who wrote it");
  assert.equal(
    JSON.parse(r.stdout)[0].template,
    "Problem type: recall. Recall the fact, then answer briefly. Answer format: a short phrase.",
  );
});

test("fusionkit thought eval --replay runs offline on recorded responses (Δ = 0 by construction, said so)", () => {
  const noClient = run("thought", "eval", "--db", db, "--set", "extractive+hybrid", "--model", "gemma-2-9b-it");
  assert.equal(noClient.status, 2);
  assert.match(noClient.stderr, /needs --providers <file> \(or --replay\)/);
  const args = ["thought", "eval", "--db", db, "--set", "extractive+hybrid", "--replay", "--model", "gemma-2-9b-it"];
  const r = run(...args, "--limit-per-task", "2", "--json");
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.overall.n, 20);
  for (const row of json.rows) assert.equal(row.with.response, row.without.response);
  assert.equal(json.overall.delta, 0);
  const text = run(...args, "--limit-per-task", "1");
  assert.match(text.stdout, /note: --replay answers with the responses recorded in the store/);
});

test("thought eval exits 1 with the reason when every model call failed (never a table of nothing, exit 0)", async () => {
  fake.setModel("down", { steps: [{ status: 503, message: "overloaded" }] });
  const downProviders = join(tempDir(), "down.yaml");
  writeFileSync(downProviders, providersYaml(fake.url, ["down"], { retries: 0 }));
  const args = [
    "thought",
    "eval",
    "--db",
    db,
    "--set",
    "extractive+hybrid",
    "--model",
    "down",
    "--providers",
    downProviders,
  ];
  const r = await runAsync(...args, "--limit-per-task", "1").then(
    () => assert.fail("thought eval should have failed"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /fusionkit: thought eval: every model call failed \(\d+ queries; first: .*503/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
