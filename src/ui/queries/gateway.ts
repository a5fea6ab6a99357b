import type Database from "better-sqlite3";
import { FINE_SPAN_MS, histogramPercentiles, LEVELS, wordQuery } from "./rollup.ts";

/**
 * The gateway's traffic for the dashboard: charts and totals over a time window from the rollup (rollup.ts:
 * pre-aggregated per slot, so their cost follows the window's slot count, not the log size), and the exchange log
 * itself one page at a time (newest first, keyset pagination) over the indexes below, which keep its counts and
 * filters index-only scans of the window (migration 10, data/migrations.ts).
 */

/** Buckets per chart: enough to see a trend, few enough to draw and send quickly. */
export const BUCKETS = 60;

export interface TimeWindow {
  /** Epoch ms, inclusive (aligned to the rollup level). */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Bucket width in ms (a multiple of the level). */
  step: number;
  /** Rollup slot width the charts read (rollup.LEVELS). */
  level: number;
}

/** The last `seconds` before `now`, or (null) everything logged; charted in about BUCKETS buckets. */
export function timeWindow(db: Database.Database, seconds: number | null, now: number): TimeWindow {
  let from: number;
  let to = now;
  if (seconds === null) {
    const r = db
      .prepare<[], { lo: number | null; hi: number | null }>(
        "SELECT MIN(at) AS lo, MAX(at) AS hi FROM gateway_exchanges",
      )
      .get() as { lo: number | null; hi: number | null };
    from = r.lo ?? now - 3600_000;
    to = Math.max(now, (r.hi ?? now) + 1);
  } else from = now - seconds * 1000;
  const wanted = (to - from) / BUCKETS;
  // Fine slots exist for the last day only (rollup.FINE_SPAN_MS).
  const [fine, coarse] = LEVELS;
  const level = wanted >= coarse || from < now - FINE_SPAN_MS ? coarse : fine;
  const step = Math.ceil(wanted / level) * level;
  return { from: Math.floor(from / level) * level, to, step, level };
}

export interface Bucket {
  t: number;
  requests: number;
  errors: number;
  fallbacks: number;
  spend: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}
export interface ModelBucket {
  t: number;
  model: string;
  requests: number;
  spend: number;
}
export interface GatewayOverview {
  window: TimeWindow;
  /** Newest exchange in the whole log (epoch ms), null when the log is empty. */
  latestAt: number | null;
  totals: {
    requests: number;
    perSecond: number;
    errors: number;
    fallbacks: number;
    spend: number;
    /** Latency percentiles read from the rollup's histogram (within about ±5%). */
    p50: number | null;
    p95: number | null;
    p99: number | null;
  };
  statuses: Array<{ status: number; requests: number }>;
  models: Array<{ model: string; requests: number; share: number; spend: number; meanLatency: number }>;
  series: Bucket[];
  modelSeries: ModelBucket[];
}

const PERCENTILES = [50, 95, 99] as const;

/** Charts and totals of a window from the rollup (catch it up first). */
export function gatewayOverview(db: Database.Database, w: TimeWindow): GatewayOverview {
  const range = "level = ? AND slot >= ? AND slot < ?";
  const rangeParams = [w.level, Math.floor(w.from / w.level), Math.ceil(w.to / w.level)];
  const bucket = "CAST((slot * ? - ?) / ? AS INTEGER)";
  const bucketParams = [w.level, w.from, w.step];
  const t = (b: number) => w.from + b * w.step;
  const counts = db
    .prepare<unknown[], { b: number; requests: number; errors: number; fallbacks: number; spend: number }>(
      `SELECT ${bucket} AS b, SUM(requests) AS requests, SUM(CASE WHEN status >= 400 THEN requests ELSE 0 END) AS errors,
       SUM(fallbacks) AS fallbacks, TOTAL(spend) AS spend FROM ui_gateway_rollup WHERE ${range} GROUP BY b ORDER BY b`,
    )
    .all(...bucketParams, ...rangeParams);
  const hist = db
    .prepare<unknown[], { b: number; bin: number; n: number }>(
      `SELECT ${bucket} AS b, bin, SUM(n) AS n FROM ui_gateway_latency WHERE ${range} GROUP BY b, bin`,
    )
    .all(...bucketParams, ...rangeParams);
  const byBucket = new Map<number, Map<number, number>>();
  const whole = new Map<number, number>();
  for (const h of hist) {
    let m = byBucket.get(h.b);
    if (!m) {
      m = new Map();
      byBucket.set(h.b, m);
    }
    m.set(h.bin, h.n);
    whole.set(h.bin, (whole.get(h.bin) ?? 0) + h.n);
  }
  const series: Bucket[] = counts.map(({ b, ...c }) => {
    const [p50 = null, p95 = null, p99 = null] = histogramPercentiles(byBucket.get(b) ?? new Map(), PERCENTILES);
    return { t: t(b), ...c, p50, p95, p99 };
  });
  const modelSeries = db
    .prepare<unknown[], { b: number; model: string; requests: number; spend: number }>(
      `SELECT ${bucket} AS b, model, SUM(requests) AS requests, TOTAL(spend) AS spend FROM ui_gateway_rollup
       WHERE ${range} AND model != '' GROUP BY b, model ORDER BY b`,
    )
    .all(...bucketParams, ...rangeParams)
    .map(({ b, ...rest }) => ({ t: t(b), ...rest }));
  const statuses = db
    .prepare<unknown[], { status: number; requests: number }>(
      `SELECT status, SUM(requests) AS requests FROM ui_gateway_rollup WHERE ${range} GROUP BY status ORDER BY status`,
    )
    .all(...rangeParams);
  const perModel = db
    .prepare<unknown[], { model: string; requests: number; spend: number; latency: number }>(
      `SELECT model, SUM(requests) AS requests, TOTAL(spend) AS spend, TOTAL(latency_sum) AS latency
       FROM ui_gateway_rollup WHERE ${range} AND model != '' GROUP BY model ORDER BY requests DESC`,
    )
    .all(...rangeParams);
  const latest = db.prepare<[], { hi: number | null }>("SELECT MAX(at) AS hi FROM gateway_exchanges").get() as {
    hi: number | null;
  };

  const sum = (f: (b: Bucket) => number) => series.reduce((s, b) => s + f(b), 0);
  const requests = sum((b) => b.requests);
  const served = perModel.reduce((s, m) => s + m.requests, 0);
  const [p50 = null, p95 = null, p99 = null] = histogramPercentiles(whole, PERCENTILES);
  const spanSeconds = (w.to - w.from) / 1000;
  return {
    window: w,
    latestAt: latest.hi,
    totals: {
      requests,
      perSecond: spanSeconds > 0 ? requests / spanSeconds : 0,
      errors: sum((b) => b.errors),
      fallbacks: sum((b) => b.fallbacks),
      spend: sum((b) => b.spend),
      p50,
      p95,
      p99,
    },
    statuses,
    models: perModel.map((m) => ({
      model: m.model,
      requests: m.requests,
      share: served ? m.requests / served : 0,
      spend: m.spend,
      meanLatency: m.requests ? m.latency / m.requests : 0,
    })),
    series,
    modelSeries,
  };
}

/** Word-search matches counted at most (the page shows "1,000+"); other counts come whole from the rollup. */
export const WORD_COUNT_CAP = 1_000;

export type ExchangeStatusFilter = "ok" | "error" | "fallback";
export const EXCHANGE_STATUS_FILTERS: readonly ExchangeStatusFilter[] = ["ok", "error", "fallback"];

export interface ExchangeFilter {
  window: TimeWindow;
  model?: string | null;
  status?: ExchangeStatusFilter | null;
  text?: string | null;
  /** Cursor from the previous page: rows strictly older than this (at, rowid). */
  before?: { at: number; rowid: number } | null;
  limit: number;
}

export interface ExchangeRow {
  requestId: string;
  at: number;
  requestedModel: string;
  router: string | null;
  servedModel: string | null;
  mode: string | null;
  status: number;
  latencyMs: number;
  cost: number | null;
  attempts: number;
  stream: boolean;
  query: string;
  error: string | null;
  feedback: number | null;
  /** Pass as `before` to get the next (older) page. */
  cursor: string;
}

export function exchangesPage(
  db: Database.Database,
  f: ExchangeFilter,
): { total: number; capped: boolean; rows: ExchangeRow[]; next: string | null } {
  const parts = ["e.at >= ?", "e.at < ?"];
  const params: unknown[] = [f.window.from, f.window.to];
  if (f.model) {
    parts.push("e.served_model = ?");
    params.push(f.model);
  }
  if (f.status === "ok") parts.push("e.status < 400");
  else if (f.status === "error") parts.push("e.status >= 400");
  else if (f.status === "fallback") parts.push("e.attempts > 1");
  const words = f.text ? wordQuery(f.text) : null;
  let from = "gateway_exchanges e";
  let order = "e.at DESC, e.rowid DESC";
  let page = f.before ? " AND (e.at < ? OR (e.at = ? AND e.rowid < ?))" : "";
  let pageParams = f.before ? [f.before.at, f.before.at, f.before.rowid] : [];
  let total: number;
  if (words) {
    // Word search walks the word index newest-first (rowid order is log order), from the first rowid of the
    // window on, so a common word finds its page at once and a rare one reads only its own matches.
    from = "ui_exchange_text t JOIN gateway_exchanges e ON e.rowid = t.rowid";
    parts.push("ui_exchange_text MATCH ?", "t.rowid >= ?");
    params.push(words, firstRowid(db, f.window.from));
    order = "t.rowid DESC";
    page = f.before ? " AND t.rowid < ?" : "";
    pageParams = f.before ? [f.before.rowid] : [];
    total = (
      db
        .prepare<unknown[], { n: number }>(
          `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${from} WHERE ${parts.join(" AND ")} LIMIT ${WORD_COUNT_CAP + 1})`,
        )
        .get(...params) as { n: number }
    ).n;
  } else total = rollupCount(db, f);
  const where = parts.join(" AND ");
  // Nothing matches: skip the page query, which would otherwise walk the whole window to find no row.
  if (total === 0) return { total, capped: false, rows: [], next: null };
  const rows = db
    .prepare<
      unknown[],
      {
        rid: number;
        request_id: string;
        at: number;
        requested_model: string;
        router: string | null;
        served_model: string | null;
        mode: string | null;
        status: number;
        latency_ms: number;
        cost: number | null;
        attempts: number;
        stream: number;
        query: string;
        error: string | null;
        feedback: number | null;
      }
    >(
      `SELECT e.rowid AS rid, e.request_id, e.at, e.requested_model, e.router, e.served_model, e.mode, e.status,
       e.latency_ms, e.cost, e.attempts, e.stream, substr(e.query, 1, 200) AS query, substr(e.error, 1, 300) AS error,
       f.score AS feedback
       FROM ${from} LEFT JOIN gateway_feedback f ON f.request_id = e.request_id
       WHERE ${where}${page} ORDER BY ${order} LIMIT ?`,
    )
    .all(...params, ...pageParams, f.limit);
  const out = rows.map((r) => ({
    requestId: r.request_id,
    at: r.at,
    requestedModel: r.requested_model,
    router: r.router,
    servedModel: r.served_model,
    mode: r.mode,
    status: r.status,
    latencyMs: r.latency_ms,
    cost: r.cost,
    attempts: r.attempts,
    stream: r.stream === 1,
    query: r.query,
    error: r.error,
    feedback: r.feedback,
    cursor: `${r.at}:${r.rid}`,
  }));
  const last = out[out.length - 1];
  return {
    total: words ? Math.min(total, WORD_COUNT_CAP) : total,
    capped: words !== null && total > WORD_COUNT_CAP,
    rows: out,
    next: out.length === f.limit && last ? last.cursor : null,
  };
}

/**
 * Exchanges in a window with a model / status filter, counted from the rollup (caught up by the caller): the
 * window starts on a slot boundary and ends now, so the slots hold exactly its rows.
 */
function rollupCount(db: Database.Database, f: ExchangeFilter): number {
  const w = f.window;
  const parts = ["level = ?", "slot >= ?", "slot < ?"];
  const params: unknown[] = [w.level, Math.floor(w.from / w.level), Math.ceil(w.to / w.level)];
  if (f.model) {
    parts.push("model = ?");
    params.push(f.model);
  }
  if (f.status === "ok") parts.push("status < 400");
  else if (f.status === "error") parts.push("status >= 400");
  const what = f.status === "fallback" ? "fallbacks" : "requests";
  const r = db
    .prepare<unknown[], { n: number | null }>(
      `SELECT SUM(${what}) AS n FROM ui_gateway_rollup WHERE ${parts.join(" AND ")}`,
    )
    .get(...params) as { n: number | null };
  return r.n ?? 0;
}

/** Rowid of the first exchange logged at or after `at` (rows are appended in time order), 0 when none. */
function firstRowid(db: Database.Database, at: number): number {
  const r = db
    .prepare<[number], { rid: number }>("SELECT rowid AS rid FROM gateway_exchanges WHERE at >= ? ORDER BY at LIMIT 1")
    .get(at);
  // Batched writes from several gateway workers interleave a little: start a margin of rows earlier.
  return r ? Math.max(0, r.rid - 10_000) : Number.MAX_SAFE_INTEGER;
}

export function parseCursor(value: string | undefined): { at: number; rowid: number } | null {
  if (!value) return null;
  const m = /^(\d+(?:\.\d+)?):(\d+)$/.exec(value);
  if (!m) return null;
  return { at: Number(m[1]), rowid: Number(m[2]) };
}

/** One entry of the routing decision as the gateway logged it (x-fusionkit-candidates). */
export interface RankedEntry {
  candidate: string;
  score: number | null;
  performance: number | null;
  cost: number | null;
}

/** "key;score=0.61;perf=0.7;cost=1.2e-5, key2;..." → entries (unknown fields are ignored). */
export function parseCandidates(header: string | null): RankedEntry[] {
  if (!header) return [];
  return header
    .split(", ")
    .map((part) => {
      const [candidate = "", ...fields] = part.trim().split(";");
      const value = (name: string) => {
        const f = fields.find((x) => x.startsWith(`${name}=`));
        const n = f ? Number(f.slice(name.length + 1)) : Number.NaN;
        return Number.isFinite(n) ? n : null;
      };
      return { candidate, score: value("score"), performance: value("perf"), cost: value("cost") };
    })
    .filter((e) => e.candidate);
}

export interface ExchangeDetail extends Omit<ExchangeRow, "cursor"> {
  session: string | null;
  keyId: string | null;
  query: string;
  request: string | null;
  response: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  ttfbMs: number | null;
  ranked: RankedEntry[];
}

export function exchangeDetail(db: Database.Database, requestId: string): ExchangeDetail | null {
  const r = db
    .prepare<[string], Record<string, unknown>>(
      `SELECT e.*, f.score AS feedback FROM gateway_exchanges e
       LEFT JOIN gateway_feedback f ON f.request_id = e.request_id WHERE e.request_id = ?`,
    )
    .get(requestId);
  if (!r) return null;
  const str = (k: string) => (r[k] ?? null) as string | null;
  const num = (k: string) => (r[k] ?? null) as number | null;
  return {
    requestId: r.request_id as string,
    at: r.at as number,
    requestedModel: r.requested_model as string,
    router: str("router"),
    servedModel: str("served_model"),
    mode: str("mode"),
    status: r.status as number,
    latencyMs: r.latency_ms as number,
    cost: num("cost"),
    attempts: r.attempts as number,
    stream: r.stream === 1,
    query: r.query as string,
    error: str("error"),
    feedback: num("feedback"),
    session: str("session"),
    keyId: str("key_id"),
    request: str("request"),
    response: str("response"),
    inputTokens: num("input_tokens"),
    outputTokens: num("output_tokens"),
    ttfbMs: num("ttfb_ms"),
    ranked: parseCandidates(str("candidates")),
  };
}
