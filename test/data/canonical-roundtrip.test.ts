import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { exportCanonical } from "../../src/data/export.ts";
import { queryId } from "../../src/data/ids.ts";
import { importPath } from "../../src/data/import.ts";
import { detectImporter } from "../../src/data/importers/index.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

const rows = (s: Store) => {
  const { imports: _imports, ...rest } = snapshot(s);
  return rest;
};

test("canonical JSONL: export → import into a fresh store round-trips exactly; re-export is byte-identical", async () => {
  const dir = tempDir();
  const a = new Store(tempDb());
  // Real data covering every field: responses and tokens (RouteProfile), think mode, splits and task descriptions
  // (FusionBench layout), unknown input tokens and provider-prefixed names (NQ).
  await importPath(a, `${REPO}/data/routeprofile`);
  await importPath(a, `${REPO}/test/fixtures/fusionbench/parquet`);
  await importPath(a, `${REPO}/test/fixtures/llmrouter-nq/arrays`);
  // A catalog model without outcomes (FusionBench's deepseek-r1 price) must round-trip too.
  const catalog = join(dir, "catalog.jsonl");
  writeFileSync(catalog, '{"kind":"model","name":"deepseek-r1","input_price":0.55,"output_price":2.19}\n');
  await importPath(a, catalog);
  const first = join(dir, "all.jsonl");
  const exported = await exportCanonical(a, first);
  assert.deepEqual(exported, a.counts());

  assert.equal((await detectImporter(first)).format, "fusionkit");
  const b = new Store(tempDb());
  const s = await importPath(b, first);
  assert.equal(s.format, "fusionkit");
  assert.equal(s.dataset, "routeprofile,fusionbench,llmrouter-nq");
  assert.deepEqual(rows(b), rows(a));

  const second = join(dir, "again.jsonl");
  await exportCanonical(b, second);
  assert.equal(readFileSync(second, "utf8"), readFileSync(first, "utf8"));
  // Importing the export into the store it came from changes nothing.
  const before = snapshot(a);
  const again = await importPath(a, first);
  assert.equal(again.outcomesAdded, 0);
  assert.deepEqual(snapshot(a), before);
  a.close();
  b.close();
});

test("canonical JSONL: hand-written file without ids or costs; ids and costs are computed", async () => {
  const file = join(tempDir(), "mine.jsonl");
  writeFileSync(
    file,
    [
      { kind: "model", name: "m1", input_price: 1, output_price: 2 },
      { kind: "query", dataset: "mine", task: "qa", text: "What is 2+2?", ground_truth: "4", split: "test" },
      {
        kind: "outcome",
        query_id: queryId("mine", "qa", "What is 2+2?", "test"),
        model: "m1",
        mode: "think",
        performance: 1,
        input_tokens: 100,
        output_tokens: 50,
      },
    ]
      .map((l) => JSON.stringify(l))
      .join("\n"),
  );
  const store = new Store(tempDb());
  await importPath(store, file);
  const [o] = store.outcomes();
  assert.equal(o?.cost, (100 * 1 + 50 * 2) / 1e6);
  assert.equal(o?.mode, "think");
  assert.equal(store.queries()[0]?.split, "test");
  store.close();
});

test("fusionkit export CLI: --dataset and --split select what is written", () => {
  const db = tempDb();
  const out = join(tempDir(), "test.jsonl");
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [`${REPO}/bin/fusionkit.js`, ...args], { encoding: "utf8", cwd: REPO });
  const imp = run(
    "import",
    `${REPO}/test/fixtures/fusionbench/csv`,
    `${REPO}/test/fixtures/llmrouter-nq/arrays`,
    "--db",
    db,
  );
  assert.equal(imp.status, 0, imp.stderr);
  const r = run("export", "--db", db, "--dataset", "fusionbench", "--split", "test", "--out", out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${out}: 5 models, 4 queries, 40 outcomes`);
  const kinds = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { kind: string }).kind);
  assert.deepEqual([kinds.length, kinds.filter((k) => k === "query").length], [5 + 4 + 40, 4]);
  const bad = run("export", "--db", db, "--dataset", "nope", "--out", out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /dataset "nope" is not in/);
});
