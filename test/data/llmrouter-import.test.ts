import assert from "node:assert/strict";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { loadRoutingTable } from "../../src/data/table.ts";
import { datasetStats } from "../../src/eval/stats.ts";
import { REPO, tempDb } from "../helpers.ts";

// The bundled data/llmrouter is the published folder unchanged, so this runs in CI (no ../shared needed).
test("LLMRouter folder: test split reproduces best single 0.563 (nemotron-51b) and oracle 0.743", async () => {
  const store = new Store(tempDb());
  const summary = await importPath(store, `${REPO}/data/llmrouter`);
  assert.equal(summary.format, "llmrouter");
  assert.equal(summary.queriesAdded, 5608 + 500);
  assert.equal(summary.outcomesAdded, (5608 + 500) * 9);
  const s = datasetStats(loadRoutingTable(store, { dataset: "llmrouter", split: "test" }));
  assert.equal(s.queries, 500);
  assert.equal(s.bestSingle.model, "llama-3.1-nemotron-51b-instruct");
  assert.ok(Math.abs(s.bestSingle.performance - 0.5626) < 0.001, `best single ${s.bestSingle.performance}`);
  assert.ok(Math.abs(s.oracle.performance - 0.7434) < 0.001, `oracle ${s.oracle.performance}`);
  assert.equal(Object.keys(s.perTask).length, 10);
  // Re-importing the same folder changes nothing.
  const again = await importPath(store, `${REPO}/data/llmrouter`);
  assert.equal(again.outcomesAdded, 0);
  assert.equal(again.outcomesUnchanged, (5608 + 500) * 9);
  store.close();
});
