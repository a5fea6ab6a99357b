/** Backoff policy for upstream calls: exponential with full jitter, or what the server asked for. */

export interface BackoffOptions {
  /** First retry waits up to this long (doubling each attempt). */
  baseDelayMs: number;
  /** Cap for computed delays. */
  maxDelayMs: number;
  /** Cap for server-requested delays (Retry-After); longer requests are shortened to this. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/**
 * Milliseconds the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or an HTTP date);
 * null when absent or unreadable.
 */
export function retryAfterMs(
  headers: { get(name: string): string | null } | undefined,
  now = Date.now(),
): number | null {
  if (!headers) return null;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && ms.trim() !== "" && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers.get("retry-after");
  if (ra === null || ra.trim() === "") return null;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * Delay before retry number `attempt` (0 = first retry): the server's Retry-After when given (capped),
 * else base × 2^attempt with full jitter in [half, full] so that many clients do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  serverMs: number | null,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (serverMs !== null) return Math.min(serverMs, opts.maxRetryAfterMs);
  const full = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** attempt);
  return Math.round(full / 2 + (random() * full) / 2);
}
