import { createHash, randomBytes } from "node:crypto";
import type Database from "better-sqlite3";

/**
 * Client API keys for the gateway. Only a SHA-256 of each key is stored (keys are 256 random bits, so a
 * fast hash is enough — there is nothing to brute-force); the plain key is shown once, at creation. Each key
 * may carry limits: USD budgets per UTC day and month, requests and tokens per minute, allowed models.
 */

export interface KeyLimits {
  /** USD per UTC day; null = no budget. */
  budgetDay: number | null;
  /** USD per UTC calendar month. */
  budgetMonth: number | null;
  /** Requests per minute. */
  rpm: number | null;
  /** Tokens (input + output) per minute. */
  tpm: number | null;
  /** Models (virtual or upstream names) the key may request; null = any. */
  models: string[] | null;
}

export const NO_LIMITS: KeyLimits = { budgetDay: null, budgetMonth: null, rpm: null, tpm: null, models: null };

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The first characters of the key, to recognise it in a list. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  limits: KeyLimits;
}

/** An active key as the gateway holds it. */
export interface ActiveKey {
  id: string;
  name: string;
  limits: KeyLimits;
}

export interface KeyRow {
  id: string;
  name: string;
  hash: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  budget_day: number | null;
  budget_month: number | null;
  rpm: number | null;
  tpm: number | null;
  models: string | null;
}

export const KEY_PREFIX = "fk-";

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function limitsOf(r: KeyRow): KeyLimits {
  return {
    budgetDay: r.budget_day,
    budgetMonth: r.budget_month,
    rpm: r.rpm,
    tpm: r.tpm,
    models: r.models ? (JSON.parse(r.models) as string[]) : null,
  };
}

/** The api_keys columns that hold limits, by limit (both key stores write through these). */
export const LIMIT_COLUMN: Record<keyof KeyLimits, string> = {
  budgetDay: "budget_day",
  budgetMonth: "budget_month",
  rpm: "rpm",
  tpm: "tpm",
  models: "models",
};

/** A limit as stored: the model list as JSON text, an absent limit as NULL. */
const limitValue = (v: KeyLimits[keyof KeyLimits] | undefined): string | number | null =>
  Array.isArray(v) ? JSON.stringify(v) : (v ?? null);

/** The limit fields of a change as (column, stored value) pairs, in the order given. */
export function limitAssignments(change: Partial<KeyLimits>): Array<[string, string | number | null]> {
  return (Object.keys(change) as Array<keyof KeyLimits>).map((k) => [LIMIT_COLUMN[k], limitValue(change[k])]);
}

/** Columns of a new api_keys row, in the order of keyInsertValues. */
export const KEY_INSERT_COLUMNS = [
  "id",
  "name",
  "hash",
  "prefix",
  "created_at",
  "budget_day",
  "budget_month",
  "rpm",
  "tpm",
  "models",
] as const;

/** The values of a new api_keys row (KEY_INSERT_COLUMNS order): the key itself is stored only as its hash. */
export function keyInsertValues(key: string, info: ApiKeyInfo): Array<string | number | null> {
  const l = info.limits;
  return [
    info.id,
    info.name,
    hashKey(key),
    info.prefix,
    info.createdAt,
    l.budgetDay,
    l.budgetMonth,
    l.rpm,
    l.tpm,
    limitValue(l.models),
  ];
}

/** A stored row as the record callers see. */
export function keyInfoOf(r: KeyRow): ApiKeyInfo {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    limits: limitsOf(r),
  };
}

type Maybe<T> = T | Promise<T>;

/**
 * Client keys in a store: ApiKeys (SQLite, synchronous) or the PostgreSQL store's (asynchronous). Callers
 * await every result; the gateway's hot path only reads its in-memory copy.
 */
export interface KeyStore {
  create(name: string, limits?: KeyLimits): Maybe<{ key: string; info: ApiKeyInfo }>;
  setLimits(idOrName: string, change: Partial<KeyLimits>): Maybe<number>;
  list(): Maybe<ApiKeyInfo[]>;
  revoke(idOrName: string): Maybe<number>;
  activeHashes(): Maybe<Map<string, ActiveKey>>;
  activeByHash(hash: string): Maybe<ActiveKey | null>;
}

/** A fresh key and its record (every key store writes the same fields). */
export function mintKey(name: string, limits: KeyLimits): { key: string; info: ApiKeyInfo } {
  const key = KEY_PREFIX + randomBytes(32).toString("base64url");
  return {
    key,
    info: {
      id: `key_${randomBytes(6).toString("hex")}`,
      name,
      prefix: key.slice(0, 10),
      createdAt: new Date().toISOString(),
      revokedAt: null,
      limits,
    },
  };
}

export class ApiKeys implements KeyStore {
  private readonly db: Database.Database;
  constructor(db: Database.Database) {
    this.db = db;
  }

  /** Create a key; returns the plain key (never stored) with its record. */
  create(name: string, limits: KeyLimits = NO_LIMITS): { key: string; info: ApiKeyInfo } {
    const { key, info } = mintKey(name, limits);
    this.db
      .prepare(
        `INSERT INTO api_keys (${KEY_INSERT_COLUMNS.join(", ")}) VALUES (${KEY_INSERT_COLUMNS.map(() => "?").join(", ")})`,
      )
      .run(...keyInsertValues(key, info));
    return { key, info };
  }

  /** Change the limits of active keys by id or name (only the fields given); returns how many changed. */
  setLimits(idOrName: string, change: Partial<KeyLimits>): number {
    const assignments = limitAssignments(change);
    if (!assignments.length) return 0;
    const sets = assignments.map(([column]) => `${column} = ?`);
    return this.db
      .prepare(`UPDATE api_keys SET ${sets.join(", ")} WHERE (id = ? OR name = ?) AND revoked_at IS NULL`)
      .run(...assignments.map(([, v]) => v), idOrName, idOrName).changes;
  }

  list(): ApiKeyInfo[] {
    return this.db.prepare<[], KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").all().map(keyInfoOf);
  }

  /** Revoke by id or by name; returns how many keys were revoked. */
  revoke(idOrName: string): number {
    return this.db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL")
      .run(new Date().toISOString(), idOrName, idOrName).changes;
  }

  /** hash → every active key (the gateway holds this in memory and refreshes it). */
  activeHashes(): Map<string, ActiveKey> {
    const rows = this.db.prepare<[], KeyRow>("SELECT * FROM api_keys WHERE revoked_at IS NULL").all();
    return new Map(rows.map((r) => [r.hash, { id: r.id, name: r.name, limits: limitsOf(r) }]));
  }

  /** One active key by hash (a key created after the last refresh is valid at once). */
  activeByHash(hash: string): ActiveKey | null {
    const r = this.db
      .prepare<[string], KeyRow>("SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL")
      .get(hash);
    return r ? { id: r.id, name: r.name, limits: limitsOf(r) } : null;
  }
}
