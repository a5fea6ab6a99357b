import { createHash } from "node:crypto";
import { Lru } from "./lru.ts";

/**
 * Session stickiness: a conversation (x-session-id header or the `user` field) stays on one model, so the
 * upstream's prompt cache stays warm. The model is a deterministic choice from the session id over the
 * ranked candidates of the conversation's first turn (plan.ts), so every worker and every replica makes the
 * same choice without talking to the others or reading a shared log.
 */

/** Rendezvous weight of a (session, candidate) pair: the first 48 bits of SHA-256("<session>\0<candidate>"). */
export function rendezvousWeight(session: string, candidate: string): number {
  return createHash("sha256").update(`${session}\u0000${candidate}`).digest().readUIntBE(0, 6);
}

/**
 * Rendezvous (highest-random-weight) hashing: the index of the candidate with the highest weight for this
 * session (ties, which need equal 48-bit hashes, go to the earlier one). The same inputs give the same
 * choice in any process; dropping a candidate that was not chosen leaves the choice as it is, and dropping
 * the chosen one moves only the sessions that had it.
 */
export function rendezvous(session: string, candidates: readonly string[]): number {
  let best = -1;
  let bestWeight = -1;
  for (const [i, c] of candidates.entries()) {
    const w = rendezvousWeight(session, c);
    if (w > bestWeight) {
      best = i;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * The candidate a session goes to, as an index into `ranked` (best first): with `tolerance` 0 the top one;
 * otherwise the rendezvous choice among the top one and every candidate whose score is within `tolerance` of
 * it, which spreads sessions over near-equal models. -1 when `ranked` is empty.
 */
export function sessionChoice(
  session: string,
  ranked: readonly { key: string; score: number }[],
  tolerance: number,
): number {
  if (ranked.length === 0) return -1;
  if (!(tolerance > 0)) return 0;
  const floor = ranked[0].score - tolerance;
  const near: number[] = [0];
  for (let i = 1; i < ranked.length; i++) if (ranked[i].score >= floor) near.push(i);
  return near[
    rendezvous(
      session,
      near.map((i) => ranked[i].key),
    )
  ];
}

/**
 * The sessions this process has chosen for (session → candidate key), so a request that does not carry its
 * conversation's first turn (a client that keeps the history itself) stays put here too: the gateway's LRU
 * (lru.ts) with a time-to-live renewed on use. It only remembers choices: forgetting one (eviction, expiry, a
 * router reload) costs a ranking of the first turn, not a different model.
 */
export class Sessions {
  private readonly chosen: Lru<{ model: string; expires: number }>;
  private readonly ttlMs: number;

  constructor(maxEntries = 100_000, ttlMs = 3_600_000) {
    this.chosen = new Lru(maxEntries);
    this.ttlMs = ttlMs;
  }

  get(session: string, now = Date.now()): string | null {
    const e = this.chosen.get(session);
    if (!e) return null;
    if (e.expires < now) {
      this.chosen.delete(session);
      return null;
    }
    this.set(session, e.model, now);
    return e.model;
  }

  set(session: string, model: string, now = Date.now()): void {
    this.chosen.set(session, { model, expires: now + this.ttlMs });
  }

  /** Forget every choice (the routers changed: choose again from the new rankings, as every replica will). */
  clear(): void {
    this.chosen.clear();
  }

  get size(): number {
    return this.chosen.size;
  }
}
