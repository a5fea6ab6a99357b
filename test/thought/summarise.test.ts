import assert from "node:assert/strict";
import { test } from "node:test";
import type { Outcome, Query } from "../../src/data/types.ts";
import {
  answerFormat,
  ExtractiveSummariser,
  parseTemplateReply,
  stepHeadings,
  summariserMessages,
} from "../../src/thought/summarise.ts";

// Response excerpts from data/routeprofile (MIT, U Lab @UIUC): gsm8k "How many girls are in the school ...".
const GSM_QWEN =
  "To find the total number of students in the school and then determine the number of girls, we can follow these steps:\n\n" +
  "1. **Determine the total number of students in the school:**\n   - We know that 40% of the school population is 240 boys.\n" +
  "2. **Determine the number of girls in the school:**\n   - The total number of students is 600.\n\nTherefore, there are 360 girls in the school.";
const GSM_MIXTRAL =
  " Step 1: Determine the total school population based on the number of boys.\nSince 40% of the school population is made up of boys...\n" +
  "Step 2: Subtract the boys from the total.\n600 - 240 = 360";

const query: Query = {
  id: "q1",
  dataset: "rp",
  task: "gsm8k",
  domain: "Math",
  text: "How many girls are in the school if 40% of a school population is made up of 240 boys?",
  taskDescription: "GSM8K is a dataset of grade school math word problems. It needs multi-step arithmetic.",
};
const out = (model: string, response: string) =>
  ({ queryId: "q1", model, mode: "direct", performance: 1, cost: 0, response }) as Outcome;

test("template replies: tags preferred, labels stripped, at most five sentences, empty is unusable", () => {
  assert.deepEqual(parseTemplateReply("Sure!\n<template>Problem type: ratio. Steps: scale up.</template>"), {
    template: "Problem type: ratio. Steps: scale up.",
  });
  assert.equal(parseTemplateReply("Thought template: A. B.").template, "A. B.");
  assert.equal(
    parseTemplateReply("<template>One. Two. Three. Four. Five. Six. Seven.</template>").template,
    "One. Two. Three. Four. Five.",
  );
  // An unterminated tag still yields its text.
  assert.equal(parseTemplateReply("<template>Only this.").template, "Only this.");
  assert.equal(parseTemplateReply("<template>  </template>").template, null);
  assert.equal(parseTemplateReply("").problem, "empty reply");
});

test("summariser prompt carries task, description, problem and every selected solution", () => {
  const [system, user] = summariserMessages({ query, responses: [out("a", GSM_QWEN), out("b", GSM_MIXTRAL)] });
  assert.equal(system?.role, "system");
  assert.match(system?.content ?? "", /never contains the example problem's specific numbers/);
  const u = user?.content ?? "";
  assert.match(u, /^Task: gsm8k \(domain: Math\)/);
  assert.match(u, /Task description: GSM8K is a dataset/);
  assert.ok(u.includes(query.text));
  assert.match(u, /Correct solutions from 2 models, best first:/);
  assert.ok(u.includes("[Solution 2]") && u.includes("Subtract the boys"));
  assert.match(u, /between <template> and <\/template>/);
});

test("step headings: numbered and 'Step N' lines, cut at the colon, number-heavy lines dropped", () => {
  assert.deepEqual(stepHeadings(GSM_QWEN), [
    "determine the total number of students in the school",
    "determine the number of girls in the school",
  ]);
  assert.deepEqual(stepHeadings(GSM_MIXTRAL), [
    "determine the total school population based on the number of boys",
    "subtract the boys from the total",
  ]);
  assert.deepEqual(stepHeadings("1. 600 - 240 = 360\n2. ok"), []);
  // Clues quoted back from a logic-grid puzzle restate the query and are not steps.
  const puzzle = "Clues: 1. The person who is wearing sandals lives in the third house.";
  const reply = "1. The person who is wearing sandals lives in the third house.\n2. Place the sandals owner first.";
  assert.deepEqual(stepHeadings(reply, puzzle), ["place the sandals owner first"]);
});

test("answer format from shared markers", () => {
  assert.match(answerFormat(["so \\boxed{4}", "\\boxed{4}"]), /\\boxed/);
  assert.match(answerFormat(["[BEGIN]\ndef f(): pass\n[Done]"]), /\[BEGIN\] and \[Done\]/);
  assert.match(answerFormat(["(C)", "(C) because"]), /letter of the chosen option/);
  assert.equal(answerFormat(["March 9, 2018"]), "Answer format: a short phrase (about 3 words).");
});

test("extractive summariser: problem type, steps of the best-structured response, answer format", async () => {
  const s = new ExtractiveSummariser();
  assert.equal(s.name, "extractive");
  const res = await s.summarise({ query, responses: [out("a", GSM_QWEN), out("b", GSM_MIXTRAL)] });
  assert.equal(
    res.template,
    "Problem type: gsm8k (Math); GSM8K is a dataset of grade school math word problems. " +
      "Reasoning steps: determine the total number of students in the school; then determine the number of girls in the school. " +
      "Answer format: prose of about 69 words.", // upper median of 37 and 69 words
  );
  assert.equal(res.cost, 0);
  const mc = await s.summarise({
    query: { ...query, task: "mmlu", domain: null, taskDescription: null },
    responses: [out("a", "(C)")],
  });
  assert.equal(
    mc.template,
    "Problem type: mmlu. Reasoning: the successful answers state the result directly, without written steps. " +
      "Answer format: the letter of the chosen option in parentheses, e.g. (B).",
  );
  assert.equal((await s.summarise({ query, responses: [] })).template, null);
});
