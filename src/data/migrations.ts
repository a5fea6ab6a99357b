import type Database from "better-sqlite3";
import { UsageError } from "./errors.ts";

/**
 * The store's schema version and its ordered migrations, one list for every database FusionKit writes to.
 *
 * A migration has a version (1, 2, … with no gaps: the list order is the apply order), a name, and its SQL per
 * dialect: the same logical change written for SQLite and for PostgreSQL. A store records each migration it has
 * applied in `schema_migrations` (a plain table, so PostgreSQL keeps it the same way; SQLite's user_version has no
 * PostgreSQL twin). Opening a store applies the missing ones in order, each in its own transaction, so an upgrade
 * that fails half-way leaves the store at the last complete version. A store written by a newer FusionKit (a
 * version this build does not know) is refused rather than written to.
 *
 * Stores from before versioning (FusionKit up to cbd566f) have no `schema_migrations`: migration 1 is exactly
 * their schema with IF NOT EXISTS, so it adopts them without change. New schema changes are appended here —
 * never edit an applied migration.
 */

export type Dialect = "sqlite" | "postgres";

export interface Migration {
  version: number;
  name: string;
  /** The change in each dialect; a dialect without SQL here cannot open a store at or past this version. */
  sql: Partial<Record<Dialect, string>>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "routing data: models, queries, outcomes, import log",
    sql: {
      sqlite: `
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
);`,
    },
  },
  {
    version: 2,
    name: "import log: which FusionKit wrote each import, and the models it added",
    // Provenance for a store that outlives releases: an import's rows can be traced to the code that checked them.
    sql: {
      sqlite: `
ALTER TABLE imports ADD COLUMN fusionkit_version TEXT;
ALTER TABLE imports ADD COLUMN models_added INTEGER NOT NULL DEFAULT 0;`,
    },
  },
  {
    version: 3,
    name: "evaluation runs: settings, result and each router's per-query choice (eval/runs.ts)",
    // IF NOT EXISTS: stores where `fusionkit eval` created these tables before they were a migration adopt them.
    sql: {
      sqlite: `
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
) WITHOUT ROWID;`,
      postgres: `
CREATE TABLE IF NOT EXISTS eval_runs (
  id BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  dataset TEXT NOT NULL,
  split TEXT NOT NULL,
  settings TEXT NOT NULL,
  result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS eval_choices (
  run_id BIGINT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
  router TEXT NOT NULL,
  scenario TEXT NOT NULL,
  query_id TEXT NOT NULL,
  model TEXT NOT NULL,
  mode TEXT NOT NULL,
  PRIMARY KEY (run_id, router, scenario, query_id)
);`,
    },
  },
  {
    version: 4,
    name: "router retrains: every decision of serve --retrain-every (serve/retrains.ts)",
    // One row per background retrain of a served router: swapped in, kept out, or failed, with the held-back
    // scores both routers got, so which router served when (and why) can be traced afterwards.
    sql: {
      sqlite: `
CREATE TABLE IF NOT EXISTS router_retrains (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
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
  live_score REAL,
  candidate_score REAL,
  artifact TEXT,
  artifact_sha256 TEXT,
  seconds REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS router_retrains_base ON router_retrains(base, id);`,
      postgres: `
CREATE TABLE IF NOT EXISTS router_retrains (
  id BIGSERIAL PRIMARY KEY,
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
  live_score DOUBLE PRECISION,
  candidate_score DOUBLE PRECISION,
  artifact TEXT,
  artifact_sha256 TEXT,
  seconds DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS router_retrains_base ON router_retrains(base, id);`,
    },
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

const VERSIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/** The migrations after `version`, in order, with their SQL for `dialect` (an error if one lacks it). */
export function pendingMigrations(version: number, dialect: Dialect): Array<Migration & { statements: string }> {
  if (version > LATEST_VERSION)
    throw new UsageError(
      `the store is at schema version ${version}, written by a newer FusionKit; this build knows versions up to ${LATEST_VERSION} — upgrade FusionKit to open it`,
    );
  return MIGRATIONS.filter((m) => m.version > version).map((m) => {
    const statements = m.sql[dialect];
    if (statements === undefined)
      throw new UsageError(`schema migration ${m.version} (${m.name}) has no ${dialect} version`);
    return { ...m, statements };
  });
}

/** The highest applied version of a SQLite store (0 for a new file or one from before versioning). */
export function sqliteSchemaVersion(db: Database.Database): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) return 0;
  return (db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null }).v ?? 0;
}

/**
 * Bring a SQLite store to the latest version. Each migration runs in a BEGIN IMMEDIATE transaction that first
 * re-reads the version, so two processes opening an old file at once apply each migration exactly once.
 * Returns the versions before and after.
 */
export function migrateSqlite(db: Database.Database): { from: number; to: number } {
  const from = sqliteSchemaVersion(db);
  if (from === LATEST_VERSION) return { from, to: from };
  for (const m of pendingMigrations(from, "sqlite")) {
    db.transaction(() => {
      db.exec(VERSIONS_TABLE);
      if (sqliteSchemaVersion(db) >= m.version) return; // another process applied it meanwhile
      db.exec(m.statements);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    }).immediate();
  }
  return { from, to: LATEST_VERSION };
}
