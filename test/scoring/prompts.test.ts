import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { formatPrompt, parseChoices, THINK_CUE } from "../../src/scoring/prompts.ts";
import { REPO } from "../helpers.ts";

const rp = JSON.parse(
  readFileSync(join(REPO, "data/routeprofile/route_data/routing_test_data.json"), "utf8"),
) as Array<{
  task_name: string;
  query: string;
  ground_truth: string;
  metric: string;
  choices: string | null;
  task_id: string | number | null;
}>;
const first = (task: string) => rp.find((q) => q.task_name === task) as (typeof rp)[number];

test("choices in the shapes real files use: Python dict with label/labels, plain list", () => {
  assert.deepEqual(parseChoices("{'text': ['1', '2'], 'labels': ['A', 'B']}"), [
    { label: "A", text: "1" },
    { label: "B", text: "2" },
  ]);
  assert.deepEqual(parseChoices("['Calcutta.', 'Bombay.']"), [
    { label: "A", text: "Calcutta." },
    { label: "B", text: "Bombay." },
  ]);
  assert.equal(parseChoices("not a literal ("), null);
});

test("multiple choice: options listed as (X), answer asked in parentheses; think mode adds the cue", () => {
  const q = first("mmlu");
  const p = formatPrompt({ task: q.task_name, metric: q.metric, query: q.query, choices: q.choices }, "direct");
  assert.match(p, /in parentheses/);
  assert.match(p, /\(C\) Cambodia\./);
  assert.ok(!p.includes(THINK_CUE));
  const t = formatPrompt({ task: q.task_name, metric: q.metric, query: q.query, choices: q.choices }, "think");
  assert.ok(t.endsWith(THINK_CUE));
});

test("math asks for \\boxed{}, code for [BEGIN]/[DONE] with MBPP's tests shown, reading tasks get context", () => {
  const m = first("agentverse-mgsm");
  assert.match(formatPrompt({ task: m.task_name, metric: m.metric, query: m.query }, "direct"), /\\boxed\{\}/);
  const mb = first("mbpp");
  const code = formatPrompt(
    {
      task: mb.task_name,
      metric: mb.metric,
      query: mb.query,
      groundTruth: mb.ground_truth,
      taskId: String(mb.task_id),
    },
    "direct",
  );
  assert.match(code, /\[BEGIN\] <your code> \[DONE\]/);
  assert.match(code, /\nassert unique_sublists\(/);
  const he = first("human_eval");
  assert.match(
    formatPrompt({ task: he.task_name, metric: he.metric, query: he.query, taskId: String(he.task_id) }, "direct"),
    /def sum_product[\s\S]*function body only/,
  );
  const r = formatPrompt({ task: "squad", metric: "f1", query: "Who?", context: "Ann wrote it." }, "direct");
  assert.match(r, /## Context:\nAnn wrote it\.\n\n## Question:\nWho\?/);
});
