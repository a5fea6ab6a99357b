import Database from "better-sqlite3";
import type { Redact } from "../util/redact.ts";
import { exchangeAsLogged, type LogMode } from "./log-mode.ts";

/**
 * The gateway's exchange log: every chat request (served, failed or refused after routing) becomes one row
 * of routing data. Rows are buffered and written in one transaction a few milliseconds later (or when the
 * buffer fills), so the hot path costs an array push; `close()` flushes what is left. A write that fails
 * (another process holds the store's lock during an import) keeps its rows and retries: nothing answered is
 * lost, and no write error reaches a request or the process. Its tables are migration 5 (data/migrations.ts).
 */

export interface Exchange {
  requestId: string;
  /** Epoch milliseconds. */
  at: number;
  keyId: string | null;
  session: string | null;
  requestedModel: string;
  router: string | null;
  servedModel: string | null;
  mode: string | null;
  /** The text the routing decision read. */
  query: string;
  /** The messages forwarded (JSON), so the exchange can be replayed or relabelled. */
  request: string | null;
  response: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cost: number | null;
  latencyMs: number;
  ttfbMs: number | null;
  status: number;
  error: string | null;
  stream: boolean;
  attempts: number;
  /** Ranked candidates with predicted scores (JSON). */
  candidates: string | null;
  /** `serve --explore`: the candidate the router ranked first when the request went to the runner-up instead. */
  explored?: string | null;
  /** How much of the conversation the row keeps (log-mode.ts); set when the log takes the row. */
  logMode?: LogMode;
}

/**
 * The columns of gateway_exchanges in insert order, with the PostgreSQL array type a batch is sent as and the
 * field each is read from: the one column list both stores write (SQLite here, PostgreSQL in postgres/store.ts).
 */
export const EXCHANGE_COLUMNS: ReadonlyArray<[column: string, pgType: string, get: (e: Exchange) => unknown]> = [
  ["request_id", "text", (e) => e.requestId],
  ["at", "float8", (e) => e.at],
  ["key_id", "text", (e) => e.keyId],
  ["session", "text", (e) => e.session],
  ["requested_model", "text", (e) => e.requestedModel],
  ["router", "text", (e) => e.router],
  ["served_model", "text", (e) => e.servedModel],
  ["mode", "text", (e) => e.mode],
  ["query", "text", (e) => e.query],
  ["request", "text", (e) => e.request],
  ["response", "text", (e) => e.response],
  ["input_tokens", "int4", (e) => e.inputTokens],
  ["output_tokens", "int4", (e) => e.outputTokens],
  ["cost", "float8", (e) => e.cost],
  ["latency_ms", "float8", (e) => e.latencyMs],
  ["ttfb_ms", "float8", (e) => e.ttfbMs],
  ["status", "int4", (e) => e.status],
  ["error", "text", (e) => e.error],
  ["stream", "bool", (e) => e.stream],
  ["attempts", "int4", (e) => e.attempts],
  ["candidates", "text", (e) => e.candidates],
  ["explored", "text", (e) => e.explored ?? null],
  ["log_mode", "text", (e) => e.logMode ?? null],
];

export interface ExchangeLogOptions {
  flushMs?: number;
  maxBuffer?: number;
  /** Applied to every text field before it is stored (the gateway's one redaction of upstream keys). */
  redact?: Redact;
  /** What a row keeps of the conversation (default full); a row that already carries a mode is kept as it is. */
  mode?: LogMode;
  /**
   * How long one write waits for another writer's lock (e.g. `fusionkit import` into the same file). The wait
   * blocks the event loop, so it is short; a write that still finds the file locked is retried later.
   */
  busyTimeoutMs?: number;
  /** How long the final flush on shutdown waits for a lock, in all. */
  closeTimeoutMs?: number;
  /** Rows kept while the store cannot be written; past that the oldest are dropped (and counted). */
  maxPending?: number;
  /** Where write failures are reported (never thrown: the log's writes run from timers). */
  report?: (message: string) => void;
}

/**
 * An asynchronous destination for batches: PostgreSQL (postgres/store.ts) or, in a worker of
 * `serve --workers N`, the primary process, which is the one writer. A rejected batch is kept and retried.
 */
export type ExchangeWriter = (rows: Exchange[]) => Promise<void>;

/** Where the log writes: a SQLite store (on its own connection, see below) or an asynchronous writer. */
export type ExchangeSink = Database.Database | ExchangeWriter;

/** What /metrics shows about the log. */
export interface ExchangeLogStats {
  written: number;
  pending: number;
  /** Write attempts that failed, by reason ("busy" for another writer's lock, else the SQLite code). */
  failures: Map<string, number>;
  /** Rows given up: ones SQLite refuses outright, or the oldest past maxPending. */
  dropped: number;
}

const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 1000;

/**
 * The exchange log writes on its own connection when the store is a file, so its short busy timeout applies to
 * its writes only; an in-memory store has one connection, which it shares.
 */
export class ExchangeLog {
  private readonly db: Database.Database | null;
  private readonly own: boolean;
  private readonly writer: ExchangeWriter | null;
  /** The asynchronous writer's batch in flight (one at a time, so batches stay in order). */
  private writing: Promise<void> | null = null;
  private buffer: Exchange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly maxBuffer: number;
  private readonly maxPending: number;
  private readonly busyTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly insertMany: (rows: Exchange[]) => void;
  private readonly redact: Redact;
  private readonly mode: LogMode;
  private readonly report: (message: string) => void;
  /** Delay before the next retry after a failed write (0 while writes succeed). */
  private retryMs = 0;
  private closed = false;
  written = 0;
  dropped = 0;
  readonly failures = new Map<string, number>();

  constructor(sink: ExchangeSink, opts: ExchangeLogOptions = {}) {
    this.flushMs = opts.flushMs ?? 5;
    this.maxBuffer = opts.maxBuffer ?? 1000;
    this.maxPending = opts.maxPending ?? 100_000;
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 50;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
    this.redact = opts.redact ?? ((t) => t);
    this.mode = opts.mode ?? "full";
    this.report = opts.report ?? ((m) => process.stderr.write(`fusionkit serve: ${m}\n`));
    if (typeof sink === "function") {
      this.writer = sink;
      this.db = null;
      this.own = false;
      this.insertMany = () => {
        throw new Error("asynchronous exchange log");
      };
      return;
    }
    this.writer = null;
    this.own = !sink.memory;
    this.db = this.own ? new Database(sink.name, { fileMustExist: true }) : sink;
    if (this.own) this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    const ins = this.db.prepare(
      `INSERT OR REPLACE INTO gateway_exchanges (${EXCHANGE_COLUMNS.map(([c]) => c).join(", ")})
       VALUES (${EXCHANGE_COLUMNS.map(() => "?").join(", ")})`,
    );
    const db = this.db;
    // SQLite stores booleans as 0/1 (the driver binds no booleans).
    const value = (v: unknown) => (typeof v === "boolean" ? Number(v) : v);
    this.insertMany = db.transaction((rows: Exchange[]) => {
      for (const r of rows) ins.run(...EXCHANGE_COLUMNS.map(([, , get]) => value(get(r))));
    });
  }

  push(row: Exchange): void {
    // A row from a worker of `serve --workers` was made ready for the log there.
    this.buffer.push(row.logMode ? row : exchangeAsLogged(row, this.mode, this.redact));
    if (this.buffer.length > this.maxPending) {
      const over = this.buffer.length - this.maxPending;
      this.buffer.splice(0, over);
      this.dropped += over;
      this.report(`exchange log: ${over} row(s) dropped, ${this.maxPending} already waiting for the store`);
    }
    if (this.retryMs > 0) return; // a retry is scheduled; it writes this row too
    if (this.buffer.length >= this.maxBuffer) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  /**
   * Write everything buffered, in one transaction. Never throws: when the store is locked (or the write fails
   * for another passing reason) the rows stay buffered and a retry is scheduled with backoff; rows SQLite
   * refuses outright (a constraint) are dropped one by one, counted and reported. True when nothing is left.
   */
  flush(): boolean {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writer) return this.flushToWriter(this.writer);
    if (this.buffer.length === 0) return true;
    const rows = this.buffer;
    try {
      this.insertMany(rows);
      this.buffer = [];
      this.written += rows.length;
      if (this.retryMs > 0) this.report(`exchange log: store writable again, ${rows.length} row(s) written`);
      this.retryMs = 0;
      return true;
    } catch (e) {
      const reason = failureReason(e);
      this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
      if (REFUSED.test(reason)) this.writeOneByOne();
      else if (this.retryMs === 0)
        this.report(
          `exchange log: write failed (${reason}: ${(e as Error).message}); ${rows.length} row(s) kept, retrying`,
        );
    }
    if (this.buffer.length > 0 && !this.closed) {
      this.retryMs = Math.min(Math.max(this.retryMs * 2, RETRY_MIN_MS), RETRY_MAX_MS);
      this.timer = setTimeout(() => this.flush(), this.retryMs);
    }
    return this.buffer.length === 0;
  }

  /** flush() for an asynchronous writer: hands the buffer over unless a batch is in flight; retries a failed one. */
  private flushToWriter(writer: ExchangeWriter): boolean {
    if (this.writing) return false;
    if (this.buffer.length === 0) return true;
    const rows = this.buffer;
    this.buffer = [];
    this.writing = Promise.resolve()
      .then(() => writer(rows))
      .then(
        () => {
          this.written += rows.length;
          if (this.retryMs > 0) this.report(`exchange log: store writable again, ${rows.length} row(s) written`);
          this.retryMs = 0;
        },
        (e: Error) => {
          this.buffer = rows.concat(this.buffer);
          const reason = failureReason(e);
          this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
          if (this.retryMs === 0)
            this.report(`exchange log: write failed (${e.message}); ${rows.length} row(s) kept, retrying`);
          this.retryMs = Math.min(Math.max(this.retryMs * 2, RETRY_MIN_MS), RETRY_MAX_MS);
        },
      )
      .finally(() => {
        this.writing = null;
        if (this.buffer.length > 0 && !this.closed && !this.timer)
          this.timer = setTimeout(() => this.flush(), this.retryMs || this.flushMs);
      });
    return false;
  }

  /**
   * Write everything buffered and wait until it is stored (or `timeoutMs` passed): before a label looks up
   * an exchange, and on shutdown for an asynchronous writer. Returns the rows still not stored.
   */
  async drain(timeoutMs = this.closeTimeoutMs): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (!this.flush() || this.writing) {
      if (this.writing) await this.writing;
      else if (Date.now() >= end) break;
      else await new Promise((r) => setTimeout(r, Math.min(this.retryMs || 5, 50)));
      if (Date.now() >= end) break;
    }
    return this.buffer.length;
  }

  /** After a refused transaction: write row by row, dropping only the rows that are refused themselves. */
  private writeOneByOne(): void {
    const kept: Exchange[] = [];
    for (const row of this.buffer)
      try {
        this.insertMany([row]);
        this.written++;
      } catch (e) {
        const reason = failureReason(e);
        if (!REFUSED.test(reason)) {
          kept.push(row);
          continue;
        }
        this.dropped++;
        this.report(`exchange log: row ${row.requestId} refused by the store (${reason}: ${(e as Error).message})`);
      }
    this.buffer = kept;
  }

  get pending(): number {
    return this.buffer.length;
  }

  stats(): ExchangeLogStats {
    return { written: this.written, pending: this.buffer.length, failures: this.failures, dropped: this.dropped };
  }

  /**
   * Final flush on shutdown: waits up to closeTimeoutMs for another writer's lock (blocking is fine now).
   * Returns the rows that could not be stored (also reported).
   */
  close(): number {
    this.closed = true;
    if (this.writer) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      const left = this.buffer.length;
      if (left > 0 || this.writing) this.report(`exchange log: closed with ${left} row(s) not handed over`);
      return left;
    }
    if (this.own && this.db) this.db.pragma(`busy_timeout = ${this.closeTimeoutMs}`);
    const end = Date.now() + this.closeTimeoutMs;
    while (!this.flush() && Date.now() < end) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const left = this.buffer.length;
    if (left > 0) this.report(`exchange log: ${left} row(s) could not be stored before shutdown`);
    if (this.own) this.db?.close();
    return left;
  }

  count(): number {
    this.flush();
    if (!this.db) throw new Error("count() needs a SQLite exchange log");
    return (this.db.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
  }
}

/** SQLite result codes that mean this row will never be accepted (retrying cannot help). */
const REFUSED = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

function failureReason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || code === "SQLITE_BUSY_SNAPSHOT") return "busy";
  return typeof code === "string" ? code : "error";
}
