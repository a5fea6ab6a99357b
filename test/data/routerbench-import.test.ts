import assert from "node:assert/strict";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { detectImporter } from "../../src/data/importers/index.ts";
import { promptText } from "../../src/data/importers/routerbench.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

const FIX = `${REPO}/test/fixtures/routerbench`;

test("RouterBench: a folder of CSVs and the Parquet file give the same store", async () => {
  const snaps = [];
  for (const p of [`${FIX}/csv`, `${FIX}/parquet/routerbench.parquet`]) {
    assert.equal((await detectImporter(p)).format, "routerbench", p);
    const store = new Store(tempDb());
    const s = await importPath(store, p);
    assert.deepEqual([s.queriesAdded, s.outcomesAdded, s.modelsAdded], [20, 40, 2], p);
    snaps.push(snapshot(store));
    store.close();
  }
  // Row order differs (the folder is read file by file), so compare sorted.
  const sortQ = (s: ReturnType<typeof snapshot>) => ({
    ...s,
    queries: [...s.queries].sort((a, b) => a.id.localeCompare(b.id)),
    outcomes: [...s.outcomes].sort((a, b) => `${a.queryId}${a.model}`.localeCompare(`${b.queryId}${b.model}`)),
  });
  assert.deepEqual(sortQ(snaps[1] as ReturnType<typeof snapshot>), sortQ(snaps[0] as ReturnType<typeof snapshot>));
});

test("RouterBench: eval_name is the task, the prompt list is unwrapped, costs and responses kept", async () => {
  const store = new Store(tempDb());
  await importPath(store, `${FIX}/csv`);
  const tasks = new Set(store.queries().map((q) => q.task));
  assert.deepEqual([...tasks].sort(), ["grade-school-math", "mmlu-anatomy"]);
  const q = store.queries().find((x) => x.task === "mmlu-anatomy");
  assert.ok(q?.text.startsWith("Where is the sinoatrial node located?\nA. "));
  const outs = store.outcomesForQuery(q?.id ?? "");
  assert.equal(outs.find((o) => o.model === "gpt-4-1106-preview")?.cost, 0.00066);
  const gsm = store.queries().find((x) => x.task === "grade-school-math");
  assert.ok(store.outcomesForQuery(gsm?.id ?? "").every((o) => (o.response ?? "").length > 0));
  assert.ok(store.models().every((m) => m.inputPrice === null)); // RouterBench publishes costs, not prices
  store.close();
  assert.equal(promptText("['a', 'b']"), "a\n\nb");
  assert.equal(promptText("[1] is a citation"), "[1] is a citation");
});
