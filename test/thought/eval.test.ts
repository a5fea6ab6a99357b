import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Query } from "../../src/data/types.ts";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { OpenAIChatClient } from "../../src/llm/client.ts";
import { parseProviders } from "../../src/llm/providers.ts";
import { scoreResponse } from "../../src/scoring/score.ts";
import { buildTemplates } from "../../src/thought/build.ts";
import { evalTemplates } from "../../src/thought/eval.ts";
import { TemplateIndex } from "../../src/thought/retrieve.ts";
import { ExtractiveSummariser } from "../../src/thought/summarise.ts";
import { fixtureStore } from "../distill/fixture.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";

let fake: FakeOpenAI;
before(async () => {
  // The student model answers right only when the prompt carries thought templates (and fails one math
  // query regardless), so the expected gains are known by construction.
  fake = await startFakeOpenAI({
    models: {
      student: {
        answers: {
          "hard one": "\\boxed{0}",
          cars: "(B)",
          "Thought templates": "Adding up gives \\boxed{7}.",
        },
        reply: "I think \\boxed{5}.",
      },
    },
  });
});
after(async () => fake.close());

test("thought eval: with vs without templates through a real OpenAI-protocol server, scored per task", async () => {
  const store = fixtureStore(
    [
      {
        id: "tr1",
        task: "arith",
        split: "train",
        metric: "math",
        groundTruth: "7",
        text: "Sam has 3 pens and buys 4. How many pens?",
        answers: [
          {
            model: "m",
            performance: 1,
            cost: 1,
            response: "Step 1: Add the two groups.\nStep 2: Box the sum.\n\\boxed{7}",
          },
        ],
      },
      {
        id: "te1",
        task: "arith",
        split: "test",
        metric: "math",
        groundTruth: "7",
        text: "Ann has 2 cats and gets 5. How many cats?",
        answers: [],
      },
      {
        id: "te2",
        task: "arith",
        split: "test",
        metric: "math",
        groundTruth: "7",
        text: "A hard one: 1 + 6?",
        answers: [],
      },
      {
        id: "te3",
        task: "mc",
        split: "test",
        metric: "em_mc",
        groundTruth: "B",
        text: "Which has wheels? (A) fish (B) cars",
        answers: [],
      },
      {
        id: "te4",
        task: "code",
        split: "test",
        metric: "code_eval",
        groundTruth: "assert f() == 1",
        text: "Write f.",
        answers: [],
      },
    ],
    [{ name: "m", size: "7B" }],
  );
  const embedder = new HashEmbedder(128);
  const built = await buildTemplates(store, {
    dataset: "fx",
    split: "train",
    rank: "performance",
    k: 3,
    summariser: new ExtractiveSummariser(),
    embedder,
    concurrency: 1,
  });
  assert.equal(built.built, 1);
  const client = new OpenAIChatClient(parseProviders(providersYaml(fake.url, ["student"]), "p.yaml"));
  const report = await evalTemplates(store, built.set, {
    dataset: "fx",
    model: "student",
    client,
    index: TemplateIndex.load(store, built.set, embedder),
    k: 3,
    promptOf: (q: Query) => q.text,
    score: async (q, response) =>
      (
        await scoreResponse(
          { task: q.task, metric: q.metric ?? "", query: q.text, groundTruth: q.groundTruth ?? null },
          response,
        )
      ).score,
    concurrency: 2,
  });
  // arith: te1 goes 0 → 1 with templates, te2 stays 0; mc answers (B) both ways; code is skipped (no exec).
  assert.deepEqual(
    { n: report.perTask.arith?.n, without: report.perTask.arith?.without, with: report.perTask.arith?.with },
    { n: 2, without: 0, with: 0.5 },
  );
  assert.equal(report.perTask.arith?.helped, 1);
  assert.equal(report.perTask.arith?.hurt, 0);
  assert.deepEqual({ n: report.perTask.mc?.n, delta: report.perTask.mc?.delta }, { n: 1, delta: 0 });
  assert.match(report.skippedTasks.code ?? "", /--allow-code-exec/);
  assert.equal(report.overall.n, 3);
  assert.ok(Math.abs(report.overall.delta - 1 / 3) < 1e-12);
  assert.deepEqual(report.rows.find((r) => r.queryId === "te1")?.templates, ["tr1"]);
  // Each scored query was asked twice; the guided prompt carries the template text.
  const guided = fake.requestsFor("student").filter((r) => JSON.stringify(r.body).includes("Thought templates"));
  assert.ok(
    guided.some((r) => JSON.stringify(r.body).includes("Reasoning steps: add the two groups; then box the sum.")),
  );
  store.close();
});
