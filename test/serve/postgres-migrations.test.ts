import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import pg from "pg";
import { DIALECTS, LATEST_VERSION, MIGRATIONS } from "../../src/data/migrations.ts";
import { migratePostgres } from "../../src/serve/postgres/migrations.ts";
import { PostgresGatewayStore } from "../../src/serve/postgres/store.ts";
import { REPO } from "../helpers.ts";
import { freshDatabase, PG_SKIP } from "../support/postgres.ts";
import { runCli } from "./support/procs.ts";

/**
 * Issue 11 item 4 for PostgreSQL: the gateway's database is on the same numbered migrations as the SQLite store
 * (one list, data/migrations.ts). test/fixtures/pg-v0 is a database written by the release before (its own
 * `fusionkit_schema` scheme, see build.ts); today's code opens it and finds every row. Concurrent openers, a
 * database from a newer FusionKit and a failing step are checked against a real server.
 */

const FIXTURE = join(REPO, "test/fixtures/pg-v0");

async function withDatabase(fn: (url: string, sql: pg.Client) => Promise<void>): Promise<void> {
  const db = await freshDatabase();
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  try {
    await fn(db.url, sql);
  } finally {
    await sql.end();
    await db.drop();
  }
}

const tables = async (sql: pg.Client): Promise<string[]> =>
  (
    await sql.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
  ).rows.map((r) => r.t);

const versions = async (sql: pg.Client): Promise<number[]> =>
  (await sql.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")).rows.map(
    (r) => r.version,
  );

describe("PostgreSQL gateway store: numbered migrations (real server)", { skip: PG_SKIP }, () => {
  test("a new database gets every migration, recorded once; it holds the tables gateways share", async () => {
    await withDatabase(async (url, sql) => {
      const pool = new pg.Pool({ connectionString: url });
      assert.deepEqual(
        await migratePostgres(pool),
        MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(await migratePostgres(pool), [], "a second run applies nothing");
      await pool.end();
      assert.deepEqual(
        await versions(sql),
        MIGRATIONS.map((m) => m.version),
      );
      const shared = MIGRATIONS.filter((m) => m.sql(DIALECTS.postgres) !== null).map((m) => m.version);
      assert.ok(shared.length > 0 && shared.length < MIGRATIONS.length);
      assert.deepEqual(await tables(sql), [
        "api_keys",
        "gateway_exchanges",
        "gateway_feedback",
        "router_artifacts",
        "router_retrains",
        "schema_migrations",
      ]);
    });
  });

  test("a database written by the previous release opens, is upgraded, and holds all its data", async () => {
    const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8"));
    await withDatabase(async (url, sql) => {
      await sql.query(readFileSync(join(FIXTURE, "dump.sql"), "utf8"));
      await sql.query("RESET search_path"); // the dump empties it for its own statements
      assert.ok((await tables(sql)).includes("fusionkit_schema"), "the fixture is on the old scheme");
      const store = await PostgresGatewayStore.open(url);
      try {
        assert.ok(!(await tables(sql)).includes("fusionkit_schema"), "the old scheme's table is gone");
        assert.deepEqual(
          await versions(sql),
          MIGRATIONS.map((m) => m.version),
        );
        assert.deepEqual(await store.keys.list(), expected.keys);
        const rows = (
          await sql.query(
            `SELECT request_id, at, key_id, session, requested_model, router, served_model, mode, query, request, response,
               input_tokens, output_tokens, cost, latency_ms, ttfb_ms, status, error, stream, attempts, candidates
             FROM gateway_exchanges ORDER BY request_id`,
          )
        ).rows;
        assert.deepEqual(
          rows,
          expected.exchanges.map((e: Record<string, unknown>) => ({
            request_id: e.requestId,
            at: e.at,
            key_id: e.keyId,
            session: e.session,
            requested_model: e.requestedModel,
            router: e.router,
            served_model: e.servedModel,
            mode: e.mode,
            query: e.query,
            request: e.request,
            response: e.response,
            input_tokens: e.inputTokens,
            output_tokens: e.outputTokens,
            cost: e.cost,
            latency_ms: e.latencyMs,
            ttfb_ms: e.ttfbMs,
            status: e.status,
            error: e.error,
            stream: e.stream,
            attempts: e.attempts,
            candidates: e.candidates,
          })),
        );
        // The old label is kept: a second label of the same query and model averages with it.
        assert.deepEqual(await store.label("req-pg-fixture-1", 0.25), { ...expected.label, performance: 0.25 });
        const again = await store.label("req-pg-fixture-2", 1);
        assert.equal(again.model, "qwen2.5-7b-instruct");
        const router = await store.loadRouterArtifact(expected.router.id);
        assert.equal(router.name, expected.router.name);
        assert.deepEqual(router.candidates, expected.router.candidates);
      } finally {
        await store.close();
      }
    });
  });

  test("two gateway processes opening one new database at once: each migration applied exactly once", async () => {
    await withDatabase(async (url, sql) => {
      // Real processes (the CLI opens the store as serve does), plus in-process pools on their own connections.
      const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: url, max: 1 }));
      const [a, b, ...applied] = await Promise.all([
        runCli(["keys", "list", "--db", url, "--json"]),
        runCli(["keys", "list", "--db", url, "--json"]),
        ...pools.map((p) => migratePostgres(p)),
      ]);
      for (const p of pools) await p.end();
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.deepEqual(
        await versions(sql),
        MIGRATIONS.map((m) => m.version),
      );
      assert.ok(
        applied.every((list) => list.length === 0 || list.length === MIGRATIONS.length),
        "whoever migrated did all of it",
      );
    });
  });

  test("a database from a newer FusionKit is refused before anything is written", async () => {
    await withDatabase(async (url, sql) => {
      await sql.query(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
      );
      await sql.query("INSERT INTO schema_migrations VALUES ($1, 'from the future', 'x')", [LATEST_VERSION + 1]);
      await assert.rejects(
        PostgresGatewayStore.open(url),
        new RegExp(`schema version ${LATEST_VERSION + 1}, written by a newer FusionKit`),
      );
      assert.deepEqual(await tables(sql), ["schema_migrations"]);
      const cli = await runCli(["keys", "list", "--db", url]);
      assert.equal(cli.code, 2, "a usage error, not a crash");
      assert.match(cli.stderr, /newer FusionKit; this build knows versions up to/);
    });
  });

  test("a step that fails rolls the whole upgrade back", async () => {
    await withDatabase(async (url, sql) => {
      // Some other program's table of that name, without the columns migration 5 indexes.
      await sql.query("CREATE TABLE gateway_exchanges (request_id TEXT PRIMARY KEY)");
      await assert.rejects(PostgresGatewayStore.open(url), /column "at" does not exist/);
      assert.deepEqual(await tables(sql), ["gateway_exchanges"], "no schema_migrations, no other table");
    });
  });
});
