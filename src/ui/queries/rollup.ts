import type Database from "better-sqlite3";

/**
 * Pre-aggregated gateway traffic, so the dashboard's charts cost the same with 10 thousand or 10 million logged
 * exchanges: per time slot (10 s and 10 min), served model and status, the request count, fallbacks, spend and
 * latency sum, plus a latency histogram per slot (log-spaced bins, 10% wide) from which percentiles are read.
 *
 * The same catch-up indexes each exchange's routed text for the exchange log's word search (ui_exchange_text,
 * a contentless FTS5 index keyed by the exchange's rowid).
 *
 * The rollup follows the exchange log by rowid: each catch-up aggregates only the rows logged since the last
 * one, in one IMMEDIATE transaction that also moves the watermark, so two dashboards over one store never count
 * a row twice. It counts what was logged: an exchange deleted from the log later stays counted. Its tables are
 * migration 10 (data/migrations.ts).
 */

/**
 * Take exchanges that are being deleted (retention) out of the word index, inside the deleting transaction: a
 * contentless FTS5 index forgets a row only when given the text it indexed, and only rows the catch-up has
 * indexed (up to the watermark) may be given.
 */
export function forgetIndexedText(db: Database.Database, rows: ReadonlyArray<{ rid: number; query: string }>): void {
  const state = db.prepare("SELECT last_rowid FROM ui_gateway_rollup_state WHERE id = 1").get() as
    | { last_rowid: number }
    | undefined;
  const last = state?.last_rowid ?? 0;
  const forget = db.prepare("INSERT INTO ui_exchange_text (ui_exchange_text, rowid, query) VALUES ('delete', ?, ?)");
  for (const r of rows) if (r.rid <= last) forget.run(r.rid, r.query);
}

/** Slot widths in ms: fine for short windows, coarse for long ones. */
export const LEVELS = [10_000, 600_000] as const;
/**
 * Fine (10 s) slots are kept for the last day only — windows of up to 24 h that end now read them — so the
 * rollup stays small however long the log grows, and a first catch-up over a large old log is quick.
 */
export const FINE_SPAN_MS = 86_400_000;
const FINE_KEEP_MS = FINE_SPAN_MS + 3_600_000;

/** Latency bins grow by 10%: a percentile read from them is within about ±5% of the exact value. */
const BIN_GROWTH = 1.1;
const LOG_GROWTH = Math.log(BIN_GROWTH);

export function latencyBin(ms: number): number {
  return ms > 1 ? Math.floor(Math.log(ms) / LOG_GROWTH) : 0;
}

/** The value reported for a bin: its geometric middle. */
export function binValue(bin: number): number {
  return BIN_GROWTH ** (bin + 0.5);
}

/**
 * Nearest-rank percentiles (p in 0..100) of a histogram given as (bin, count) pairs: the bin holding the
 * ⌈p/100·n⌉-th smallest value. null when the histogram is empty.
 */
export function histogramPercentiles(hist: ReadonlyMap<number, number>, ps: readonly number[]): (number | null)[] {
  let total = 0;
  for (const n of hist.values()) total += n;
  if (total === 0) return ps.map(() => null);
  const bins = [...hist.keys()].sort((a, b) => a - b);
  return ps.map((p) => {
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (const b of bins) {
      seen += hist.get(b) as number;
      if (seen >= rank) return binValue(b);
    }
    return binValue(bins[bins.length - 1] as number);
  });
}

interface LogRow {
  rid: number;
  at: number;
  served_model: string | null;
  status: number;
  attempts: number;
  cost: number | null;
  latency_ms: number;
  query: string;
}

export class GatewayRollup {
  private readonly db: Database.Database;
  private readonly chunk: number;
  private readonly now: () => number;

  constructor(db: Database.Database, opts: { chunk?: number; now?: () => number } = {}) {
    this.db = db;
    this.chunk = opts.chunk ?? 5_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Aggregate the exchanges logged since the last catch-up, a chunk per transaction, until none are left or
   * `budgetMs` has passed (inside the gateway a long first catch-up must not stall its requests: each dashboard
   * refresh then does a bounded share). Returns the rows added and about how many are still waiting.
   */
  catchUp(budgetMs = Number.POSITIVE_INFINITY): { added: number; pending: number } {
    const end = performance.now() + budgetMs;
    let added = 0;
    for (;;) {
      const n = this.step();
      added += n;
      if (n < this.chunk || performance.now() >= end) return { added, pending: this.pending() };
    }
  }

  /** Exchanges logged after the watermark (from the rowid range: an estimate when rows were deleted). */
  pending(): number {
    const r = this.db
      .prepare(
        "SELECT (SELECT MAX(rowid) FROM gateway_exchanges) - COALESCE((SELECT last_rowid FROM ui_gateway_rollup_state WHERE id = 1), 0) AS n",
      )
      .get() as { n: number | null };
    return Math.max(0, r.n ?? 0);
  }

  /** One chunk of new rows, aggregated and written with the watermark in one IMMEDIATE transaction. */
  private step(): number {
    const db = this.db;
    return db
      .transaction(() => {
        const state = db.prepare("SELECT last_rowid FROM ui_gateway_rollup_state WHERE id = 1").get() as
          | { last_rowid: number }
          | undefined;
        const last = state?.last_rowid ?? 0;
        const rows = db
          .prepare<[number, number], LogRow>(
            `SELECT rowid AS rid, at, served_model, status, attempts, cost, latency_ms, query FROM gateway_exchanges
             WHERE rowid > ? ORDER BY rowid LIMIT ?`,
          )
          .all(last, this.chunk);
        if (rows.length === 0) return 0;
        const groups = new Map<
          string,
          {
            level: number;
            slot: number;
            model: string;
            status: number;
            n: number;
            fb: number;
            spend: number;
            lat: number;
          }
        >();
        const bins = new Map<string, { level: number; slot: number; bin: number; n: number }>();
        const [fine, coarse] = LEVELS;
        const fineFrom = this.now() - FINE_KEEP_MS;
        for (const r of rows) {
          const model = r.served_model ?? "";
          const bin = latencyBin(r.latency_ms);
          for (const level of r.at >= fineFrom ? LEVELS : [coarse]) {
            const slot = Math.floor(r.at / level);
            const gk = `${level}|${slot}|${r.status}|${model}`;
            let g = groups.get(gk);
            if (!g) {
              g = { level, slot, model, status: r.status, n: 0, fb: 0, spend: 0, lat: 0 };
              groups.set(gk, g);
            }
            g.n++;
            if (r.attempts > 1) g.fb++;
            g.spend += r.cost ?? 0;
            g.lat += r.latency_ms;
            const bk = `${level}|${slot}|${bin}`;
            const b = bins.get(bk);
            if (b) b.n++;
            else bins.set(bk, { level, slot, bin, n: 1 });
          }
        }
        const upGroup = db.prepare(
          `INSERT INTO ui_gateway_rollup (level, slot, model, status, requests, fallbacks, spend, latency_sum)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (level, slot, model, status) DO UPDATE SET requests = requests + excluded.requests,
           fallbacks = fallbacks + excluded.fallbacks, spend = spend + excluded.spend,
           latency_sum = latency_sum + excluded.latency_sum`,
        );
        for (const g of groups.values()) upGroup.run(g.level, g.slot, g.model, g.status, g.n, g.fb, g.spend, g.lat);
        const upBin = db.prepare(
          `INSERT INTO ui_gateway_latency (level, slot, bin, n) VALUES (?, ?, ?, ?)
           ON CONFLICT (level, slot, bin) DO UPDATE SET n = n + excluded.n`,
        );
        for (const b of bins.values()) upBin.run(b.level, b.slot, b.bin, b.n);
        const addText = db.prepare("INSERT INTO ui_exchange_text (rowid, query) VALUES (?, ?)");
        for (const r of rows) addText.run(r.rid, r.query);
        const oldFine = Math.floor(fineFrom / fine);
        db.prepare("DELETE FROM ui_gateway_rollup WHERE level = ? AND slot < ?").run(fine, oldFine);
        db.prepare("DELETE FROM ui_gateway_latency WHERE level = ? AND slot < ?").run(fine, oldFine);
        db.prepare(
          "INSERT INTO ui_gateway_rollup_state (id, last_rowid) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_rowid = excluded.last_rowid",
        ).run((rows[rows.length - 1] as LogRow).rid);
        return rows.length;
      })
      .immediate();
  }
}

/**
 * The exchange log's search text as an FTS5 query: every word must appear as a whole word (case and accents
 * ignored); null when the text has no word characters. Whole words, not prefixes: a prefix query merges the
 * doclists of every matching term up front, which takes about a second on a million exchanges.
 */
export function wordQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}]+/gu);
  return words ? words.map((w) => `"${w}"`).join(" ") : null;
}
