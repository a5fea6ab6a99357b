import assert from "node:assert/strict";
import { test } from "node:test";
import { HashEmbedder } from "../../src/embed/hash.ts";
import {
  answerKindOf,
  answerSimilarity,
  answersAgree,
  DEFAULT_AGREEMENT,
  extractAnswer,
} from "../../src/scoring/answers.ts";
import { gsm8kGold } from "../../src/scoring/text-metrics.ts";
import { routeProfileItems } from "./routeprofile-items.ts";

/** Answer extraction on real responses from the bundled RouteProfile data (8 models × 600 queries). */

const rp = routeProfileItems();

function responses(task: string): Array<{ gold: string; metric: string; response: string; performance: number }> {
  return rp
    .filter((q) => q.task_name === task)
    .flatMap((q) =>
      Object.values(q.model_performance).map((m) => ({
        gold: q.ground_truth,
        metric: q.metric,
        response: m.response ?? "",
        performance: m.task_performance,
      })),
    );
}

test("em_mc: the extracted letter is the gold letter exactly when the recorded score is 1 (every multiple-choice task)", () => {
  for (const task of ["mmlu", "arc_challenge", "commonsense_qa", "openbook_qa", "agentverse-logicgrid"]) {
    const rows = responses(task);
    assert.equal(rows.length, 400, task);
    for (const r of rows) {
      const a = extractAnswer(r.metric, r.response);
      const right = a !== null && a.kind === "exact" && a.key === r.gold.trim().toLowerCase();
      assert.equal(right, r.performance === 1, `${task}: ${r.response.slice(-80)}`);
    }
  }
});

test("gsm8k: the extracted number is the gold's final number exactly when the recorded score is 1", () => {
  const rows = responses("gsm8k");
  assert.equal(rows.length, 400);
  for (const r of rows) {
    const a = extractAnswer(r.metric, r.response);
    const right = a !== null && a.kind === "exact" && a.key === gsm8kGold(r.gold);
    assert.equal(right, r.performance === 1, r.response.slice(-80));
  }
});

test("math: \\boxed{} answers of agentverse-mgsm match the gold on ≥ 90% of the responses scored 1", () => {
  const rows = responses("agentverse-mgsm").filter((r) => r.performance === 1);
  const hits = rows.filter((r) => {
    const a = extractAnswer("math", r.response);
    return a !== null && answersAgree(a, extractAnswer("math", `\\boxed{${r.gold}}`));
  });
  assert.ok(rows.length > 300);
  assert.ok(hits.length / rows.length >= 0.9, `${hits.length}/${rows.length}`);
});

test("extractors on hand-picked real responses", () => {
  // gemma-2-9b-it on agentverse-logicgrid: the last "(X)" is the answer, markdown around it is ignored.
  assert.deepEqual(extractAnswer("em_mc", "Since the sandals are in house 3 ...\n\n**Answer: (B)**\n"), {
    kind: "exact",
    key: "b",
  });
  // gemma-2-9b-it on agentverse-mgsm: units after the box do not matter.
  assert.deepEqual(extractAnswer("math", "\\boxed{120} pounds of carrots will not be used."), {
    kind: "exact",
    key: "120",
  });
  assert.deepEqual(extractAnswer("gsm8k", "Each pair of contacts will cost $1,000.00."), {
    kind: "exact",
    key: "100000",
  });
  assert.equal(extractAnswer("em_mc", "I am not sure."), null);
  assert.equal(extractAnswer("math", "The answer is 5."), null);
  assert.equal(extractAnswer("f1_tagged", "no tag here"), null);
  assert.deepEqual(extractAnswer("f1_tagged", "<answer>The Beatles</answer>"), { kind: "text", text: "beatles" });
  assert.deepEqual(extractAnswer("cem", "It was released in **1992**."), {
    kind: "text",
    text: "it was released in 1992",
  });
  assert.equal(extractAnswer("code_eval", "def f(): pass")?.kind, "free");
  assert.equal(answerKindOf("f1_score"), "text");
  assert.equal(answerKindOf("commongen_coverage"), "free");
  assert.equal(answerKindOf(null), "free");
});

test("agreement: exact keys, token F1 for text, embedding cosine for free text; no answer never agrees", async () => {
  const b1 = extractAnswer("em_mc", "(B)");
  const b2 = extractAnswer("em_mc", "The answer is ( b )");
  const c = extractAnswer("em_mc", "(C)");
  assert.ok(answersAgree(b1, b2));
  assert.ok(!answersAgree(b1, c));
  assert.ok(!answersAgree(b1, null));
  // F1("released in 1992", "1992") = 2·(1/3·1)/(1/3+1) = 0.5: at the default threshold.
  const t1 = extractAnswer("cem", "released in 1992");
  const t2 = extractAnswer("cem", "1992");
  assert.equal(answerSimilarity(t1, t2), 0.5);
  assert.ok(answersAgree(t1, t2, DEFAULT_AGREEMENT));
  assert.ok(!answersAgree(t1, t2, { text: 0.6, free: 0.9 }));
  const code1 = "def add(a, b):\n    return a + b\n";
  const code2 = "def add(a, b):\n    return a + b  \n";
  const code3 = "import os\nprint(os.listdir('.'))\n";
  const [v1, v2, v3] = await new HashEmbedder().embed([code1, code2, code3]);
  const f1 = extractAnswer("code_eval", code1);
  assert.ok(answersAgree(f1, extractAnswer("code_eval", code2), DEFAULT_AGREEMENT, v1, v2));
  assert.ok(!answersAgree(f1, extractAnswer("code_eval", code3), DEFAULT_AGREEMENT, v1, v3));
  assert.ok(!answersAgree(f1, extractAnswer("code_eval", code2)), "free text without embeddings never agrees");
});

test("on real multiple-choice responses, two models that agree are right far more often than one alone", () => {
  let agreePairs = 0;
  let agreeRight = 0;
  let single = 0;
  let singleRight = 0;
  for (const q of rp.filter((x) => x.metric === "em_mc")) {
    const ms = Object.values(q.model_performance);
    for (let a = 0; a < ms.length; a++) {
      single++;
      if ((ms[a] as { task_performance: number }).task_performance === 1) singleRight++;
      for (let b = a + 1; b < ms.length; b++) {
        const x = ms[a] as { response: string; task_performance: number };
        const y = ms[b] as { response: string; task_performance: number };
        if (!answersAgree(extractAnswer("em_mc", x.response), extractAnswer("em_mc", y.response))) continue;
        agreePairs++;
        if (x.task_performance === 1) agreeRight++;
      }
    }
  }
  const pAgree = agreeRight / agreePairs;
  const pSingle = singleRight / single;
  assert.ok(pAgree > pSingle + 0.1, `agreeing ${pAgree.toFixed(3)} vs single ${pSingle.toFixed(3)}`);
});
