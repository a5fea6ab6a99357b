import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/data/errors.ts";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { resolveTemplateSet, TemplateIndex, templatePrompt } from "../../src/thought/retrieve.ts";
import { TemplateStore, type ThoughtTemplate } from "../../src/thought/templates.ts";
import { fixtureStore } from "../distill/fixture.ts";

const embedder = new HashEmbedder(256);

const TEXTS: Record<string, [task: string, text: string]> = {
  a1: ["arith", "How many apples does Tom have after buying seven more apples?"],
  a2: ["arith", "What is the capital city of France and its population?"],
  a3: ["arith", "How many apples does Tom have if he gives away three apples?"],
  b1: ["geo", "How many apples does Anna have after buying seven more apples at the market?"],
  b2: ["geo", "Which river flows through the capital city of Egypt?"],
};

async function setup() {
  const store = fixtureStore(
    Object.entries(TEXTS).map(([id, [task, text]]) => ({ id, task, text, split: "train" as const, answers: [] })),
    [],
  );
  const ts = new TemplateStore(store);
  const vectors = await embedder.embed(Object.values(TEXTS).map(([, t]) => t));
  Object.entries(TEXTS).forEach(([id, [task]], i) => {
    const t: ThoughtTemplate = {
      set: "s",
      queryId: id,
      dataset: "fx",
      task,
      template: `template of ${id}`,
      summariser: "extractive",
      rankBy: "performance",
      sources: [],
      embedder: embedder.name,
      embedding: vectors[i] as Float32Array,
      cost: 0,
      createdAt: "2026-01-01T00:00:00Z",
    };
    ts.put(t);
  });
  return store;
}

test("retrieval: same task first, then cosine similarity; the query's own template is excluded", async () => {
  const store = await setup();
  const index = TemplateIndex.load(store, "s", embedder);
  assert.equal(index.templates.length, 5);
  const q = "How many apples does Tom have after buying seven more apples?";
  const hits = await index.retrieve(q, "arith", 4, "a1");
  // Same task (arith) first: a3 (apples) before a2 (capital); then geo by cosine: b1 (apples) before b2.
  assert.deepEqual(
    hits.map((h) => h.queryId),
    ["a3", "a2", "b1", "b2"],
  );
  assert.ok(hits.every((h, i) => i < 2 === h.sameTask));
  assert.ok((hits[0]?.similarity ?? 0) > (hits[1]?.similarity ?? 0));
  // b1 is nearer than a2 by cosine, yet a2 ranks higher because it is the same task.
  assert.ok((hits[2]?.similarity ?? 0) > (hits[1]?.similarity ?? 0));
  // Without a task, cosine alone: a1 (identical text) first, then the other apple questions.
  const free = await index.retrieve(q, null, 3);
  assert.deepEqual(
    free.map((h) => h.queryId),
    ["a1", "b1", "a3"],
  );
  assert.ok(Math.abs((free[0]?.similarity ?? 0) - 1) < 1e-5);
  store.close();
});

test("retrieval refuses a different embedder and resolves the template set", async () => {
  const store = await setup();
  assert.throws(() => TemplateIndex.load(store, "s", new HashEmbedder(128)), /pass --embedder hash-256/);
  assert.equal(resolveTemplateSet(store, undefined).templates, 5);
  assert.throws(() => resolveTemplateSet(store, "nope"), UsageError);
  store.close();
});

test("prompt assembly: templates as numbered guidance, then the task prompt unchanged", () => {
  const msgs = templatePrompt("Q: 2+2? Put the answer in \\boxed{}.", [
    { queryId: "x", task: "t", template: "Add the numbers.", similarity: 0.9, sameTask: true },
    { queryId: "y", task: "t", template: "Box the result.", similarity: 0.8, sameTask: true },
  ]);
  assert.equal(msgs.length, 1);
  const content = msgs[0]?.content ?? "";
  assert.match(content, /^Thought templates distilled from how strong models solved similar problems/);
  assert.match(
    content,
    /Template 1: Add the numbers\.\nTemplate 2: Box the result\.\n\nQ: 2\+2\? Put the answer in \\boxed\{\}\.$/,
  );
  assert.deepEqual(templatePrompt("plain", []), [{ role: "user", content: "plain" }]);
});
