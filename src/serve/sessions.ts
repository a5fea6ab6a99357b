/**
 * Session stickiness: a conversation (x-session-id header or the `user` field) stays on the model that first
 * served it, so the upstream's prompt cache stays warm. Bounded LRU with a time-to-live; a Map keeps
 * insertion order, so re-inserting on use makes the first key the least recently used.
 */
export class Sessions {
  private readonly map = new Map<string, { model: string; expires: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;

  constructor(maxEntries = 100_000, ttlMs = 3_600_000) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  get(session: string, now = Date.now()): string | null {
    const e = this.map.get(session);
    if (!e) return null;
    if (e.expires < now) {
      this.map.delete(session);
      return null;
    }
    return e.model;
  }

  set(session: string, model: string, now = Date.now()): void {
    this.map.delete(session);
    this.map.set(session, { model, expires: now + this.ttlMs });
    if (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}
