import type pg from "pg";

/**
 * The gateway's PostgreSQL schema as ordered migrations. Pending ones run in one transaction, each recorded
 * in fusionkit_schema; replicas starting at the same time take an advisory lock, so one applies and the
 * others find it done. Append new migrations; never edit one that shipped.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "gateway tables: exchanges, feedback, client keys, router artifacts",
    sql: `
CREATE TABLE gateway_exchanges (
  request_id TEXT PRIMARY KEY,
  at DOUBLE PRECISION NOT NULL,
  key_id TEXT,
  session TEXT,
  requested_model TEXT NOT NULL,
  router TEXT,
  served_model TEXT,
  mode TEXT,
  query TEXT NOT NULL,
  request TEXT,
  response TEXT,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost DOUBLE PRECISION,
  latency_ms DOUBLE PRECISION NOT NULL,
  ttfb_ms DOUBLE PRECISION,
  status INTEGER NOT NULL,
  error TEXT,
  stream BOOLEAN NOT NULL,
  attempts INTEGER NOT NULL,
  candidates TEXT
);
CREATE INDEX gateway_exchanges_at ON gateway_exchanges (at);
CREATE INDEX gateway_exchanges_query ON gateway_exchanges (query, served_model);
CREATE INDEX gateway_exchanges_session ON gateway_exchanges (session, at) WHERE session IS NOT NULL;
CREATE TABLE gateway_feedback (
  request_id TEXT PRIMARY KEY REFERENCES gateway_exchanges (request_id),
  score DOUBLE PRECISION NOT NULL CHECK (score >= 0 AND score <= 1),
  at DOUBLE PRECISION NOT NULL
);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  budget_day DOUBLE PRECISION,
  budget_month DOUBLE PRECISION,
  rpm INTEGER,
  tpm INTEGER,
  models TEXT
);
CREATE TABLE router_artifacts (
  id TEXT PRIMARY KEY,
  router TEXT NOT NULL,
  embedder TEXT NOT NULL,
  trained_at TEXT NOT NULL,
  artifact TEXT NOT NULL
);`,
  },
];

/** Bring the database to the newest schema; returns the versions applied now. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query("BEGIN");
    // One key for "FusionKit gateway schema"; released at COMMIT.
    await client.query("SELECT pg_advisory_xact_lock(7245019)");
    await client.query(
      "CREATE TABLE IF NOT EXISTS fusionkit_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await client.query<{ version: number }>("SELECT version FROM fusionkit_schema")).rows.map((r) => r.version),
    );
    const newest = Math.max(0, ...done);
    const known = Math.max(...MIGRATIONS.map((m) => m.version));
    if (newest > known)
      throw new Error(
        `the database schema is version ${newest}, newer than this FusionKit knows (${known}); upgrade FusionKit`,
      );
    for (const m of MIGRATIONS)
      if (!done.has(m.version)) {
        await client.query(m.sql);
        await client.query("INSERT INTO fusionkit_schema (version, name) VALUES ($1, $2)", [m.version, m.name]);
        applied.push(m.version);
      }
    await client.query("COMMIT");
    return applied;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
