import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import {
  DIALECTS,
  LATEST_VERSION,
  MIGRATIONS,
  pendingMigrations,
  sqliteSchemaVersion,
} from "../../src/data/migrations.ts";
import { Store } from "../../src/data/store.ts";
import { EmbeddingCache } from "../../src/embed/cache-table.ts";
import { textHash } from "../../src/embed/embedder.ts";
import { loadRouterFromStore } from "../../src/routing/artifacts.ts";
import { ApiKeys } from "../../src/serve/keys.ts";
import { FUSIONKIT_VERSION } from "../../src/version.ts";
import { REPO, tempDb } from "../helpers.ts";

/**
 * Issue 11 item 4: the store has a schema version and ordered migrations. test/fixtures/store-v0 was written by
 * FusionKit before versioning (commit cbd566f, see its build.ts); today's code must open it, upgrade it and find
 * every row it held: datasets, queries, outcomes, the import log, embeddings, client keys, gateway exchanges and
 * a router artifact.
 */

const FIXTURE = join(REPO, "test/fixtures/store-v0");
const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8"));

/** A copy of the fixture (opening it migrates it; the committed file stays as the old code wrote it). */
function oldStore(): string {
  const db = tempDb();
  copyFileSync(join(FIXTURE, "store-v0.db"), db);
  return db;
}

test("the fixture is a store from before versioning", () => {
  const db = new Database(join(FIXTURE, "store-v0.db"), { readonly: true });
  assert.equal(sqliteSchemaVersion(db), 0);
  db.close();
});

test("a store written by the previous release opens, is upgraded, and holds all its data", async () => {
  const path = oldStore();
  const store = new Store(path);
  assert.equal(sqliteSchemaVersion(store.db), LATEST_VERSION);
  assert.deepEqual(store.datasets(), expected.datasets);
  assert.deepEqual(store.counts(), expected.counts);
  assert.deepEqual(store.models(), expected.models);
  assert.deepEqual(store.queries(), expected.queries);
  assert.deepEqual(store.outcomes(), expected.outcomes);
  assert.deepEqual(
    store.db.prepare("SELECT format, dataset, files, queries, outcomes_added FROM imports ORDER BY id").all(),
    expected.imports,
  );

  // Embeddings: the cached vectors, bit for bit.
  const cache = new EmbeddingCache(store);
  const found = cache.get(expected.embeddings.embedder, expected.embeddings.texts.map(textHash));
  expected.embeddings.texts.forEach((t: string, i: number) => {
    assert.deepEqual([...(found.get(textHash(t)) ?? [])], expected.embeddings.vectors[i]);
  });

  // Client keys (one revoked) and the gateway's exchanges.
  // Keys have gained fields since (limits); the ones the old release wrote must be intact.
  assert.deepEqual(
    new ApiKeys(store.db).list().map(({ id, name, prefix, createdAt, revokedAt }) => ({
      id,
      name,
      prefix,
      createdAt,
      revokedAt,
    })),
    expected.keys,
  );
  const rows = store.db
    .prepare<[], Record<string, unknown>>(
      "SELECT request_id, key_id, session, served_model, query, response, cost, stream, status FROM gateway_exchanges ORDER BY request_id",
    )
    .all();
  assert.deepEqual(
    rows,
    expected.exchanges.map((e: Record<string, unknown>) => ({
      request_id: e.requestId,
      key_id: e.keyId,
      session: e.session,
      served_model: e.servedModel,
      query: e.query,
      response: e.response,
      cost: e.cost,
      stream: e.stream ? 1 : 0,
      status: e.status,
    })),
  );

  // The router artifact saved in the store still loads (and passes today's validation).
  const router = loadRouterFromStore(store, expected.router.id);
  assert.equal(router.name, expected.router.name);
  assert.deepEqual(router.candidates, expected.router.candidates);
  store.close();

  // Reopening changes nothing and applies nothing twice.
  const again = new Store(path);
  assert.deepEqual(
    again.db.prepare("SELECT version FROM schema_migrations ORDER BY version").all(),
    MIGRATIONS.map((m) => ({ version: m.version })),
  );
  assert.deepEqual(again.counts(), expected.counts);
  again.close();
});

test("after the upgrade, imports go on: the new columns are written, the old rows keep their data", async () => {
  const store = new Store(oldStore());
  const { parsePath } = await import("../../src/data/import.ts");
  const s = store.importBatch(await parsePath(join(REPO, "data/routeprofile")));
  assert.ok(s.modelsAdded > 0); // RouteProfile's models beside the fixture's FusionBench ones
  const log = store.db
    .prepare<[], { dataset: string; fusionkit_version: string | null; models_added: number }>(
      "SELECT dataset, fusionkit_version, models_added FROM imports ORDER BY id",
    )
    .all();
  assert.deepEqual(log.at(-1), {
    dataset: "routeprofile",
    fusionkit_version: FUSIONKIT_VERSION,
    models_added: s.modelsAdded,
  });
  assert.ok(log.slice(0, -1).every((r) => r.fusionkit_version === null && r.models_added === 0));
  assert.deepEqual(store.datasets(), [...expected.datasets, "routeprofile"].sort());
  store.close();
});

test("migrations are numbered 1, 2, … in order, each with SQLite SQL; a newer store is refused", () => {
  MIGRATIONS.forEach((m, i) => {
    assert.equal(m.version, i + 1);
    assert.ok(m.sql(DIALECTS.sqlite)?.trim());
  });
  assert.equal(pendingMigrations(0, "sqlite").length, MIGRATIONS.length);
  assert.equal(pendingMigrations(LATEST_VERSION, "sqlite").length, 0);

  const path = tempDb();
  new Store(path).close();
  const db = new Database(path);
  db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 'x')").run(
    LATEST_VERSION + 1,
  );
  db.close();
  assert.throws(() => new Store(path), /schema version \d+, written by a newer FusionKit/);
});

test("every table is created by a numbered migration, not by the module that uses it", () => {
  const outside = execFileSync(
    "grep",
    ["-rlE", "CREATE (VIRTUAL )?TABLE|ALTER TABLE|CREATE INDEX", join(REPO, "src")],
    {
      encoding: "utf8",
    },
  )
    .split("\n")
    .filter(Boolean)
    .map((f) => f.slice(REPO.length + 1));
  assert.deepEqual(outside, ["src/data/migrations.ts"]);
});

test("two processes opening one old store at once: each migration applied exactly once, both succeed", async () => {
  const path = oldStore();
  const { runCli } = await import("../serve/support/procs.ts");
  const [a, b] = await Promise.all([
    runCli(["keys", "list", "--db", path, "--json"]),
    runCli(["keys", "list", "--db", path, "--json"]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(JSON.parse(a.stdout), JSON.parse(b.stdout));
  const db = new Database(path, { readonly: true });
  assert.deepEqual(
    db.prepare("SELECT version FROM schema_migrations ORDER BY version").all(),
    MIGRATIONS.map((m) => ({ version: m.version })),
  );
  db.close();
});

test("an upgrade that fails half-way leaves the store as it was (one transaction)", () => {
  const path = oldStore();
  // A log table from some other program, without the session column migration 5 indexes: that step fails.
  const raw = new Database(path);
  raw.exec("ALTER TABLE gateway_exchanges RENAME COLUMN session TO sess");
  const before = raw.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();
  raw.close();
  assert.throws(() => new Store(path), /no such column: session/);
  const after = new Database(path, { readonly: true });
  assert.deepEqual(after.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all(), before);
  assert.equal(sqliteSchemaVersion(after), 0);
  after.close();
});

test("the recorded FusionKit version is package.json's", () => {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  assert.equal(FUSIONKIT_VERSION, pkg.version);
});
