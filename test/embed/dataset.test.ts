import assert from "node:assert/strict";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { loadRoutingTable } from "../../src/data/table.ts";
import { CachedEmbedder } from "../../src/embed/cache.ts";
import { dot } from "../../src/embed/embedder.ts";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { buildTrainingSet, toRouteQuery } from "../../src/routing/dataset.ts";
import { REPO, tempDb } from "../helpers.ts";

test("buildTrainingSet on bundled LLMRouter: aligned train/test columns, prices, embeddings, matrices", async () => {
  const store = new Store(tempDb());
  await importPath(store, `${REPO}/data/llmrouter`);
  const embedder = new HashEmbedder(256);
  const train = await buildTrainingSet(store, { dataset: "llmrouter", split: "train", embedder });
  const test_ = await buildTrainingSet(store, { dataset: "llmrouter", split: "test", embedder });

  assert.equal(train.queries.length, 5608);
  assert.equal(test_.queries.length, 500);
  assert.equal(train.candidates.length, 9);
  assert.deepEqual(
    test_.candidates.map((c) => c.key),
    train.candidates.map((c) => c.key),
  );
  for (const c of train.candidates) {
    assert.equal(c.mode, "direct");
    assert.ok(c.inputPrice !== null && c.inputPrice > 0, `${c.key} has an input price`);
  }
  // Matrices are exactly the routing table's, in the same column order.
  const table = loadRoutingTable(
    store,
    { dataset: "llmrouter", split: "test" },
    test_.candidates.map((c) => c.key),
  );
  assert.deepEqual([...test_.performance], [...table.performance]);
  assert.deepEqual([...test_.cost], [...table.cost]);
  assert.equal(test_.judge, null, "LLMRouter has no judge scores");
  assert.equal(test_.queryIds[0], table.queries[0].id);
  // LLMRouter ships a description ("feature") per model; each gets an embedding.
  assert.equal(test_.descriptionEmbeddings.length, 9);
  assert.ok(test_.descriptionEmbeddings.every((v) => v !== null && v.length === 256));

  const q = test_.queries[0];
  assert.equal(q.text, table.queries[0].text);
  assert.ok(q.task && q.task.length > 0);
  assert.equal(q.embedding.length, 256);
  assert.ok(Math.abs(dot(q.embedding, q.embedding) - 1) < 1e-5);
  const tasks = new Set(test_.queries.map((x) => x.task));
  assert.equal(tasks.size, 10);
  assert.ok(test_.queries.some((x) => x.domain === "Math"));

  // The embeddings went through the store's cache: building again embeds nothing.
  const counting = new CachedEmbedder(embedder, store);
  await buildTrainingSet(store, { dataset: "llmrouter", split: "test", embedder: counting });
  assert.equal(counting.embedded, 0);
  store.close();
});

test("toRouteQuery embeds one text and fills the domain from the task", async () => {
  const e = new HashEmbedder(128);
  const q = await toRouteQuery("What is 12 * 7?", { task: "gsm8k" }, e);
  assert.equal(q.domain, "Math");
  assert.equal(q.task, "gsm8k");
  assert.deepEqual([...q.embedding], [...(await e.embed(["What is 12 * 7?"]))[0]]);
  const bare = await toRouteQuery("hello", {}, e);
  assert.equal(bare.task, null);
  assert.equal(bare.domain, null);
});

test("buildTrainingSet names what is missing when the store has no such data", async () => {
  const store = new Store(tempDb());
  await assert.rejects(
    buildTrainingSet(store, { dataset: "nope", embedder: new HashEmbedder(64) }),
    /no outcomes in .*dataset "nope"/,
  );
  store.close();
});

test("buildTrainingSet: judge matrix from outcomes that carry one, think-mode candidates, fixed column order", async () => {
  const store = new Store(tempDb());
  const loc = { file: "hand-made", line: 1 };
  store.importBatch({
    format: "test",
    dataset: "tiny",
    files: ["hand-made"],
    models: [
      { name: "m-a", inputPrice: 1, outputPrice: 2, description: "a small model", loc },
      { name: "m-b", inputPrice: 3, outputPrice: 4, loc },
    ],
    queries: [
      { id: "q1", dataset: "tiny", task: "gsm8k", text: "What is 2 + 2?", split: "train", loc },
      {
        id: "q2",
        dataset: "tiny",
        task: "mmlu",
        text: "Capital of Peru?",
        split: "train",
        taskDescription: "multiple choice",
        loc,
      },
    ],
    outcomes: [
      { queryId: "q1", model: "m-a", mode: "direct", performance: 1, cost: 0.1, judge: 0.9, loc },
      { queryId: "q1", model: "m-a", mode: "think", performance: 1, cost: 0.5, loc },
      { queryId: "q2", model: "m-b", mode: "direct", performance: 0, cost: 0.2, judge: 0.25, loc },
    ],
  });
  const set = await buildTrainingSet(store, { dataset: "tiny", split: "train", embedder: new HashEmbedder(64) });
  assert.deepEqual(
    set.candidates.map((c) => [c.key, c.model, c.mode, c.inputPrice]),
    [
      ["m-a", "m-a", "direct", 1],
      ["m-a_think", "m-a", "think", 1],
      ["m-b", "m-b", "direct", 3],
    ],
  );
  const nan = Number.NaN;
  assert.deepEqual([...set.performance], [1, 1, nan, nan, nan, 0]);
  assert.deepEqual([...set.cost], [0.1, 0.5, nan, nan, nan, 0.2]);
  assert.deepEqual([...(set.judge ?? [])], [0.9, nan, nan, nan, nan, 0.25]);
  assert.equal(set.queries[1].taskDescription, "multiple choice");
  assert.equal(set.queries[1].domain, "World Knowledge");
  assert.equal(set.descriptionEmbeddings[0]?.length, 64);
  assert.equal(set.descriptionEmbeddings[2], null, "m-b has no description");

  const reordered = await buildTrainingSet(store, {
    dataset: "tiny",
    embedder: new HashEmbedder(64),
    candidates: ["m-b", "m-a"],
  });
  assert.deepEqual([...reordered.performance], [nan, 1, 0, nan]);
  store.close();
});
