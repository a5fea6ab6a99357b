import assert from "node:assert/strict";
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseCsv } from "csv-parse/sync";
import { Store } from "../../src/data/store.ts";
import { csvLine } from "../fixtures/writers.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { runCli } from "../support/cli.ts";

/**
 * Issue 8 case 10: whatever goes wrong reading an input is a clean error naming the file, exit 2, no stack
 * trace; "cannot tell the format" is kept for readable files of an unknown format; and a failing file among
 * several leaves the store without any of them.
 */

const FB = join(REPO, "test/fixtures/fusionbench");

function assertClean(r: { code: number | null; stderr: string }, file: string, problem: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const line = r.stderr.trim();
  assert.ok(line.startsWith(`fusionkit: ${file}`), line);
  assert.match(line, problem);
  assert.doesNotMatch(r.stderr, /\n\s+at |SqliteError|TypeError|RangeError/);
}

test("a Parquet file with corrupted data pages (footer intact) is an error naming it", async () => {
  const dir = tempDir();
  const bytes = readFileSync(join(FB, "parquet/train.parquet"));
  // Overwrite the start of the data (after the 4-byte magic), far from the footer at the end.
  for (let i = 8; i < Math.min(4000, bytes.length - 2000); i++) bytes[i] = (i * 7919) & 0xff;
  const file = join(dir, "train.parquet");
  writeFileSync(file, bytes);
  const r = await runCli(["import", file, "--format", "fusionbench", "--db", tempDb()]);
  assertClean(r, file, /corrupted Parquet data|cannot be read as fusionbench/);
});

test("a symlink loop given with --format names the file and the loop", async () => {
  const dir = tempDir();
  const a = join(dir, "a.csv");
  symlinkSync(join(dir, "b.csv"), a);
  symlinkSync(a, join(dir, "b.csv"));
  for (const args of [["--format", "fusionbench"], []]) {
    const r = await runCli(["import", a, ...args, "--db", tempDb()]);
    assertClean(r, a, /cannot read \(too many levels of symbolic links/);
  }
});

test("a folder given to a file format names the folder", async () => {
  const dir = tempDir();
  const r = await runCli(["import", dir, "--format", "fusionkit", "--db", tempDb()]);
  assertClean(r, dir, /cannot read \(is a folder, expected a file\)/);
});

test("a file that does not exist is said to not exist, with or without --format", async () => {
  const missing = join(tempDir(), "nope.csv");
  for (const args of [["--format", "fusionbench"], []]) {
    const r = await runCli(["import", missing, ...args, "--db", tempDb()]);
    assertClean(r, missing, /cannot read \(no such file or folder\)/);
    assert.doesNotMatch(r.stderr, /cannot tell the format/);
  }
});

test("a readable file of an unknown format still asks for --format", async () => {
  const file = join(tempDir(), "notes.csv");
  writeFileSync(file, "a,b\n1,2\n");
  const r = await runCli(["import", file, "--db", tempDb()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot tell the format of .*notes\.csv; pass --format/);
});

test("import good.csv bad.csv stores nothing", async () => {
  const dir = tempDir();
  const good = join(dir, "train.csv");
  copyFileSync(join(FB, "csv/train.csv"), good);
  // The second file: the fixture's test split with a performance of 2 on its first row (line 2).
  const rows = parseCsv(readFileSync(join(FB, "csv/partial_test.csv"), "utf8"), { bom: true }) as string[][];
  const header = rows[0] as string[];
  const first = [...(rows[1] as string[])];
  first[header.indexOf("performance")] = "2";
  const bad = join(dir, "partial_test.csv");
  writeFileSync(bad, csvLine(header) + csvLine(first));
  const db = tempDb();
  const r = await runCli(["import", good, bad, "--db", db]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${bad}:line 2, field "performance"`));
  const store = new Store(db);
  assert.deepEqual(store.counts(), { models: 0, queries: 0, outcomes: 0 });
  store.close();
  // The first file alone imports: the failure was the second file's.
  const ok = await runCli(["import", good, "--db", db]);
  assert.equal(ok.code, 0, ok.stderr);
});
