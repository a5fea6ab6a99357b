import type pg from "pg";
import {
  type ActiveKey,
  type ApiKeyInfo,
  KEY_INSERT_COLUMNS,
  type KeyLimits,
  type KeyRow,
  type KeyStore,
  keyInfoOf,
  keyInsertValues,
  limitAssignments,
  limitsOf,
  mintKey,
  NO_LIMITS,
} from "../keys.ts";

/** PostgreSQL's rows carry REAL/INTEGER columns as numbers already; only the JSON list needs the shared parser. */
const active = (r: KeyRow): ActiveKey => ({ id: r.id, name: r.name, limits: limitsOf(r) });

/** The client keys of the PostgreSQL gateway store: the same records and rules as ApiKeys (SQLite). */
export class PostgresKeys implements KeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(name: string, limits: KeyLimits = NO_LIMITS): Promise<{ key: string; info: ApiKeyInfo }> {
    const { key, info } = mintKey(name, limits);
    await this.pool.query(
      `INSERT INTO api_keys (${KEY_INSERT_COLUMNS.join(", ")}) VALUES (${KEY_INSERT_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})`,
      keyInsertValues(key, info),
    );
    return { key, info };
  }

  async setLimits(idOrName: string, change: Partial<KeyLimits>): Promise<number> {
    const assignments = limitAssignments(change);
    if (!assignments.length) return 0;
    const n = assignments.length;
    const sets = assignments.map(([column], i) => `${column} = $${i + 1}`);
    const r = await this.pool.query(
      `UPDATE api_keys SET ${sets.join(", ")} WHERE (id = $${n + 1} OR name = $${n + 1}) AND revoked_at IS NULL`,
      [...assignments.map(([, v]) => v), idOrName],
    );
    return r.rowCount ?? 0;
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id");
    return rows.map(keyInfoOf);
  }

  async revoke(idOrName: string): Promise<number> {
    const r = await this.pool.query(
      "UPDATE api_keys SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL",
      [new Date().toISOString(), idOrName],
    );
    return r.rowCount ?? 0;
  }

  async activeHashes(): Promise<Map<string, ActiveKey>> {
    const { rows } = await this.pool.query<KeyRow>("SELECT * FROM api_keys WHERE revoked_at IS NULL");
    return new Map(rows.map((r) => [r.hash, active(r)]));
  }

  async activeByHash(hash: string): Promise<ActiveKey | null> {
    const { rows } = await this.pool.query<KeyRow>("SELECT * FROM api_keys WHERE hash = $1 AND revoked_at IS NULL", [
      hash,
    ]);
    return rows[0] ? active(rows[0]) : null;
  }
}
