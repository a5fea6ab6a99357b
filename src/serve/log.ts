import type Database from "better-sqlite3";
import type { Redact } from "../util/redact.ts";

/**
 * The gateway's exchange log: every chat request (served, failed or refused after routing) becomes one row
 * of routing data. Rows are buffered and written in one transaction a few milliseconds later (or when the
 * buffer fills), so the hot path costs an array push; `close()` flushes what is left.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS gateway_exchanges (
  request_id TEXT PRIMARY KEY,
  at REAL NOT NULL,
  key_id TEXT,
  session TEXT,
  requested_model TEXT NOT NULL,
  router TEXT,
  served_model TEXT,
  mode TEXT,
  query TEXT NOT NULL,
  request TEXT,
  response TEXT,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost REAL,
  latency_ms REAL NOT NULL,
  ttfb_ms REAL,
  status INTEGER NOT NULL,
  error TEXT,
  stream INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  candidates TEXT
);
CREATE INDEX IF NOT EXISTS gateway_exchanges_at ON gateway_exchanges(at);
CREATE TABLE IF NOT EXISTS gateway_feedback (
  request_id TEXT PRIMARY KEY REFERENCES gateway_exchanges(request_id),
  score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
  at REAL NOT NULL
);
`;

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
}

export interface ExchangeLogOptions {
  flushMs?: number;
  maxBuffer?: number;
  /** Applied to every text field before it is stored (the gateway's one redaction). */
  redact?: Redact;
}

export class ExchangeLog {
  private readonly db: Database.Database;
  private buffer: Exchange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly flushMs: number;
  private readonly maxBuffer: number;
  private readonly insertMany: (rows: Exchange[]) => void;
  private readonly redact: Redact;
  written = 0;

  constructor(db: Database.Database, opts: ExchangeLogOptions = {}) {
    this.db = db;
    db.exec(SCHEMA);
    this.flushMs = opts.flushMs ?? 5;
    this.maxBuffer = opts.maxBuffer ?? 1000;
    this.redact = opts.redact ?? ((t) => t);
    const ins = db.prepare(
      `INSERT OR REPLACE INTO gateway_exchanges (request_id, at, key_id, session, requested_model, router, served_model,
       mode, query, request, response, input_tokens, output_tokens, cost, latency_ms, ttfb_ms, status, error, stream,
       attempts, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertMany = db.transaction((rows: Exchange[]) => {
      for (const r of rows)
        ins.run(
          r.requestId,
          r.at,
          r.keyId,
          r.session,
          r.requestedModel,
          r.router,
          r.servedModel,
          r.mode,
          r.query,
          r.request,
          r.response,
          r.inputTokens,
          r.outputTokens,
          r.cost,
          r.latencyMs,
          r.ttfbMs,
          r.status,
          r.error,
          r.stream ? 1 : 0,
          r.attempts,
          r.candidates,
        );
    });
  }

  push(row: Exchange): void {
    const clean: Record<string, unknown> = { ...row };
    for (const k in clean) if (typeof clean[k] === "string") clean[k] = this.redact(clean[k] as string);
    this.buffer.push(clean as unknown as Exchange);
    if (this.buffer.length >= this.maxBuffer) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  /** Write everything buffered, in one transaction. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.insertMany(rows);
    this.written += rows.length;
  }

  get pending(): number {
    return this.buffer.length;
  }

  close(): void {
    this.flush();
  }

  count(): number {
    this.flush();
    return (this.db.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
  }
}
