import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { csvLine } from "../fixtures/writers.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

/**
 * Malformed inputs: every case asserts the error message (file, line/row and field) and that the store is
 * exactly as before (rows of every table and the import log). Each store first holds real good data, so
 * "unchanged" is a real check, not an empty store staying empty.
 */

const FB = `${REPO}/test/fixtures/fusionbench`;
type Row = Record<string, unknown>;
const fbRows = (split = "train"): Row[] =>
  readFileSync(`${FB}/jsonl/${split}.jsonl`, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Row);

async function goodStore(): Promise<Store> {
  const store = new Store(tempDb());
  await importPath(store, `${FB}/csv`);
  await importPath(store, `${REPO}/test/fixtures/llmrouter-nq/arrays`);
  return store;
}

async function rejectsUnchanged(path: string, format: string | undefined, message: RegExp): Promise<void> {
  const store = await goodStore();
  const before = snapshot(store);
  await assert.rejects(importPath(store, path, { format }), (e: Error) => {
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(snapshot(store), before);
  store.close();
}

/** Writes rows as CSV and returns the line each row starts on (header = line 1), counted from the text written. */
function writeCsv(path: string, columns: string[], rows: Row[]): number[] {
  let line = 2;
  const starts: number[] = [];
  const body = rows.map((r) => {
    const text = csvLine(columns.map((c) => r[c] as string | number | null));
    starts.push(line);
    line += (text.match(/\n/g) ?? []).length;
    return text;
  });
  writeFileSync(path, csvLine(columns) + body.join(""));
  return starts;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("truncated JSON file: names the file and line, asks whether it is truncated", async () => {
  const dir = tempDir();
  cpSync(`${REPO}/data/routeprofile`, dir, { recursive: true });
  const file = join(dir, "route_data/routing_test_data.json");
  const text = readFileSync(file, "utf8");
  writeFileSync(file, text.slice(0, 100_000));
  const lines = text.slice(0, 100_000).split("\n").length;
  await rejectsUnchanged(
    dir,
    undefined,
    new RegExp(`${esc(file)}:line ${lines}: invalid JSON .*is the file truncated\\?`),
  );
});

test("bad JSON line in canonical JSONL: names the line", async () => {
  const file = join(tempDir(), "bad.jsonl");
  writeFileSync(
    file,
    [
      '{"kind":"model","name":"m","input_price":1,"output_price":1}',
      '{"kind":"query","dataset":"d","task":"t","text":"q"}',
      '{"kind":"outcome","query_id":',
    ].join("\n"),
  );
  await rejectsUnchanged(file, "fusionkit", new RegExp(`^${esc(file)}:line 3: invalid JSON line`));
});

test("CSV without the performance column: names the column", async () => {
  const file = join(tempDir(), "train.csv");
  const cols = ["task_name", "query", "llm", "input_price", "output_price", "input_tokens_num", "output_tokens_num"];
  writeCsv(file, cols, fbRows().slice(0, 4));
  await rejectsUnchanged(file, "fusionbench", new RegExp(`^${esc(file)}:line 1, field "performance": missing column`));
});

test("NaN performance in a FusionBench CSV: names the row's line and the field", async () => {
  const file = join(tempDir(), "train.csv");
  const rows = fbRows().slice(0, 12);
  (rows[7] as Row).performance = "nan";
  const cols = Object.keys(rows[0] as Row);
  const starts = writeCsv(file, cols, rows);
  assert.ok((starts[7] as number) > 9, "responses span several lines, so the line is not just row + 1");
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line ${starts[7]}, field "performance": expected a finite number, got NaN`),
  );
});

test("performance outside [0,1]", async () => {
  const file = join(tempDir(), "x.jsonl");
  writeFileSync(
    file,
    [
      '{"kind":"query","dataset":"fusionbench","task":"t","text":"q"}',
      '{"kind":"outcome","query_id":"abc","model":"gemma-2-9b-it","performance":1.5,"cost":0}',
    ].join("\n"),
  );
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line 2, field "performance": 1.5 is above the allowed maximum 1`),
  );
});

test("negative token count", async () => {
  const file = join(tempDir(), "partial_test.jsonl");
  const rows = fbRows("partial_test");
  (rows[3] as Row).output_tokens_num = -5;
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n"));
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line 4, field "output_tokens_num": -5 is below the allowed minimum 0`),
  );
});

test("wrong type: a word where a number belongs", async () => {
  const file = join(tempDir(), "x.jsonl");
  writeFileSync(file, '{"kind":"model","name":"m","input_price":"cheap","output_price":1}\n');
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line 1, field "input_price": expected a number, got string "cheap"`),
  );
});

test("missing query text in a RouterBench row", async () => {
  const dir = tempDir();
  const src = readFileSync(`${REPO}/test/fixtures/routerbench/csv/mmlu-anatomy.csv`, "utf8");
  // Blank the prompt of the third data row (MMLU rows are one line each: header is line 1, so line 4).
  const lines = src.split("\n");
  lines[3] = (lines[3] as string).replace(/^([^,]*),("[^"]*(?:""[^"]*)*"|[^,]*),/, "$1,,");
  writeFileSync(join(dir, "mmlu-anatomy.csv"), lines.join("\n"));
  await rejectsUnchanged(
    join(dir, "mmlu-anatomy.csv"),
    "routerbench",
    /mmlu-anatomy\.csv:line 4, field "prompt": missing value/,
  );
});

test("unknown model with no price: the store refuses at the end of the batch and rolls back", async () => {
  const file = join(tempDir(), "x.jsonl");
  writeFileSync(
    file,
    [
      '{"kind":"query","dataset":"mine","task":"t","text":"a new query","id":"q1"}',
      '{"kind":"outcome","query_id":"q1","model":"gemma-2-9b-it","performance":1,"input_tokens":3,"output_tokens":4}',
      '{"kind":"outcome","query_id":"q1","model":"mystery-llm","performance":1,"input_tokens":3,"output_tokens":4}',
    ].join("\n"),
  );
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line 3, field "model": unknown model "mystery-llm"`),
  );
});

test("RouterBench row without a cost for a model with no price names the model", async () => {
  const dir = tempDir();
  const file = join(dir, "gsm.csv");
  const cols = ["sample_id", "prompt", "eval_name", "m1", "m1|total_cost"];
  writeCsv(file, cols, [
    { sample_id: "a", prompt: "['What is 1+1?']", eval_name: "arith", m1: 1, "m1|total_cost": 0.001 },
    { sample_id: "b", prompt: "['What is 2+2?']", eval_name: "arith", m1: 1, "m1|total_cost": "" },
  ]);
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line 3, field "cost": no cost given and model "m1" has no price`),
  );
});

test("duplicate outcome with a different value (after other rows of the same import were written)", async () => {
  const file = join(tempDir(), "train.jsonl");
  const rows = fbRows();
  const k = 57;
  const r = rows[k] as Row;
  const perf =
    typeof r.performance === "string" ? Number(/[\d.]+(?=})/.exec(r.performance)?.[0]) : Number(r.performance);
  r.performance = perf === 1 ? 0 : 1;
  // A new query first, so the import has written rows before it meets the conflict: they must roll back.
  const fresh = { ...(rows[0] as Row), query: `${(rows[0] as Row).query} Answer briefly.` };
  writeFileSync(file, [fresh, ...rows].map((x) => JSON.stringify(x)).join("\n"));
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(
      `^${esc(file)}:line ${k + 2}, field "performance": duplicate outcome .*model "${esc(String(r.llm).replace(/_think$/, ""))}".* with a different value \\(performance ${perf} vs ${1 - perf}\\)`,
    ),
  );
});

test("FusionBench cost that is not tokens × price", async () => {
  const file = join(tempDir(), "train.jsonl");
  const rows = fbRows().slice(0, 10);
  (rows[2] as Row).cost = 0.5;
  writeFileSync(file, rows.map((x) => JSON.stringify(x)).join("\n"));
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:line 3, field "cost": cost 0.5 does not match tokens × price`),
  );
});

test("NQ parallel lists of different lengths", async () => {
  const file = join(tempDir(), "nq.json");
  const items = JSON.parse(
    readFileSync(`${REPO}/test/fixtures/llmrouter-nq/pylists/nq6_routing.json`, "utf8"),
  ) as Row[];
  (items[4] as Row).perf_list = "[0.0, 1.0]";
  writeFileSync(file, JSON.stringify(items));
  await rejectsUnchanged(
    file,
    undefined,
    new RegExp(`^${esc(file)}:item 5, field "perf_list": has 2 entries but llm_name_list has 6`),
  );
});

test("RouteLLM correctness cell that is not True/False names the model column", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "responses"));
  const file = join(dir, "responses", "mmlu_anatomy.csv");
  const src = readFileSync(`${REPO}/test/fixtures/routellm/mmlu/responses/mmlu_anatomy.csv`, "utf8");
  writeFileSync(file, src.replace('Answer:",True,True', 'Answer:",True,maybe'));
  await rejectsUnchanged(
    file,
    "routellm",
    new RegExp(`^${esc(file)}:line 2, field "gpt-4-1106-preview": expected True or False, got "maybe"`),
  );
});

test("empty file", async () => {
  const file = join(tempDir(), "train.csv");
  writeFileSync(file, "");
  await rejectsUnchanged(file, "fusionbench", new RegExp(`^${esc(file)}:line 1: the file is empty`));
  await rejectsUnchanged(file, undefined, /cannot tell the format of .*train\.csv; pass --format/);
});

test("Parquet file missing a column", async () => {
  const file = join(tempDir(), "train.parquet");
  const rows = fbRows().slice(0, 6);
  parquetWriteFile({
    filename: file,
    columnData: ["task_name", "query", "performance", "input_tokens_num"].map((c) => ({
      name: c,
      data: rows.map((r) => String(r[c])),
      type: "STRING" as const,
    })),
  });
  await rejectsUnchanged(
    file,
    "fusionbench",
    new RegExp(
      `^${esc(file)}:row 1, field "llm": missing column "llm" \\(the schema has: task_name, query, performance, input_tokens_num\\)`,
    ),
  );
});

test("unknown --format", async () => {
  await rejectsUnchanged(
    `${FB}/csv`,
    "fusionbnch",
    /^unknown format "fusionbnch" \(known: fusionbench, llmrouter, .*fusionkit\)/,
  );
});

test("CLI: bad input exits 2 with the message on stderr and leaves the store file unchanged", () => {
  const db = tempDb();
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [`${REPO}/bin/fusionkit.js`, ...args], { encoding: "utf8", cwd: REPO });
  assert.equal(run("import", `${FB}/csv`, "--db", db).status, 0);
  const s0 = new Store(db);
  const before = snapshot(s0);
  s0.close();

  const unknown = run("import", `${FB}/csv`, "--db", db, "--format", "csvv");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^fusionkit: unknown format "csvv"/);

  const file = join(tempDir(), "partial_test.jsonl");
  const rows = fbRows("partial_test");
  (rows[5] as Row).performance = "NaN";
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n"));
  const nan = run("import", file, "--db", db);
  assert.equal(nan.status, 2);
  assert.equal(nan.stderr.trim(), `fusionkit: ${file}:line 6, field "performance": expected a finite number, got NaN`);
  assert.equal(nan.stdout, "");

  const s1 = new Store(db);
  assert.deepEqual(snapshot(s1), before);
  s1.close();
});
