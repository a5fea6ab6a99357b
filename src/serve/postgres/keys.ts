import type pg from "pg";
import {
  type ActiveKey,
  type ApiKeyInfo,
  hashKey,
  type KeyLimits,
  type KeyRow,
  type KeyStore,
  limitsOf,
  mintKey,
  NO_LIMITS,
} from "../keys.ts";

const LIMIT_COLUMN: Record<keyof KeyLimits, string> = {
  budgetDay: "budget_day",
  budgetMonth: "budget_month",
  rpm: "rpm",
  tpm: "tpm",
  models: "models",
};

/** PostgreSQL's rows carry REAL/INTEGER columns as numbers already; only the JSON list needs the shared parser. */
const active = (r: KeyRow): ActiveKey => ({ id: r.id, name: r.name, limits: limitsOf(r) });

/** The client keys of the PostgreSQL gateway store: the same records and rules as ApiKeys (SQLite). */
export class PostgresKeys implements KeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(name: string, limits: KeyLimits = NO_LIMITS): Promise<{ key: string; info: ApiKeyInfo }> {
    const { key, info } = mintKey(name, limits);
    await this.pool.query(
      `INSERT INTO api_keys (id, name, hash, prefix, created_at, budget_day, budget_month, rpm, tpm, models)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        info.id,
        name,
        hashKey(key),
        info.prefix,
        info.createdAt,
        limits.budgetDay,
        limits.budgetMonth,
        limits.rpm,
        limits.tpm,
        limits.models ? JSON.stringify(limits.models) : null,
      ],
    );
    return { key, info };
  }

  async setLimits(idOrName: string, change: Partial<KeyLimits>): Promise<number> {
    const keys = Object.keys(change) as Array<keyof KeyLimits>;
    if (!keys.length) return 0;
    const values = keys.map((k) => {
      const v = change[k];
      return Array.isArray(v) ? JSON.stringify(v) : (v ?? null);
    });
    const sets = keys.map((k, i) => `${LIMIT_COLUMN[k]} = $${i + 1}`);
    const r = await this.pool.query(
      `UPDATE api_keys SET ${sets.join(", ")} WHERE (id = $${keys.length + 1} OR name = $${keys.length + 1}) AND revoked_at IS NULL`,
      [...values, idOrName],
    );
    return r.rowCount ?? 0;
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id");
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
      limits: limitsOf(r),
    }));
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
