import assert from "node:assert/strict";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { fusionbenchImporter, parsePerformance, stripThinkSuffix } from "../../src/data/importers/fusionbench.ts";
import { detectImporter } from "../../src/data/importers/index.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

const FIX = `${REPO}/test/fixtures/fusionbench`;

test("FusionBench: Parquet, CSV and JSONL of the same rows give identical stores", async () => {
  const snaps = [];
  for (const kind of ["parquet", "csv", "jsonl"]) {
    const store = new Store(tempDb());
    const s = await importPath(store, `${FIX}/${kind}`);
    assert.equal(s.format, "fusionbench", kind);
    // 12 real RouteProfile queries × 5 FusionBench LLMs × (direct, think); 2 split files.
    assert.deepEqual([s.queriesAdded, s.outcomesAdded, s.modelsAdded], [12, 120, 5], kind);
    snaps.push(snapshot(store));
    store.close();
  }
  assert.deepEqual(snaps[1], snaps[0]);
  assert.deepEqual(snaps[2], snaps[0]);
});

test("FusionBench quirks: _think rows join their query, pass@1 text, splits from file names, cost", async () => {
  const store = new Store(tempDb());
  await importPath(store, `${FIX}/parquet`);
  const queries = store.queries();
  assert.equal(queries.filter((q) => q.split === "train").length, 8);
  assert.equal(queries.filter((q) => q.split === "test").length, 4); // partial_test.parquet
  for (const q of queries) assert.doesNotMatch(q.text, /think step by step/i);

  const q = queries.find((x) => x.task === "mbpp") as (typeof queries)[number];
  assert.equal(q.domain, "Code");
  const outs = store.outcomesForQuery(q.id);
  assert.equal(outs.length, 10);
  const direct = outs.find((o) => o.model === "gemma-2-9b-it" && o.mode === "direct");
  const think = outs.find((o) => o.model === "gemma-2-9b-it" && o.mode === "think");
  assert.ok(direct && think);
  // The think prompt is longer by the suffix's tokens; cost = tokens × $0.10 per 1M both ways.
  assert.ok((think.inputTokens as number) > (direct.inputTokens as number));
  for (const o of [direct, think])
    assert.ok(Math.abs(o.cost - (0.1 * (o.inputTokens as number) + 0.1 * (o.outputTokens as number)) / 1e6) < 1e-15);
  // mbpp performance was the text {'pass@1': x} in every file.
  assert.ok(outs.every((o) => o.performance === 0 || o.performance === 1));
  assert.deepEqual(
    store.models().map((m) => [m.name, m.inputPrice]),
    [
      ["gemma-2-9b-it", 0.1],
      ["llama-3.1-8b-instruct", 0.2],
      ["mixtral-8x22b-instruct-v0.1", 1.2],
      ["mixtral-8x7b-instruct-v0.1", 0.6],
      ["qwen2.5-7b-instruct", 0.2],
    ],
  );
  // Re-importing the same files changes nothing.
  const before = snapshot(store);
  const again = await importPath(store, `${FIX}/csv`);
  assert.equal(again.outcomesAdded, 0);
  assert.equal(again.outcomesUnchanged, 120);
  assert.deepEqual(snapshot(store), before);
  store.close();
});

test("FusionBench: single file, detection, helpers", async () => {
  const store = new Store(tempDb());
  const s = await importPath(store, `${FIX}/jsonl/partial_test.jsonl`);
  assert.deepEqual([s.queriesAdded, s.outcomesAdded], [4, 40]);
  store.close();
  for (const p of [`${FIX}/parquet`, `${FIX}/csv/train.csv`, `${FIX}/jsonl/train.jsonl`])
    assert.equal((await detectImporter(p)).format, "fusionbench", p);
  assert.equal(await fusionbenchImporter.detect(`${REPO}/data/llmrouter`), false);
  assert.equal(stripThinkSuffix("What is 2+2? Let's think step by step."), "What is 2+2?");
  assert.equal(stripThinkSuffix("What is 2+2?\nLet’s think step by step"), "What is 2+2?");
  const loc = { file: "x.csv", line: 2 };
  assert.equal(parsePerformance("{'pass@1': 0.25}", loc), 0.25);
  assert.equal(parsePerformance("0.5", loc), 0.5);
  assert.throws(() => parsePerformance("{'pass@1': 1.5}", loc), /x\.csv:line 2, field "performance": 1\.5 is above/);
});
