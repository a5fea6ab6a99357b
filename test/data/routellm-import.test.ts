import assert from "node:assert/strict";
import { test } from "node:test";
import { costOf } from "../../src/data/cost.ts";
import { importPath } from "../../src/data/import.ts";
import { detectImporter } from "../../src/data/importers/index.ts";
import { Store } from "../../src/data/store.ts";
import { gpt2Tokens } from "../../src/data/tokens.ts";
import { REPO, tempDb } from "../helpers.ts";

const FIX = `${REPO}/test/fixtures/routellm`;
const GPT4 = "gpt-4-1106-preview";
const MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1";

test("RouteLLM folder: MMLU per subject + GSM8K, contaminated prompts excluded, GSM8K ground truth joined", async () => {
  assert.equal((await detectImporter(FIX)).format, "routellm");
  const store = new Store(tempDb());
  const s = await importPath(store, FIX);
  // 10 + 10 MMLU rows minus 1 contaminated; 20 GSM8K rows minus 4 contaminated.
  assert.deepEqual([s.queriesAdded, s.outcomesAdded, s.modelsAdded], [19 + 16, 70, 2]);
  const byTask = new Map<string, number>();
  for (const q of store.queries()) byTask.set(q.task, (byTask.get(q.task) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(byTask), { gsm8k: 16, mmlu_anatomy: 10, mmlu_machine_learning: 9 });
  assert.ok(store.queries().every((q) => q.split === null));
  assert.ok(!store.queries().some((q) => q.text.startsWith("Janet’s ducks"))); // GSM8K row 1 is contaminated

  // GSM8K: answers and ground truth present; cost counts prompt and response tokens at list prices.
  const g = store.queries().find((q) => q.task === "gsm8k");
  assert.match(g?.groundTruth ?? "", /####/);
  const o = store.outcomesForQuery(g?.id ?? "").find((x) => x.model === GPT4);
  assert.ok(o?.response);
  assert.equal(o?.inputTokens, gpt2Tokens(g?.text ?? ""));
  assert.equal(o?.outputTokens, gpt2Tokens(o?.response ?? ""));
  assert.equal(o?.cost, costOf(10, 30, o?.inputTokens ?? 0, o?.outputTokens ?? 0));

  // MMLU: no responses, so prompt-only cost; first anatomy row is True for both models.
  const m = store.queries().find((q) => q.task === "mmlu_anatomy");
  assert.equal(m?.domain, "World Knowledge");
  const mo = store.outcomesForQuery(m?.id ?? "");
  assert.deepEqual(
    mo.map((x) => [x.model, x.performance, x.outputTokens]),
    [
      [GPT4, 1, null],
      [MIXTRAL, 1, null],
    ],
  );
  assert.equal(mo[1]?.cost, (0.6 * gpt2Tokens(m?.text ?? "")) / 1e6);
  store.close();
});

test("RouteLLM: one subject CSV imports alone and is detected", async () => {
  const file = `${FIX}/mmlu/responses/mmlu_machine_learning.csv`;
  assert.equal((await detectImporter(file)).format, "routellm");
  const store = new Store(tempDb());
  const s = await importPath(store, file);
  assert.deepEqual([s.queriesAdded, s.outcomesAdded], [9, 18]); // contaminated list found in the parent folder
  store.close();
});
