import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { OpenAIChatClient } from "../../src/llm/client.ts";
import { parseProviders } from "../../src/llm/providers.ts";
import { buildTemplates } from "../../src/thought/build.ts";
import { TemplateIndex } from "../../src/thought/retrieve.ts";
import { LlmSummariser } from "../../src/thought/summarise.ts";
import { TemplateStore } from "../../src/thought/templates.ts";
import { fixtureStore } from "../distill/fixture.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";

let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI({
    models: {
      summ: {
        answers: {
          zebra:
            "Here it is.\n<template>Problem type: counting animals. Add the groups, then check the total. Answer format: \\boxed{n}.</template>",
          walrus: "<template>  </template>",
        },
        reply: "<template>Fallback.</template>",
      },
    },
  });
});
after(async () => fake.close());

function data() {
  return fixtureStore(
    [
      {
        id: "z",
        task: "count",
        split: "train",
        text: "A zebra herd has 3 zebras and 4 more join. How many?",
        answers: [
          { model: "m1", performance: 1, cost: 2, response: "3 + 4 = 7. \\boxed{7}" },
          { model: "m2", performance: 1, cost: 1, response: "Seven zebras: \\boxed{7}" },
          { model: "m3", performance: 0, cost: 1, response: "\\boxed{8}" },
        ],
      },
      {
        id: "w",
        task: "count",
        split: "train",
        text: "Two walrus pods of 5 each meet. How many walruses?",
        answers: [{ model: "m1", performance: 1, cost: 1, response: "\\boxed{10}" }],
      },
      {
        id: "n",
        task: "count",
        split: "train",
        text: "Nobody solved this one.",
        answers: [{ model: "m1", performance: 0, cost: 1, response: "\\boxed{0}" }],
      },
      { id: "t", task: "count", split: "test", text: "A zebra test question.", answers: [] },
    ],
    [
      { name: "m1", size: "7B" },
      { name: "m2", size: "7B" },
      { name: "m3", size: "7B" },
    ],
  );
}

test("thought build through a real OpenAI-protocol server: templates stored, failures counted, reruns resume", async () => {
  const store = data();
  const config = parseProviders(providersYaml(fake.url, ["summ"]), "providers.yaml");
  const client = new OpenAIChatClient(config, { backoff: { baseDelayMs: 5, maxDelayMs: 20 } });
  const embedder = new HashEmbedder(128);
  const opts = {
    dataset: "fx",
    split: "train" as const,
    rank: "hybrid" as const,
    k: 3,
    summariser: new LlmSummariser(client, "summ"),
    embedder,
    concurrency: 2,
  };
  const first = await buildTemplates(store, opts);
  assert.equal(first.set, "llm:summ+hybrid");
  assert.equal(first.queries, 3, "templates come from the train split only");
  assert.equal(first.built, 1);
  assert.equal(first.unusable, 1);
  assert.deepEqual(first.problems, [{ queryId: "w", problem: "empty <template> tags" }]);
  assert.equal(first.noSuccessfulResponse, 1);
  assert.ok(first.cost > 0, "summariser spend is accounted from token usage × price");

  // What the server received: the query and both successful responses (cheaper first), not the failure.
  const zebraCall = fake.requestsFor("summ").find((r) => JSON.stringify(r.body).includes("zebra herd"));
  assert.ok(zebraCall, "the zebra query reached the server");
  const user = (zebraCall.body.messages as Array<{ role: string; content: string }>)[1]?.content ?? "";
  assert.ok(user.indexOf("Seven zebras") < user.indexOf("3 + 4 = 7"));
  assert.ok(!user.includes("\\boxed{8}"));
  assert.equal(zebraCall.body.temperature, 0);

  const [t] = new TemplateStore(store).list("llm:summ+hybrid");
  assert.equal(t?.queryId, "z");
  assert.equal(
    t?.template,
    "Problem type: counting animals. Add the groups, then check the total. Answer format: \\boxed{n}.",
  );
  assert.deepEqual(
    t?.sources.map((s) => s.model),
    ["m2", "m1"],
  );
  assert.equal(t?.embedder, "hash-128");
  const [zv] = await embedder.embed(["A zebra herd has 3 zebras and 4 more join. How many?"]);
  assert.deepEqual(t?.embedding, zv);

  // Rerun after a 429: the stored template is skipped, the unusable one is asked again and now succeeds.
  fake.setModel("summ", {
    steps: [{ status: 429, retryAfter: 0 }, { reply: "<template>Multiply pods by pod size. Box it.</template>" }],
  });
  fake.reset();
  const second = await buildTemplates(store, opts);
  assert.equal(second.alreadyDone, 1);
  assert.equal(second.built, 1);
  assert.equal(second.unusable, 0);
  assert.deepEqual(
    fake.requestsFor("summ").map((r) => r.served),
    ["status 429", "ok"],
  );
  // The test query retrieves the zebra template first (same task, nearer text).
  const hits = await TemplateIndex.load(store, "llm:summ+hybrid", embedder).retrieve(
    "A zebra test question.",
    "count",
    3,
  );
  assert.deepEqual(
    hits.map((h) => h.queryId),
    ["z", "w"],
  );
  store.close();
});
