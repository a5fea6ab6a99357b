import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { evaluateRouters } from "../../src/eval/evaluate.ts";
import { formatEvalTable, writeEvalReport } from "../../src/report/eval-report.ts";
import { ConstantRouter, TaskMeanRouter, testSet, train } from "../eval/tiny.ts";
import { tempDir } from "../helpers.ts";
import { xmlProblem } from "./xml-check.ts";

const result = evaluateRouters(
  train,
  testSet,
  [
    { name: "task-mean", create: () => new TaskMeanRouter() },
    { name: "always-dear", create: () => new ConstantRouter([0.2, 0.9], [1, 3]) },
  ],
  { scenarios: ["performance-first", "balance"], lambdas: [0, 1e6] },
);

test("xml check catches what a viewer would reject", () => {
  assert.equal(xmlProblem('<svg a="1"><g><text>x &amp; y</text></g></svg>'), null);
  assert.match(xmlProblem("<svg><g></svg>") ?? "", /closes <g>/);
  assert.match(xmlProblem("<svg><text>a & b</text></svg>") ?? "", /bare "&"/);
  assert.match(xmlProblem("<svg a=1></svg>") ?? "", /malformed/);
  assert.match(xmlProblem("<svg></svg><svg></svg>") ?? "", /2 root elements/);
});

test("terminal table: one row per router × scenario, then best single and oracle", () => {
  const lines = formatEvalTable(result).trimEnd().split("\n");
  assert.equal(lines.length, 2 + 4 + 2);
  assert.match(
    lines[0] ?? "",
    /router\s+scenario\s+perf\s+cost\/query\s+reward\s+gap closed\s+AIQ\s+tasks \+\/−\s+APGR/,
  );
  assert.match(
    lines[2] ?? "",
    /^task-mean\s+performance-first\s+1\.000\s+\$2\.00e\+0\s+1\.000\s+100\.0%\s+0\.906\s+1\/0\s+1\.750/,
  );
  assert.match(lines[6] ?? "", /^best single\s+dear\s+0\.750\s+\$3\.00e\+0/);
  assert.match(lines[7] ?? "", /^oracle\s+1\.000\s+\$2\.00e\+0/);
});

test("report folder: Markdown tables and well-formed SVG plots with the data in them", () => {
  const dir = join(tempDir(), "reports", "tiny");
  const files = writeEvalReport(result, dir, "Tiny");
  assert.deepEqual(
    files.plots.map((p) => p.slice(dir.length + 1)),
    ["frontier.svg", "per-task.svg", "cost-match.svg", "strong-calls.svg"],
  );
  const md = readFileSync(files.markdown, "utf8");
  assert.match(md, /^# Tiny/);
  assert.match(md, /!\[frontier.svg\]\(frontier.svg\)/);
  assert.match(
    md,
    /\| task-mean \| performance-first \| 1\.000 \| \$2\.00e\+0 \| 1\.000 \| 100\.0% \| 0\.906 \| 1\/0 \| 1\.750 \| 8\.3% \| 13\.3% \|/,
  );
  assert.match(md, /### balance/);
  assert.match(md, /\| A \| 0\.500 \| 1\.000 \| 1\.000 \| 0\.500 \|/); // per task: best single, oracle, task-mean, always-dear
  // Cost to match dear (0.75 at 3): task-mean at λ = 0 scores 1.0 at 2 (66.7%); the oracle needs half of
  // row 3's step to dear (LP 5/4 → 41.7%), one whole query (6/4 → 50%); hand-worked in cost-match.test.ts.
  assert.match(md, /No router meets it on this split\*\*: the cheapest match is task-mean at 66\.7% of the cost/);
  assert.match(md, /\| task-mean \| 0\.00 \| 1\.000 \| \$2\.00e\+0 \| 66\.7% \|/);
  assert.match(md, /\| per-query oracle, LP [^|]*\| 0\.750 \| \$1\.25e\+0 \| 41\.7% \|/);
  assert.match(md, /\| per-query oracle, one candidate per query \| 0\.875 \| \$1\.50e\+0 \| 50\.0% \|/);
  for (const path of files.plots) {
    const svg = readFileSync(path, "utf8");
    assert.equal(xmlProblem(svg), null, `${path}: ${xmlProblem(svg)}`);
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  }
  const frontier = readFileSync(join(dir, "frontier.svg"), "utf8");
  for (const label of ["task-mean", "always-dear", "cheap", "dear", "oracle", "cost–performance frontier"])
    assert.ok(frontier.includes(label), `frontier.svg lacks "${label}"`);
  const perTask = readFileSync(join(dir, "per-task.svg"), "utf8");
  for (const label of ["task-mean (performance-first)", "best single: dear", "per-query oracle", ">A<", ">B<"])
    assert.ok(perTask.includes(label), `per-task.svg lacks "${label}"`);
  // Re-writing the report replaces the files (no temporary files left behind).
  writeEvalReport(result, dir, "Tiny");
  assert.equal(readFileSync(files.markdown, "utf8"), md);
});
