import type pg from "pg";
import { LATEST_VERSION, pendingMigrations, VERSIONS_TABLE } from "../../data/migrations.ts";

/**
 * Bring the gateway's PostgreSQL database to the latest schema version, with the one migration list of
 * data/migrations.ts (its PostgreSQL SQL). Everything pending runs in one transaction, so nothing is half-applied;
 * replicas starting at the same time serialise on an advisory lock taken inside that transaction, so one applies
 * and the others find the work done. A database written by a newer FusionKit is refused before anything is
 * written. Returns the versions applied now.
 */

/** One key for "FusionKit schema"; released at COMMIT or ROLLBACK. */
const SCHEMA_LOCK = 7245019;

/**
 * Databases made before the one migration scheme recorded their schema in `fusionkit_schema`, whose only
 * version (1) created the gateway tables exactly as migrations 5–7 do with IF NOT EXISTS: such a database is
 * adopted by running the list from the start, and the old table goes in the same transaction.
 */
const LEGACY_TABLE = "fusionkit_schema";

export async function migratePostgres(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await client.query(VERSIONS_TABLE);
    const { rows } = await client.query<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations");
    const current = rows[0]?.v ?? 0;
    const pending = pendingMigrations(current, "postgres", "the PostgreSQL database");
    if (current === 0) await adoptLegacy(client);
    for (const m of pending) {
      if (m.statements) await client.query(m.statements);
      await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
    }
    await client.query("COMMIT");
    return pending.map((m) => m.version);
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** Drop `fusionkit_schema` of a database from before the one scheme (its tables are adopted by IF NOT EXISTS). */
async function adoptLegacy(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [LEGACY_TABLE]);
  if (!rows[0]?.t) return;
  const versions = (await client.query<{ version: number }>(`SELECT version FROM ${LEGACY_TABLE}`)).rows.map(
    (r) => r.version,
  );
  if (versions.some((v) => v !== 1))
    throw new Error(
      `${LEGACY_TABLE} records versions ${versions.join(", ")}; this FusionKit knows only version 1 of that scheme (schema version ${LATEST_VERSION} now)`,
    );
  await client.query(`DROP TABLE ${LEGACY_TABLE}`);
}
