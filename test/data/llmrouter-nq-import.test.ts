import assert from "node:assert/strict";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { detectImporter } from "../../src/data/importers/index.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

const FIX = `${REPO}/test/fixtures/llmrouter-nq`;

test("LLMRouter NQ: JSON arrays and Python list text give the same store", async () => {
  const snaps = [];
  for (const kind of ["arrays", "pylists"]) {
    assert.equal((await detectImporter(`${FIX}/${kind}`)).format, "llmrouter-nq");
    const store = new Store(tempDb());
    const s = await importPath(store, `${FIX}/${kind}/nq6_routing.json`);
    assert.deepEqual([s.queriesAdded, s.outcomesAdded, s.modelsAdded], [20, 120, 6]);
    snaps.push(snapshot(store));
    store.close();
  }
  assert.deepEqual(snaps[1], snaps[0]);
});

test("LLMRouter NQ: cost_list is millionths of a dollar; output tokens = cost / price", async () => {
  const store = new Store(tempDb());
  await importPath(store, `${FIX}/arrays`);
  const q = store.queries()[0];
  assert.equal(q?.text, "when does a wrinkle in time come out in canada?");
  assert.equal(q?.task, "natural_qa");
  assert.equal(q?.groundTruth, JSON.stringify(["March 9, 2018"]));
  const outs = store.outcomesForQuery(q?.id ?? "");
  const qwen = outs.find((o) => o.model === "qwen/qwen2.5-7b-instruct");
  // First item: qwen answered "<answer>1962</answer>" with cost_list 3.0 at $0.30 per 1M → 10 tokens, $3e-6.
  assert.equal(qwen?.response, "<answer>1962</answer>");
  assert.equal(qwen?.cost, 3e-6);
  assert.equal(qwen?.outputTokens, 10);
  assert.equal(qwen?.performance, 0);
  assert.equal(outs.find((o) => o.model === "mistralai/mixtral-8x22b-instruct-v0.1")?.performance, 1);
  assert.deepEqual(store.model("meta/llama-3.1-8b-instruct")?.inputPrice, 0.18);
  store.close();
});
