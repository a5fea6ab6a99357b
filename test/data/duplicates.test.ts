import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parsePath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

/**
 * Issue 8 case 7: a conflicting duplicate is an error naming both places (file:line of each, or the file and the
 * dataset it is already stored in), and nothing is written; an exact duplicate is fine.
 */

type Line = Record<string, unknown>;
const model: Line = { kind: "model", name: "m1", input_price: 1, output_price: 2 };
const query = (over: Line = {}): Line => ({
  kind: "query",
  id: "q1",
  dataset: "d",
  task: "gsm8k",
  text: "What is 2 + 2?",
  ground_truth: "4",
  split: "train",
  ...over,
});
const outcome: Line = {
  kind: "outcome",
  query_id: "q1",
  model: "m1",
  performance: 1,
  input_tokens: 5,
  output_tokens: 1,
};

function jsonl(dir: string, name: string, lines: Line[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
  return path;
}

/** Import the files as one unit into `store`; resolves to the error, asserting the store did not change. */
async function importFails(store: Store, paths: string[]): Promise<Error> {
  const before = snapshot(store);
  let error: Error | null = null;
  try {
    store.importBatches(await Promise.all(paths.map((p) => parsePath(p))));
  } catch (e) {
    error = e as Error;
  }
  assert.ok(error, "the import should have failed");
  assert.deepEqual(snapshot(store), before);
  return error;
}

for (const [field, over, shown] of [
  ["text", { text: "What is 3 + 3?" }, /"What is 3 \+ 3\?" here but "What is 2 \+ 2\?"/],
  ["split", { split: "test" }, /"test" here but "train"/],
  ["ground_truth", { ground_truth: "5" }, /"5" here but "4"/],
  ["task", { task: "mmlu" }, /"mmlu" here but "gsm8k"/],
] as const) {
  test(`the same query id twice in one file with a different ${field} names both lines`, async () => {
    const dir = tempDir();
    const file = jsonl(dir, "dup.jsonl", [model, query(), outcome, query(over)]);
    const store = new Store(tempDb());
    const e = await importFails(store, [file]);
    assert.match(e.message, new RegExp(`^${file}:line 4, field "${field}": query q1 has `));
    assert.match(e.message, shown);
    assert.match(e.message, new RegExp(`at ${file}:line 2$`));
    store.close();
  });
}

test("an id already stored with different text or task names the dataset it is stored in", async () => {
  const dir = tempDir();
  const store = new Store(tempDb());
  store.importBatch(await parsePath(jsonl(dir, "first.jsonl", [model, query(), outcome])));
  for (const [field, over] of [
    ["text", { text: "What is 5 + 5?" }],
    ["task", { task: "math" }],
  ] as const) {
    const file = jsonl(dir, `second-${field}.jsonl`, [query(over)]);
    const e = await importFails(store, [file]);
    assert.match(e.message, new RegExp(`^${file}:line 1, field "${field}": query q1 has `));
    assert.match(e.message, /in the store \(already stored in dataset "d"\)$/);
  }
  store.close();
});

test("a conflict between two files of one import names both files, and neither is stored", async () => {
  const dir = tempDir();
  const a = jsonl(dir, "a.jsonl", [model, query(), outcome]);
  const b = jsonl(dir, "b.jsonl", [query({ ground_truth: "four" })]);
  const store = new Store(tempDb());
  const e = await importFails(store, [a, b]);
  assert.match(e.message, new RegExp(`^${b}:line 1, field "ground_truth": .* at ${a}:line 2$`));
  assert.deepEqual(store.counts(), { models: 0, queries: 0, outcomes: 0 });
  store.close();
});

test("a duplicate outcome with another performance names both lines", async () => {
  const dir = tempDir();
  const file = jsonl(dir, "o.jsonl", [model, query(), outcome, { ...outcome, performance: 0 }]);
  const store = new Store(tempDb());
  const e = await importFails(store, [file]);
  assert.match(e.message, new RegExp(`^${file}:line 4, field "performance": .*than at ${file}:line 3\\)?$`));
  store.close();
});

test("a FusionBench query with two ground truths names both rows", async () => {
  const src = readFileSync(join(REPO, "test/fixtures/fusionbench/jsonl/train.jsonl"), "utf8").trim().split("\n");
  const rows = src.map((l) => JSON.parse(l) as Line);
  // The second row of the first query (another LLM answering it) carries another ground truth.
  const first = rows[0] as Line;
  const i = rows.findIndex((r, k) => k > 0 && r.query === first.query);
  assert.ok(i > 0, "the fixture has a query answered by two LLMs");
  rows[i] = { ...rows[i], ground_truth: "a different answer" };
  const dir = tempDir();
  const file = join(dir, "train.jsonl");
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
  const store = new Store(tempDb());
  const e = await importFails(store, [file]);
  assert.match(e.message, new RegExp(`^${file}:line ${i + 1}, field "ground_truth": .* at ${file}:line 1$`));
  store.close();
});

test("exact duplicates stay fine: in one file, across files and against the store", async () => {
  const dir = tempDir();
  const file = jsonl(dir, "same.jsonl", [model, query(), outcome, query(), outcome, model]);
  const again = jsonl(dir, "again.jsonl", [query({ split: null, ground_truth: null }), outcome]);
  const store = new Store(tempDb());
  const [s1, s2] = store.importBatches([await parsePath(file), await parsePath(again)]);
  assert.equal(s1?.queriesAdded, 1);
  assert.equal(s1?.outcomesAdded, 1);
  assert.equal(s1?.outcomesUnchanged, 1);
  assert.equal(s2?.queriesUnchanged, 1);
  assert.equal(s2?.outcomesUnchanged, 1);
  const s3 = store.importBatch(await parsePath(file));
  assert.equal(s3.queriesUnchanged, 1);
  assert.equal(s3.outcomesUnchanged, 2);
  assert.deepEqual(store.counts(), { models: 1, queries: 1, outcomes: 1 });
  store.close();
});
