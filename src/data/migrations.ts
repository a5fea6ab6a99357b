import type Database from "better-sqlite3";
import { UsageError } from "./errors.ts";

/**
 * The schema version and the ordered migrations of every database FusionKit writes to: the embedded SQLite store
 * and the gateway's PostgreSQL database. One list; each migration is written once, with the column types that
 * differ between the dialects taken from `DialectSql`, and returns null for a dialect that does not hold those
 * tables (routing data, caches and the dashboard's rollup live only in the SQLite store; PostgreSQL holds what
 * gateway replicas share). Every table is created here and nowhere else.
 *
 * A database records each migration it has processed in `schema_migrations` (the same table in both dialects;
 * a migration that is null for the dialect is recorded too, so one version number means the same thing
 * everywhere). Opening a database applies the pending ones in order, all in one transaction: an upgrade either
 * completes or leaves the database as it was. A database written by a newer FusionKit (a version this build does
 * not know) is refused before anything is written. The SQLite runner is below; the PostgreSQL one
 * (serve/postgres/migrations.ts) runs the same list under an advisory lock.
 *
 * Stores from before versioning (FusionKit up to cbd566f) have no `schema_migrations`, and stores up to version 3
 * had tables that their modules created on first use: the migrations that took them over (5–10) use IF NOT EXISTS (and `adoptSqlite`
 * where a table gained columns since), so they adopt what exists without change. To change the schema, append a
 * migration here — never edit one that has shipped.
 */

export type Dialect = "sqlite" | "postgres";

/** What a table definition written once needs to know of the dialect. */
export interface DialectSql {
  dialect: Dialect;
  /** An 8-byte float column. */
  real: string;
  /** A boolean column (SQLite stores 0/1). */
  bool: string;
  /** An integer primary key numbered by the database. */
  autoId: string;
}

export const DIALECTS: Record<Dialect, DialectSql> = {
  sqlite: { dialect: "sqlite", real: "REAL", bool: "INTEGER", autoId: "INTEGER PRIMARY KEY AUTOINCREMENT" },
  postgres: { dialect: "postgres", real: "DOUBLE PRECISION", bool: "BOOLEAN", autoId: "BIGSERIAL PRIMARY KEY" },
};

export interface Migration {
  version: number;
  name: string;
  /** The change as SQL statements for a dialect, or null when that dialect does not hold these tables. */
  sql: (t: DialectSql) => string | null;
  /**
   * SQLite only, run just before `sql`: brings a table that a module created before it was a migration to the
   * shape `sql` expects (e.g. columns it gained meanwhile), which CREATE TABLE IF NOT EXISTS cannot.
   */
  adoptSqlite?: (db: Database.Database) => void;
}

/** Tables only the embedded store holds (routing data and what is derived from it). */
const sqliteOnly =
  (statements: string) =>
  (t: DialectSql): string | null =>
    t.dialect === "sqlite" ? statements : null;

/** Add the columns a table lacks (SQLite has no ADD COLUMN IF NOT EXISTS). */
function addMissingColumns(db: Database.Database, table: string, columns: ReadonlyArray<[string, string]>): void {
  const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name));
  if (have.size === 0) return; // no such table: the migration creates it whole
  for (const [name, type] of columns) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
}

/** The exchange log's indexes the dashboard's counts and filters scan (exported for bench/ui.ts's baseline). */
export const DASHBOARD_LOG_INDEXES = `CREATE INDEX IF NOT EXISTS gateway_exchanges_ui_window
  ON gateway_exchanges(at, status, attempts, latency_ms, cost, served_model);
DROP INDEX IF EXISTS gateway_exchanges_ui_model;
CREATE INDEX IF NOT EXISTS gateway_exchanges_ui_model_status ON gateway_exchanges(served_model, at, status, attempts);`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "routing data: models, queries, outcomes, import log",
    sql: sqliteOnly(`
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY,
  input_price REAL,
  output_price REAL,
  description TEXT,
  size TEXT,
  upstream_id TEXT
);
CREATE TABLE IF NOT EXISTS queries (
  id TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  task TEXT NOT NULL,
  domain TEXT,
  text TEXT NOT NULL,
  ground_truth TEXT,
  metric TEXT,
  task_description TEXT,
  choices TEXT,
  split TEXT CHECK (split IN ('train','test') OR split IS NULL)
);
CREATE INDEX IF NOT EXISTS queries_dataset_split ON queries(dataset, split);
CREATE TABLE IF NOT EXISTS outcomes (
  query_id TEXT NOT NULL REFERENCES queries(id),
  model TEXT NOT NULL REFERENCES models(name),
  mode TEXT NOT NULL CHECK (mode IN ('direct','think')),
  response TEXT,
  performance REAL NOT NULL CHECK (performance >= 0 AND performance <= 1),
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost REAL NOT NULL CHECK (cost >= 0),
  judge REAL,
  latency_ms REAL,
  PRIMARY KEY (query_id, model, mode)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS imports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  format TEXT NOT NULL,
  dataset TEXT NOT NULL,
  files TEXT NOT NULL,
  queries INTEGER NOT NULL,
  outcomes_added INTEGER NOT NULL,
  outcomes_unchanged INTEGER NOT NULL,
  at TEXT NOT NULL
);`),
  },
  {
    version: 2,
    name: "import log: which FusionKit wrote each import, and the models it added",
    // Provenance for a store that outlives releases: an import's rows can be traced to the code that checked them.
    sql: sqliteOnly(`
ALTER TABLE imports ADD COLUMN fusionkit_version TEXT;
ALTER TABLE imports ADD COLUMN models_added INTEGER NOT NULL DEFAULT 0;`),
  },
  {
    version: 3,
    name: "evaluation runs: settings, result and each router's per-query choice (eval/runs.ts)",
    // IF NOT EXISTS: stores where `fusionkit eval` created these tables before they were a migration adopt them.
    sql: sqliteOnly(`
CREATE TABLE IF NOT EXISTS eval_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  dataset TEXT NOT NULL,
  split TEXT NOT NULL,
  settings TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS eval_choices (
  run_id INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
  router TEXT NOT NULL,
  scenario TEXT NOT NULL,
  query_id TEXT NOT NULL,
  model TEXT NOT NULL,
  mode TEXT NOT NULL,
  PRIMARY KEY (run_id, router, scenario, query_id)
) WITHOUT ROWID;`),
  },
  {
    version: 4,
    name: "router retrains: every decision of serve --retrain-every (serve/retrains.ts)",
    // One row per background retrain of a served router: swapped in, kept out, or failed, with the held-back
    // scores both routers got, so which router served when (and why) can be traced afterwards.
    sql: (t) => `
CREATE TABLE IF NOT EXISTS router_retrains (
  id ${t.autoId},
  at TEXT NOT NULL,
  base TEXT NOT NULL,
  live TEXT NOT NULL,
  router TEXT NOT NULL,
  datasets TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('swap','keep','failed')),
  reason TEXT NOT NULL,
  labels INTEGER NOT NULL,
  train_queries INTEGER,
  heldout_queries INTEGER,
  compared INTEGER,
  live_score ${t.real},
  candidate_score ${t.real},
  artifact TEXT,
  artifact_sha256 TEXT,
  seconds ${t.real} NOT NULL
);
CREATE INDEX IF NOT EXISTS router_retrains_base ON router_retrains(base, id);`,
  },
  {
    version: 5,
    name: "gateway exchange log and feedback labels (serve/log.ts, serve/labels.ts)",
    // The session index serves stickiness across processes; PostgreSQL also indexes the text a label's mean is
    // taken over (the SQLite planner drives that join from the small feedback table instead).
    sql: (t) => `
CREATE TABLE IF NOT EXISTS gateway_exchanges (
  request_id TEXT PRIMARY KEY,
  at ${t.real} NOT NULL,
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
  cost ${t.real},
  latency_ms ${t.real} NOT NULL,
  ttfb_ms ${t.real},
  status INTEGER NOT NULL,
  error TEXT,
  stream ${t.bool} NOT NULL,
  attempts INTEGER NOT NULL,
  candidates TEXT
);
CREATE INDEX IF NOT EXISTS gateway_exchanges_at ON gateway_exchanges (at);
CREATE INDEX IF NOT EXISTS gateway_exchanges_session ON gateway_exchanges (session, at) WHERE session IS NOT NULL;
${t.dialect === "postgres" ? "CREATE INDEX IF NOT EXISTS gateway_exchanges_query ON gateway_exchanges (query, served_model);" : ""}
CREATE TABLE IF NOT EXISTS gateway_feedback (
  request_id TEXT PRIMARY KEY REFERENCES gateway_exchanges (request_id),
  score ${t.real} NOT NULL CHECK (score >= 0 AND score <= 1),
  at ${t.real} NOT NULL
);`,
  },
  {
    version: 6,
    name: "gateway client keys with budgets, rate limits and allowed models (serve/keys.ts)",
    sql: (t) => `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  budget_day ${t.real},
  budget_month ${t.real},
  rpm INTEGER,
  tpm INTEGER,
  models TEXT
);`,
    // Keys made before keys had limits (e.g. test/fixtures/store-v0) lack the limit columns.
    adoptSqlite: (db) =>
      addMissingColumns(db, "api_keys", [
        ["budget_day", "REAL"],
        ["budget_month", "REAL"],
        ["rpm", "INTEGER"],
        ["tpm", "INTEGER"],
        ["models", "TEXT"],
      ]),
  },
  {
    version: 7,
    name: "router artifacts saved by id (routing/artifacts.ts)",
    sql: () => `
CREATE TABLE IF NOT EXISTS router_artifacts (
  id TEXT PRIMARY KEY,
  router TEXT NOT NULL,
  embedder TEXT NOT NULL,
  trained_at TEXT NOT NULL,
  artifact TEXT NOT NULL
);`,
  },
  {
    version: 8,
    name: "caches: query embeddings (embed/cache-table.ts) and LLM responses (llm/cache.ts)",
    sql: sqliteOnly(`
CREATE TABLE IF NOT EXISTS embeddings (
  embedder TEXT NOT NULL,
  text_hash TEXT NOT NULL,
  dim INT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (embedder, text_hash)
);
CREATE TABLE IF NOT EXISTS llm_cache (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;`),
  },
  {
    version: 9,
    name: "LLM-judge verdicts (llm/judge.ts) and thought templates (thought/templates.ts)",
    sql: sqliteOnly(`
CREATE TABLE IF NOT EXISTS judge_results (
  query_id TEXT NOT NULL,
  model TEXT NOT NULL,
  mode TEXT NOT NULL,
  judge_model TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'unparseable')),
  score REAL CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
  raw TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (query_id, model, mode, judge_model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS thought_templates (
  template_set TEXT NOT NULL,
  query_id TEXT NOT NULL REFERENCES queries(id),
  dataset TEXT NOT NULL,
  task TEXT NOT NULL,
  template TEXT NOT NULL,
  summariser TEXT NOT NULL,
  rank_by TEXT NOT NULL,
  sources TEXT NOT NULL,
  embedder TEXT NOT NULL,
  dim INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  cost REAL NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  PRIMARY KEY (template_set, query_id)
) WITHOUT ROWID;`),
  },
  {
    version: 10,
    name: "dashboard: traffic rollup, latency histogram, exchange text index and log indexes (ui/queries/)",
    // The dashboard reads the SQLite store only. The rollup and its watermark follow gateway_exchanges by rowid.
    sql: sqliteOnly(`
CREATE TABLE IF NOT EXISTS ui_gateway_rollup (
  level INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  model TEXT NOT NULL,
  status INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  fallbacks INTEGER NOT NULL,
  spend REAL NOT NULL,
  latency_sum REAL NOT NULL,
  PRIMARY KEY (level, slot, model, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ui_gateway_latency (
  level INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  bin INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (level, slot, bin)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS ui_exchange_text USING fts5(query, content='', tokenize='unicode61');
CREATE TABLE IF NOT EXISTS ui_gateway_rollup_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_rowid INTEGER NOT NULL
);
${DASHBOARD_LOG_INDEXES}`),
  },
  {
    version: 11,
    name: "exchange log: the candidate the router ranked first when serve --explore sent the request elsewhere",
    // NULL for a request routed as ranked; the ranked-first key for one sent to the runner-up (ε exploration).
    sql: () => "ALTER TABLE gateway_exchanges ADD COLUMN explored TEXT;",
  },
  {
    version: 12,
    name: "exchange log: the logging mode each row was stored in (serve/log-mode.ts)",
    // Rows from before logging modes were stored in full: NULL reads as full.
    sql: () => "ALTER TABLE gateway_exchanges ADD COLUMN log_mode TEXT;",
  },
  {
    version: 13,
    name: "exchange log: drop the session index (stickiness no longer reads the log)",
    // Sessions are placed by a deterministic choice from their id (serve/sessions.ts), so no lookup uses it and
    // every logged row with a session only paid to maintain it.
    sql: () => "DROP INDEX IF EXISTS gateway_exchanges_session;",
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Where a database records the migrations it has processed (the same in both dialects). */
export const VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/** A pending migration with its statements for one dialect (null: nothing to run there, only to record). */
export interface PendingMigration {
  version: number;
  name: string;
  statements: string | null;
  adoptSqlite?: (db: Database.Database) => void;
}

/** The migrations after `version`, in order, with their SQL for `dialect`; refuses a database newer than this build. */
export function pendingMigrations(version: number, dialect: Dialect, where = "the store"): PendingMigration[] {
  if (version > LATEST_VERSION)
    throw new UsageError(
      `${where} is at schema version ${version}, written by a newer FusionKit; this build knows versions up to ${LATEST_VERSION} — upgrade FusionKit to open it`,
    );
  return MIGRATIONS.filter((m) => m.version > version).map((m) => ({
    version: m.version,
    name: m.name,
    statements: m.sql(DIALECTS[dialect]),
    adoptSqlite: m.adoptSqlite,
  }));
}

/** The highest applied version of a SQLite store (0 for a new file or one from before versioning). */
export function sqliteSchemaVersion(db: Database.Database): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) return 0;
  return (db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null }).v ?? 0;
}

/**
 * Bring a SQLite store to the latest version: every pending migration in one BEGIN IMMEDIATE transaction that
 * first re-reads the version, so two processes opening an old file at once apply each migration exactly once and
 * a failure (or a kill) leaves the store as it was. Returns the versions before and after.
 */
export function migrateSqlite(db: Database.Database): { from: number; to: number } {
  const before = sqliteSchemaVersion(db);
  pendingMigrations(before, "sqlite", `the store ${db.name}`); // a newer store is refused before any write
  if (before === LATEST_VERSION) return { from: before, to: before };
  return db
    .transaction(() => {
      db.exec(VERSIONS_TABLE);
      const from = sqliteSchemaVersion(db); // another process may have migrated meanwhile
      const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
      for (const m of pendingMigrations(from, "sqlite", `the store ${db.name}`)) {
        m.adoptSqlite?.(db);
        if (m.statements) db.exec(m.statements);
        record.run(m.version, m.name, new Date().toISOString());
      }
      return { from, to: LATEST_VERSION };
    })
    .immediate();
}
