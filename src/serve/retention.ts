/**
 * Retention of the exchange log (`logging.retentionDays`, `serve --log-retention-days`): exchanges older than N
 * days, with their feedback labels, are deleted in the background by the process that owns the log (alone, or
 * the primary of `serve --workers`; every replica on PostgreSQL, which share the work without waiting on each
 * other). A pass deletes in small batches, one short transaction each with a pause between them, so the log's
 * writes and the gateway's requests never wait long behind it; a pass that fails (the store is locked by an
 * import, the database is unreachable) is reported and tried again at the next one — never fatal.
 *
 * Labels already exported as routing data (dataset `gateway`) are training data, not log: they are kept.
 */

export const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Keep this many days of exchanges (> 0). */
  days: number;
  /** Delete up to `limit` of the oldest exchanges logged before `before` (epoch ms); returns how many went. */
  purge: (before: number, limit: number) => Promise<number>;
  report: (line: string) => void;
  /** Exchanges per transaction. */
  batch?: number;
  /** Pause between two batches of one pass. */
  pauseMs?: number;
  /** Time from start to the first pass, and between passes. */
  firstMs?: number;
  everyMs?: number;
  now?: () => number;
}

export class LogRetention {
  /** Exchanges deleted since start. */
  deleted = 0;
  /** Passes that failed since start. */
  failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;
  private readonly batch: number;
  private readonly pauseMs: number;
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(private readonly o: RetentionOptions) {
    if (!(o.days > 0)) throw new Error(`retention needs a positive number of days, got ${o.days}`);
    // 100 rows with their word-index entries take ~5 ms (bench/retention.ts): a stall requests barely notice.
    this.batch = o.batch ?? 100;
    this.pauseMs = o.pauseMs ?? 50;
    this.everyMs = o.everyMs ?? 15 * 60_000;
    this.now = o.now ?? Date.now;
  }

  start(): this {
    this.schedule(this.o.firstMs ?? 5_000);
    return this;
  }

  /** One pass: batches until none is full. Never throws; returns the exchanges it deleted. */
  pass(): Promise<number> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** No further pass; waits for the running one to stop after its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Prometheus text for /metrics. */
  render(): string {
    return [
      "# HELP fusionkit_retention_deleted_total Exchanges deleted by the log's retention since start.",
      "# TYPE fusionkit_retention_deleted_total counter",
      `fusionkit_retention_deleted_total ${this.deleted}`,
      "# HELP fusionkit_retention_failures_total Retention passes that failed (retried at the next pass).",
      "# TYPE fusionkit_retention_failures_total counter",
      `fusionkit_retention_failures_total ${this.failures}`,
      "",
    ].join("\n");
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pass().then(() => this.schedule(this.everyMs));
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<number> {
    const before = this.now() - this.o.days * DAY_MS;
    let n = 0;
    try {
      for (;;) {
        const gone = await this.o.purge(before, this.batch);
        n += gone;
        this.deleted += gone;
        if (gone < this.batch || this.stopped) break;
        await new Promise((r) => setTimeout(r, this.pauseMs));
      }
      if (n > 0) this.o.report(`retention: deleted ${n} exchange(s) older than ${this.o.days} day(s)`);
    } catch (e) {
      this.failures++;
      this.o.report(
        `retention: deleting exchanges older than ${this.o.days} day(s) failed (${(e as Error).message}); ${n} deleted, retrying in ${Math.round(this.everyMs / 1000)} s`,
      );
    }
    return n;
  }
}
