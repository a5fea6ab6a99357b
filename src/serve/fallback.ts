import type { ServerResponse } from "node:http";
import type { Mode } from "../data/types.ts";
import type { Breakers } from "./breaker.ts";
import { HttpError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";
import type { Planned } from "./plan.ts";
import { UpstreamFailure } from "./upstream.ts";

/**
 * Fallback: try the planned candidates in order until one answers. A candidate whose circuit is open is
 * skipped; connection errors, timeouts, 429, 5xx and malformed replies before anything reached the client move
 * on to the next; a rejection of the request itself (400/413/422) is relayed, since another model would refuse
 * it too. Every try tells its breaker how the upstream did, or releases its slot — whatever was thrown.
 */

/** What one request was served with (or why not): the exchange log's view. */
export interface Served {
  status: number;
  model: string | null;
  mode: Mode | null;
  response: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cost: number | null;
  ttfbMs: number | null;
  error: string | null;
  attempts: number;
}

/** One try's result (the attempt count is the loop's). */
export type Outcome = Omit<Served, "attempts">;

/** What a request did so far, kept even when it ends in an error (the exchange log records the attempts). */
export interface Trace {
  attempts: number;
}

export interface ClientGone {
  gone: boolean;
  /** The gateway is shutting down and ended this request. */
  shutdown: boolean;
  /** Aborts when the client goes away or the gateway ends the request. */
  signal: AbortSignal;
}

/** Tracks the client going away (connection closed before the response finished) and shutdown's `stop`. */
export function clientGone(out: ServerResponse, stop: AbortSignal): ClientGone {
  const ctrl = new AbortController();
  const state: ClientGone = { gone: false, shutdown: false, signal: ctrl.signal };
  out.once("close", () => {
    if (out.writableFinished) return;
    state.gone = true;
    ctrl.abort();
  });
  const onStop = () => {
    state.shutdown = true;
    ctrl.abort();
  };
  if (stop.aborted) onStop();
  else stop.addEventListener("abort", onStop, { once: true });
  return state;
}

export function shuttingDown(): HttpError {
  return new HttpError(503, "service_unavailable", "the gateway is shutting down", "shutting_down");
}

export interface FallbackDeps {
  breakers: Breakers;
  metrics: Metrics;
}

/**
 * Try `candidates` in order with `once` (which sends to one upstream and relays its answer) until one
 * answers; throws the HttpError the client gets when none does (503 circuit_open, 429, 502, or the upstream's
 * own 4xx rejection), 503 shutting_down when the gateway ended the request.
 */
export async function tryCandidates(
  d: FallbackDeps,
  candidates: readonly Planned[],
  closed: ClientGone,
  trace: Trace,
  once: (cand: Planned, attempts: number) => Promise<Outcome>,
): Promise<Served> {
  const failures: string[] = [];
  let only429 = true;
  let skipped = 0;
  for (const cand of candidates) {
    if (closed.shutdown) throw shuttingDown();
    if (closed.gone) break;
    if (!d.breakers.tryAcquire(cand.model)) {
      skipped++;
      failures.push(`${cand.model}: circuit open`);
      continue;
    }
    const attempts = ++trace.attempts;
    // Whether this try told the breaker how the upstream did; if not, its slot (maybe the half-open probe)
    // is released whatever happened — a throw before sending included.
    let judged = false;
    try {
      const result = await once(cand, attempts);
      if (result.status < 500) d.breakers.success(cand.model);
      else d.breakers.failure(cand.model);
      judged = true;
      return { ...result, attempts };
    } catch (e) {
      if (!(e instanceof UpstreamFailure)) throw e;
      if (e.kind === "aborted") {
        if (closed.shutdown) throw shuttingDown();
        return clientClosed(cand, attempts);
      }
      if (!e.retryable)
        // The upstream refused the request itself (400/413/422...): another model would too. Relay it.
        throw new HttpError(
          e.status ?? 400,
          "invalid_request_error",
          `upstream '${cand.model}' rejected the request: ${upstreamMessage(e)}`,
          "upstream_rejected",
        );
      d.breakers.failure(cand.model);
      judged = true;
      d.metrics.fallback(cand.model, e.kind === "status" ? String(e.status) : e.kind);
      if (e.status !== 429) only429 = false;
      failures.push(`${cand.model}: ${e.message}`);
    } finally {
      if (!judged) d.breakers.release(cand.model);
    }
  }
  if (closed.gone) return clientClosed(null, trace.attempts);
  if (trace.attempts === 0)
    throw new HttpError(
      503,
      "service_unavailable",
      `every candidate's circuit breaker is open (${failures.join("; ")}); retry shortly`,
      "circuit_open",
    );
  if (only429 && skipped === 0)
    throw new HttpError(
      429,
      "rate_limit_error",
      `every candidate is rate limited: ${failures.join("; ")}`,
      "upstream_rate_limited",
    );
  const failed = new HttpError(
    502,
    "upstream_error",
    `all ${candidates.length} candidates failed: ${failures.join("; ")}`,
    "upstream_failed",
  );
  // Every candidate was tried: an SDK's automatic retries would only repeat all of them.
  failed.headers["x-should-retry"] = "false";
  throw failed;
}

function clientClosed(cand: Planned | null, attempts: number): Served {
  return {
    status: 499,
    model: cand?.model ?? null,
    mode: cand?.mode ?? null,
    response: null,
    inputTokens: null,
    outputTokens: null,
    cost: null,
    ttfbMs: null,
    error: "client closed the connection",
    attempts,
  };
}

/** The upstream's error message, for relaying a rejection the client caused (redacted where it is sent). */
function upstreamMessage(e: UpstreamFailure): string {
  let msg = e.message;
  if (e.body) {
    try {
      const parsed = JSON.parse(e.body) as { error?: { message?: unknown } };
      if (typeof parsed.error?.message === "string") msg = parsed.error.message;
    } catch {
      msg = e.body.slice(0, 300);
    }
  }
  return msg;
}
