import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDb, tempDir } from "../helpers.ts";
import { xmlProblem } from "../report/xml-check.ts";
import { runCli } from "../support/cli.ts";

// The README's first command, on a reduced setting: both bundled datasets, the fast hashed embedder and
// three routers instead of USE and all of them (the full run is timed in the README/report, not here).
test("demo: imports the bundled data, evaluates, prints the comparison, writes reports; re-running reuses the store", async () => {
  const db = tempDb();
  const out = join(tempDir(), "reports");
  const args = ["demo", "--db", db, "--out", out, "--embedder", "hash", "--routers", "best-single,best-per-task,knn"];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /llmrouter: imported 6108 queries, 54972 outcomes/);
  assert.match(first.stderr, /routeprofile: no split in the source; seeded split 480 train \/ 120 test/);

  // LLMRouter test split: the figures `fusionkit stats` reports (issue 2) are the baselines here too.
  assert.match(first.stdout, /llmrouter: 500 test queries × 9 candidates, routers trained on 5608/);
  assert.match(first.stdout, /best single\s+llama-3\.1-nemotron-51b-instruct\s+0\.563\s+\$7\.89e-5/);
  assert.match(first.stdout, /oracle\s+0\.743\s+\$2\.19e-5/);
  assert.match(first.stdout, /routeprofile: 120 test queries × 8 candidates, routers trained on 480/);
  // best-per-task under performance-first: 0.587 on LLMRouter (the figure in shared/README.md).
  assert.match(first.stdout, /best-per-task\s+performance-first\s+0\.587/);
  const headline =
    /llmrouter: (?:default router auto \(chosen on train\)|best router \S+) (\d\.\d{3}) .* best single llama-3\.1-nemotron-51b-instruct 0\.563 .* oracle 0\.743/.exec(
      first.stdout,
    );
  assert.ok(headline, first.stdout);
  const best = Number(headline[1]);
  assert.ok(best >= 0.587 && best <= 0.743, `headline router ${best} between best-per-task and the oracle`);

  for (const dataset of ["llmrouter", "routeprofile"]) {
    const md = readFileSync(join(out, dataset, "report.md"), "utf8");
    assert.match(md, new RegExp(`^# FusionKit demo: ${dataset}`));
    for (const f of ["frontier.svg", "per-task.svg"]) {
      const svg = readFileSync(join(out, dataset, f), "utf8");
      assert.equal(xmlProblem(svg), null, `${dataset}/${f}`);
    }
  }

  // Second run: nothing imported or split again, same numbers.
  const second = await runCli(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /llmrouter: already in /);
  assert.match(second.stderr, /routeprofile: already in /);
  assert.doesNotMatch(second.stderr, /seeded split/);
  const tables = (s: string) => s.replace(/done in .*\n/, "");
  assert.equal(tables(second.stdout), tables(first.stdout));
});

test("demo: an unknown bundled dataset is a clear error", async () => {
  const r = await runCli(["demo", "--db", tempDb(), "--datasets", "mmlu"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--datasets: no bundled dataset "mmlu" \(bundled: llmrouter, routeprofile\)/);
});
