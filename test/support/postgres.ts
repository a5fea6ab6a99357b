import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * The PostgreSQL the tests use: FUSIONKIT_TEST_PG (a URL; `.ci/run` starts one with `.ci/postgres-start`).
 * Each caller gets a fresh database on that server, dropped by `drop()`. Without the variable, tests that
 * need PostgreSQL are skipped — except in CI (CI set), where its absence is a failure.
 */
export const PG_URL = process.env.FUSIONKIT_TEST_PG || null;

export const PG_SKIP: string | false =
  PG_URL || process.env.CI ? false : "FUSIONKIT_TEST_PG is not set (start one: .ci/postgres-start)";

/** A new, empty database on the server of `server` (default FUSIONKIT_TEST_PG); `drop()` deletes it. */
export async function freshDatabase(server = PG_URL): Promise<{ url: string; drop(): Promise<void> }> {
  if (!server) throw new Error("FUSIONKIT_TEST_PG is not set; CI must start PostgreSQL (.ci/run does)");
  const name = `fk_test_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
