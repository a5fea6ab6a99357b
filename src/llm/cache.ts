import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import type { ChatMessage, ChatResult } from "./types.ts";

/** JSON with object keys sorted at every level, so equal requests give equal keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value ?? null);
}

export interface CacheKeyParts {
  /** Where the answer comes from: base URL + upstream id, so re-pointing a FusionKit name misses the cache. */
  baseUrl: string;
  upstreamId: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  extra?: Record<string, unknown>;
}

export function cacheKey(parts: CacheKeyParts): string {
  return createHash("sha256").update(canonical(parts)).digest("hex");
}

/**
 * Response cache in the store (table llm_cache), keyed by (model, messages, parameters): a rerun of the
 * same pipeline gets the same answers without paying again.
 */
export class ResponseCache {
  private readonly get_: Database.Statement<[string], { result: string }>;
  private readonly put_: Database.Statement<[string, string, string, string]>;

  constructor(db: Database.Database) {
    this.get_ = db.prepare("SELECT result FROM llm_cache WHERE key = ?");
    this.put_ = db.prepare("INSERT OR REPLACE INTO llm_cache (key, model, result, created_at) VALUES (?, ?, ?, ?)");
  }

  get(key: string): ChatResult | null {
    const row = this.get_.get(key);
    return row ? (JSON.parse(row.result) as ChatResult) : null;
  }

  put(key: string, result: ChatResult): void {
    const { raw: _raw, ...stored } = result; // the upstream body can be large; the answer is what reruns need
    this.put_.run(key, result.model, JSON.stringify(stored), new Date().toISOString());
  }
}
