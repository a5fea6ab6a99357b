import type Database from "better-sqlite3";
import { HttpError } from "./errors.ts";
import type { ActiveKey } from "./keys.ts";
import type { Exchange } from "./log.ts";
import { escapeLabel } from "./metrics.ts";

/**
 * Where a request is checked against its key's limits: a KeyMeter in this process, or (a worker of
 * `serve --workers`) the primary's, so the limits hold for the whole gateway, not per worker.
 */
export interface KeyAdmission {
  /** Resolves when admitted; throws the 403/429 HttpError the client gets. */
  admit(key: ActiveKey, model: string): void | Promise<void>;
}

/**
 * Per-key limits at the gateway: allowed models (403), USD budgets per UTC day and month (429 until the
 * period resets), requests and tokens per minute (429 with Retry-After). Spend is what the exchange log
 * records per key (`gateway_exchanges.cost`), so it survives restarts: at start the current day's and month's
 * spend are summed from the store, then counted as exchanges finish. A request is admitted on the spend so
 * far, so the request that crosses a budget completes (its cost is not known before it runs).
 */

const MINUTE_MS = 60_000;

interface Window {
  /** Epoch ms of each event in the last minute, oldest first, with its weight (1 per request, or tokens). */
  at: number[];
  weight: number[];
  sum: number;
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function nextUtcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

function nextUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function dayStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

export class KeyMeter implements KeyAdmission {
  private day: string;
  private month: number;
  private readonly spendDay = new Map<string, number>();
  private readonly spendMonth = new Map<string, number>();
  /** USD per key since the gateway started (the /metrics counter). */
  private readonly spendTotal = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private readonly requests = new Map<string, Window>();
  private readonly tokens = new Map<string, Window>();
  private readonly now: () => number;

  /** `db`: the SQLite store whose exchange log holds the spend so far (null: count from now). */
  constructor(db: Database.Database | null, now: () => number = Date.now) {
    this.now = now;
    const t = now();
    this.day = utcDay(t);
    this.month = monthStart(t);
    const logged = db?.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gateway_exchanges'").get();
    const rows =
      !logged || !db
        ? []
        : db
            .prepare<[number, number], { key_id: string; day: number; month: number }>(
              `SELECT key_id, SUM(CASE WHEN at >= ? THEN cost ELSE 0 END) AS day, SUM(cost) AS month
         FROM gateway_exchanges WHERE at >= ? AND key_id IS NOT NULL AND cost IS NOT NULL GROUP BY key_id`,
            )
            .all(dayStart(t), this.month);
    for (const r of rows) {
      this.spendDay.set(r.key_id, r.day);
      this.spendMonth.set(r.key_id, r.month);
    }
  }

  /** Spend of a key in the current UTC day and month (USD). */
  spend(keyId: string): { day: number; month: number } {
    this.roll(this.now());
    return { day: this.spendDay.get(keyId) ?? 0, month: this.spendMonth.get(keyId) ?? 0 };
  }

  /** Admit one request of `key` for `model`, or throw the 403/429 the client gets. */
  admit(key: ActiveKey, model: string): void {
    const t = this.now();
    this.roll(t);
    const l = key.limits;
    const who = `key '${key.name}' (${key.id})`;
    if (l.models && !l.models.includes(model)) {
      this.reject(key.id, "model");
      throw new HttpError(
        403,
        "permission_error",
        `${who} may not use model '${model}' (allowed: ${l.models.join(", ")})`,
        "model_not_allowed",
        "model",
      );
    }
    for (const [limit, spent, period, resetAt] of [
      [l.budgetDay, this.spendDay.get(key.id) ?? 0, "daily", nextUtcDay(t)],
      [l.budgetMonth, this.spendMonth.get(key.id) ?? 0, "monthly", nextUtcMonth(t)],
    ] as const)
      if (limit !== null && spent >= limit) {
        this.reject(key.id, `budget_${period}`);
        const err = new HttpError(
          429,
          "rate_limit_error",
          `${who} has spent $${spent.toFixed(6)} of its $${limit} ${period} budget; it resets at ${new Date(resetAt).toISOString()}`,
          "budget_exceeded",
        );
        // Retrying within the period cannot help: tell the SDKs so instead of letting them retry at once.
        err.headers["retry-after"] = String(Math.ceil((resetAt - t) / 1000));
        err.headers["x-should-retry"] = "false";
        throw err;
      }
    const reqs = this.window(this.requests, key.id, t);
    if (l.rpm !== null && reqs.at.length >= l.rpm) throw this.rateLimited(key, "requests", l.rpm, reqs, t);
    const toks = this.window(this.tokens, key.id, t);
    if (l.tpm !== null && toks.sum >= l.tpm) throw this.rateLimited(key, "tokens", l.tpm, toks, t);
    reqs.at.push(t);
    reqs.weight.push(1);
    reqs.sum++;
  }

  /** Count a finished exchange of a key: its cost toward the budgets, its tokens toward the minute. */
  record(keyId: string, cost: number, tokens: number): void {
    const t = this.now();
    this.roll(t);
    if (cost > 0) {
      this.spendDay.set(keyId, (this.spendDay.get(keyId) ?? 0) + cost);
      this.spendMonth.set(keyId, (this.spendMonth.get(keyId) ?? 0) + cost);
      this.spendTotal.set(keyId, (this.spendTotal.get(keyId) ?? 0) + cost);
    }
    if (tokens > 0) {
      const w = this.window(this.tokens, keyId, t);
      w.at.push(t);
      w.weight.push(tokens);
      w.sum += tokens;
    }
  }

  /** Count a finished exchange toward its key's budgets and tokens per minute (none without a key). */
  recordExchange(e: Exchange): void {
    if (e.keyId) this.record(e.keyId, e.cost ?? 0, (e.inputTokens ?? 0) + (e.outputTokens ?? 0));
  }

  /** Prometheus lines: spend per key (since start, and in the current day/month) and rejections. */
  render(): string {
    this.roll(this.now());
    const out: string[] = [
      "# HELP fusionkit_key_spend_usd_total Upstream spend in USD per client key since the gateway started.",
      "# TYPE fusionkit_key_spend_usd_total counter",
    ];
    for (const [k, v] of this.spendTotal) out.push(`fusionkit_key_spend_usd_total{key="${escapeLabel(k)}"} ${v}`);
    out.push(
      "# HELP fusionkit_key_spend_usd Spend in USD per client key in the current UTC day and month (from the store).",
      "# TYPE fusionkit_key_spend_usd gauge",
    );
    for (const [k, v] of this.spendDay) out.push(`fusionkit_key_spend_usd{key="${escapeLabel(k)}",period="day"} ${v}`);
    for (const [k, v] of this.spendMonth)
      out.push(`fusionkit_key_spend_usd{key="${escapeLabel(k)}",period="month"} ${v}`);
    out.push(
      "# HELP fusionkit_key_rejections_total Requests refused by a key's limits, by key and reason.",
      "# TYPE fusionkit_key_rejections_total counter",
    );
    for (const [labels, v] of this.rejected) out.push(`fusionkit_key_rejections_total{${labels}} ${v}`);
    return `${out.join("\n")}\n`;
  }

  private reject(keyId: string, reason: string): void {
    const labels = `key="${escapeLabel(keyId)}",reason="${reason}"`;
    this.rejected.set(labels, (this.rejected.get(labels) ?? 0) + 1);
  }

  private rateLimited(key: ActiveKey, what: string, limit: number, w: Window, t: number): HttpError {
    this.reject(key.id, what === "requests" ? "rpm" : "tpm");
    // The wait until enough of the last minute's events age out to get under the limit.
    let excess = w.sum - limit;
    let i = 0;
    while (i < w.at.length && excess >= 0) excess -= w.weight[i++] as number;
    const agesOut = i > 0 ? (w.at[i - 1] as number) + MINUTE_MS : t + MINUTE_MS;
    const waitMs = Math.max(1000, agesOut - t);
    const err = new HttpError(
      429,
      "rate_limit_error",
      `key '${key.name}' (${key.id}) is over its limit of ${limit} ${what} per minute; retry in ${Math.ceil(waitMs / 1000)} s`,
      what === "requests" ? "rate_limit_requests" : "rate_limit_tokens",
    );
    err.headers["retry-after"] = String(Math.ceil(waitMs / 1000));
    return err;
  }

  /** The key's events of the last minute (older ones dropped). */
  private window(map: Map<string, Window>, keyId: string, t: number): Window {
    let w = map.get(keyId);
    if (!w) {
      w = { at: [], weight: [], sum: 0 };
      map.set(keyId, w);
    }
    let drop = 0;
    while (drop < w.at.length && (w.at[drop] as number) <= t - MINUTE_MS) w.sum -= w.weight[drop++] as number;
    if (drop) {
      w.at.splice(0, drop);
      w.weight.splice(0, drop);
    }
    return w;
  }

  /** A new UTC day or month starts every key's spend for that period at zero. */
  private roll(t: number): void {
    const day = utcDay(t);
    if (day !== this.day) {
      this.day = day;
      this.spendDay.clear();
    }
    const month = monthStart(t);
    if (month !== this.month) {
      this.month = month;
      this.spendMonth.clear();
    }
  }
}
