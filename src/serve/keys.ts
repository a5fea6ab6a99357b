import { createHash, randomBytes } from "node:crypto";
import type Database from "better-sqlite3";

/**
 * Client API keys for the gateway. Only a SHA-256 of each key is stored (keys are 256 random bits, so a
 * fast hash is enough — there is nothing to brute-force); the plain key is shown once, at creation.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
`;

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The first characters of the key, to recognise it in a list. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export const KEY_PREFIX = "fk-";

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export class ApiKeys {
  private readonly db: Database.Database;
  constructor(db: Database.Database) {
    this.db = db;
    db.exec(SCHEMA);
  }

  /** Create a key; returns the plain key (never stored) with its record. */
  create(name: string): { key: string; info: ApiKeyInfo } {
    const key = KEY_PREFIX + randomBytes(32).toString("base64url");
    const id = `key_${randomBytes(6).toString("hex")}`;
    const info: ApiKeyInfo = {
      id,
      name,
      prefix: key.slice(0, 10),
      createdAt: new Date().toISOString(),
      revokedAt: null,
    };
    this.db
      .prepare("INSERT INTO api_keys (id, name, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(id, name, hashKey(key), info.prefix, info.createdAt);
    return { key, info };
  }

  list(): ApiKeyInfo[] {
    return this.db
      .prepare<[], { id: string; name: string; prefix: string; created_at: string; revoked_at: string | null }>(
        "SELECT id, name, prefix, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
      )
      .all()
      .map((r) => ({ id: r.id, name: r.name, prefix: r.prefix, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  /** Revoke by id or by name; returns how many keys were revoked. */
  revoke(idOrName: string): number {
    return this.db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL")
      .run(new Date().toISOString(), idOrName, idOrName).changes;
  }

  /** hash → key id of every active key (the gateway holds this in memory and refreshes it). */
  activeHashes(): Map<string, string> {
    const rows = this.db
      .prepare<[], { id: string; hash: string }>("SELECT id, hash FROM api_keys WHERE revoked_at IS NULL")
      .all();
    return new Map(rows.map((r) => [r.hash, r.id]));
  }
}
