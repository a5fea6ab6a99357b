/**
 * Where a session was served before by another process or replica: the model of its first answered
 * exchange in the shared log since `since` (epoch ms), or null (gateway-store.ts: sessionModel).
 */
export type SharedSessions = (session: string, since: number) => Promise<string | null>;

/**
 * Session stickiness: a conversation (x-session-id header or the `user` field) stays on the model that first
 * served it, so the upstream's prompt cache stays warm. Bounded LRU with a time-to-live; a Map keeps
 * insertion order, so re-inserting on use makes the first key the least recently used. With `shared`, a
 * session this process has not seen is looked up in the exchange log every worker and replica writes, so
 * all of them keep it on the same model without sharing memory.
 */
export class Sessions {
  private readonly map = new Map<string, { model: string; expires: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly shared: SharedSessions | null;

  constructor(maxEntries = 100_000, ttlMs = 3_600_000, shared: SharedSessions | null = null) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.shared = shared;
  }

  /**
   * The session's model: from memory, else from the shared log. `continuing`: the request carries earlier
   * turns, so the session was served before and its exchange may still be on its way to the log (batched
   * every few ms): wait for it briefly rather than route the conversation somewhere new.
   */
  async resolve(session: string, continuing: boolean, now = Date.now()): Promise<string | null> {
    const local = this.get(session, now);
    if (local || !this.shared) return local;
    const end = now + (continuing ? 200 : 0);
    for (let pause = 10; ; pause = Math.min(pause * 2, 80)) {
      let found: string | null = null;
      try {
        found = await this.shared(session, now - this.ttlMs);
      } catch (e) {
        process.stderr.write(`fusionkit serve: session lookup failed: ${(e as Error).message}\n`);
        return null;
      }
      if (found) {
        this.set(session, found, now);
        return found;
      }
      if (Date.now() >= end) return null;
      await new Promise((r) => setTimeout(r, pause));
    }
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
