import assert from "node:assert/strict";
import { test } from "node:test";
import { lastBoxed, normalizeMathAnswer, unbox } from "../../src/scoring/math-answer.ts";
import { canonicalMetric, goldAnswers, scoreResponse } from "../../src/scoring/score.ts";
import {
  baseForms,
  cem,
  commongenCoverage,
  emMc,
  f1,
  gsm8k,
  lastChoice,
  lastNumber,
  math,
  normalizeAnswer,
} from "../../src/scoring/text-metrics.ts";

test("normalizeAnswer: lower case, no punctuation, no articles, single spaces", () => {
  assert.equal(normalizeAnswer("The  Eiffel Tower, in Paris!"), "eiffel tower in paris");
  assert.equal(normalizeAnswer("An apple a day"), "apple day");
});

test("cem: normalised gold contained in the answer", () => {
  assert.equal(cem("It was released on March 9, 2018 in Canada.", "March 9, 2018"), 1);
  assert.equal(cem("It was released on March 10, 2018.", "March 9, 2018"), 0);
  assert.equal(cem("high-performance car SEATS", "seats"), 1);
});

test("em_mc: the last (X) in the answer", () => {
  assert.equal(lastChoice("I think (A), no wait, ( c )."), "(c)");
  assert.equal(emMc("I think (A), no wait, (C).", "C"), 1);
  assert.equal(emMc("I think (A), no wait, (C).", "A"), 0);
  assert.equal(emMc("C", "C"), 0, "a bare letter is not in parentheses");
  assert.equal(emMc("(B)", ""), 0);
});

test("gsm8k: last number against the gold after ####", () => {
  assert.equal(lastNumber("Total: $1,596."), "1596");
  assert.equal(gsm8k("So 60% of 600 = 360 girls.", "... 60 x 6 = <<60*6=360>>360 girls.\n#### 360"), 1);
  assert.equal(gsm8k("360 girls and 240 boys", "#### 360"), 0, "the LAST number counts");
  assert.equal(gsm8k("no digits here", "#### 3"), 0);
});

test("math: last \\boxed{} with MATH answer normalisation", () => {
  assert.equal(lastBoxed("a \\boxed{1} then \\boxed{\\frac{1}{2}} end"), "\\boxed{\\frac{1}{2}}");
  assert.equal(unbox("\\boxed{x^{2}}"), "x^{2}");
  assert.equal(normalizeMathAnswer("\\dfrac12"), "\\frac{1}{2}");
  assert.equal(normalizeMathAnswer("0.5"), "\\frac{1}{2}");
  assert.equal(normalizeMathAnswer("1/2"), "\\frac{1}{2}");
  assert.equal(normalizeMathAnswer("\\$1,596"), "1596");
  assert.equal(normalizeMathAnswer("x = 5"), "5");
  assert.equal(normalizeMathAnswer("90^\\circ"), "90");
  assert.equal(math("so the answer is \\boxed{\\dfrac{1}{2}}", "\\boxed{\\frac12}"), 1);
  assert.equal(math("\\boxed{$1596}", "1596"), 1);
  assert.equal(math("the answer is 1596", "1596"), 0, "no box, no credit");
  assert.equal(math("\\boxed{13}", "22"), 0);
});

test("f1: SQuAD token F1, yes/no must match exactly", () => {
  assert.equal(f1("Elena Anaya", "Elena Anaya"), 1);
  // pred tokens [spanish, actress, elena, anaya] vs gold [elena, anaya]: P=2/4, R=1 → F1=2/3
  assert.ok(Math.abs(f1("Spanish actress Elena Anaya", "Elena Anaya") - 2 / 3) < 1e-12);
  assert.equal(f1("yes", "no"), 0);
  assert.equal(f1("nothing shared", "Elena Anaya"), 0);
});

test("several golds: the best match counts", async () => {
  assert.deepEqual(goldAnswers('["11.16", "€9.88 per hour."]'), ["11.16", "€9.88 per hour."]);
  assert.deepEqual(goldAnswers("[not json"), ["[not json"]);
  const item = {
    task: "nq",
    metric: "f1_tagged",
    query: "q",
    groundTruth: '["Elena Anaya", "Spanish actress Elena Anaya"]',
  };
  assert.equal((await scoreResponse(item, "<answer>Spanish actress Elena Anaya</answer>")).score, 1);
  assert.equal((await scoreResponse(item, "Elena Anaya (no tags)")).score, 0);
});

test("commongen coverage counts inflected concept words", () => {
  assert.ok(baseForms("throws").has("throw"));
  assert.ok(baseForms("jogging").has("jog"));
  assert.ok(baseForms("carried").has("carry"));
  assert.ok(baseForms("held").has("hold"));
  assert.ok(!baseForms("directly").has("direct"));
  // throw ✓ (threw), dog ✓ (dogs), frisbee ✓, catch ✗ → 3/4
  assert.equal(commongenCoverage("The boy threw frisbees to his dogs.", "throw, dog, frisbee, catch"), 0.75);
});

test("metric names: FusionBench aliases, unknown names rejected with the known list", async () => {
  assert.equal(canonicalMetric("f1_score"), "f1");
  assert.equal(canonicalMetric("GSM8K"), "gsm8k");
  assert.equal(canonicalMetric("MATH"), "math");
  assert.equal(canonicalMetric("bleu"), null);
  await assert.rejects(
    scoreResponse({ task: "t", metric: "bleu", query: "q", groundTruth: "a" }, "a"),
    /unknown metric "bleu" \(known: cem, em, em_mc/,
  );
});
