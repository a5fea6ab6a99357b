import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb } from "../helpers.ts";
import { runCli } from "../support/cli.ts";

/**
 * Issue 8 cases 2 and 6: writers on one store wait for each other instead of failing with SQLITE_BUSY.
 * Real `fusionkit import` processes against one SQLite file, and a second connection holding the write lock.
 */

const ROUTEPROFILE = join(REPO, "data/routeprofile");

function counts(db: string) {
  const store = new Store(db);
  try {
    return store.counts();
  } finally {
    store.close();
  }
}

test("three imports of the same data at once all succeed and store it once", async () => {
  const db = tempDb();
  const runs = await Promise.all([1, 2, 3].map(() => runCli(["import", ROUTEPROFILE, "--db", db, "--json"])));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const added = runs.map((r) => (JSON.parse(r.stdout) as Array<{ outcomesAdded: number }>)[0]?.outcomesAdded);
  // Exactly one process wrote the rows; the others found them stored and unchanged.
  assert.deepEqual(
    added.filter((n) => n === 4800),
    [4800],
  );
  assert.deepEqual(counts(db), { models: 8, queries: 600, outcomes: 4800 });
});

test("two imports of different data into a new file at once both land", async () => {
  const db = tempDb();
  const [a, b] = await Promise.all([
    runCli(["import", ROUTEPROFILE, "--db", db]),
    runCli(["import", join(REPO, "test/fixtures/fusionbench/csv"), "--db", db]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const store = new Store(db);
  assert.deepEqual(store.datasets(), ["fusionbench", "routeprofile"]);
  store.close();
});

/** The pid's open files include `path` (Linux /proc): the importer has opened the store. */
function hasOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false; // closed while listing
      }
    });
  } catch {
    return false; // exited
  }
}

test("an import waits while another connection holds the write lock, then lands", async () => {
  const db = tempDb();
  new Store(db).close(); // the schema exists, so the holder below can lock without racing the creator
  const holder = new Database(db);
  holder.exec("BEGIN IMMEDIATE; INSERT INTO models (name, input_price, output_price) VALUES ('holder', 1, 1);");
  const child = spawn(process.execPath, ["bin/fusionkit.js", "import", ROUTEPROFILE, "--db", db], {
    cwd: REPO,
    env: { ...process.env, FUSIONKIT_DB: "" },
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on("exit", (code) => resolve({ code, at: Date.now() })),
  );
  // Wait until the importer has the store open (it parses the 600 queries in well under a second after), then
  // hold the lock 8 s more: longer than SQLite's usual 5 s busy timeout, so only a real wait lets it through.
  const deadline = Date.now() + 60_000;
  while (!hasOpen(child.pid as number, db) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(hasOpen(child.pid as number, db), `the importer never opened the store: ${stderr}`);
  await new Promise((r) => setTimeout(r, 8_000));
  holder.exec("COMMIT");
  const committed = Date.now();
  holder.close();
  const r = await exited;
  assert.equal(r.code, 0, stderr);
  assert.ok(r.at >= committed, "the import ended before the lock was released");
  assert.deepEqual(counts(db), { models: 9, queries: 600, outcomes: 4800 });
});
