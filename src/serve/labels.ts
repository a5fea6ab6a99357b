import type Database from "better-sqlite3";
import { GATEWAY_DATASET, GATEWAY_TASK } from "../data/datasets.ts";
import { queryId } from "../data/ids.ts";
import type { ProvidersConfig } from "../llm/providers.ts";

/**
 * Performance labels for logged exchanges, and their export as routing data: a labelled exchange becomes
 * an outcome of dataset "gateway" (task "gateway", split "train") in the store's queries/outcomes tables,
 * so `fusionkit train --dataset gateway` learns from the gateway's own traffic.
 *
 * Outcomes are written here with SQL rather than Store.importBatch on purpose: a label is revised as more
 * feedback arrives (the outcome is the mean score of every labelled exchange of that query and model), and
 * importBatch by design refuses to change a stored outcome.
 */

/**
 * A label as routing data: the outcome of (query, model) it updated, with the mean label as performance. An
 * exchange logged without its text (`logging: metadata`) keeps its label but has no query to learn from:
 * queryId is null and performance is this label alone.
 */
export interface LabelResult {
  queryId: string | null;
  model: string;
  performance: number;
}

/** The SQL condition for exchanges whose text was stored (any logging mode but metadata). */
export const HAS_TEXT = "COALESCE(e.log_mode, 'full') <> 'metadata'";

export class FeedbackError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface LabelledRow {
  query: string;
  served_model: string;
  mode: string | null;
  score: number;
  response: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost: number | null;
  latency_ms: number;
}

export class Labels {
  private readonly db: Database.Database;
  private readonly providers: ProvidersConfig | null;

  constructor(db: Database.Database, providers: ProvidersConfig | null) {
    this.db = db;
    this.providers = providers;
  }

  /**
   * Attach a score in [0,1] to a logged exchange and update its routing-data outcome, in one transaction.
   * The gateway flushes its exchange log first (see gateway-store.ts: labelWhenLogged).
   */
  label(requestId: string, score: number): LabelResult {
    const ex = this.db
      .prepare<
        [string],
        { query: string; served_model: string | null; mode: string | null; status: number; log_mode: string | null }
      >("SELECT query, served_model, mode, status, log_mode FROM gateway_exchanges WHERE request_id = ?")
      .get(requestId);
    if (!ex) throw new FeedbackError(404, `no exchange with request_id '${requestId}' in the gateway log`);
    if (!ex.served_model || ex.status !== 200)
      throw new FeedbackError(
        409,
        `exchange '${requestId}' was not answered (status ${ex.status}); there is nothing to label`,
      );
    return this.db.transaction(() => {
      this.db
        .prepare("INSERT OR REPLACE INTO gateway_feedback (request_id, score, at) VALUES (?, ?, ?)")
        .run(requestId, score, Date.now());
      if (ex.log_mode === "metadata") return { queryId: null, model: ex.served_model as string, performance: score };
      return this.exportOne(ex.query, ex.served_model as string, (ex.mode ?? "direct") as string);
    })();
  }

  /** Re-export every labelled exchange (e.g. after editing feedback by hand); returns outcomes written. */
  exportAll(): number {
    const groups = this.db
      .prepare<[], { query: string; served_model: string; mode: string | null }>(
        `SELECT DISTINCT e.query, e.served_model, e.mode FROM gateway_exchanges e
         JOIN gateway_feedback f ON f.request_id = e.request_id
         WHERE e.status = 200 AND e.served_model IS NOT NULL AND ${HAS_TEXT}`,
      )
      .all();
    this.db.transaction(() => {
      for (const g of groups) this.exportOne(g.query, g.served_model, g.mode ?? "direct");
    })();
    return groups.length;
  }

  private exportOne(query: string, model: string, mode: string): LabelResult {
    const rows = this.db
      .prepare<[string, string, string], LabelledRow>(
        `SELECT e.query, e.served_model, e.mode, f.score, e.response, e.input_tokens, e.output_tokens, e.cost, e.latency_ms
         FROM gateway_exchanges e JOIN gateway_feedback f ON f.request_id = e.request_id
         WHERE e.query = ? AND e.served_model = ? AND COALESCE(e.mode, 'direct') = ? AND e.status = 200 AND ${HAS_TEXT}
         ORDER BY e.at`,
      )
      .all(query, model, mode);
    const mean = (f: (r: LabelledRow) => number | null) => {
      const vals = rows.map(f).filter((v): v is number => v !== null);
      return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
    };
    const id = queryId(GATEWAY_DATASET, GATEWAY_TASK, query, "train");
    const performance = mean((r) => r.score) as number;
    this.db
      .prepare(
        "INSERT OR IGNORE INTO queries (id, dataset, task, text, split, task_description) VALUES (?, ?, ?, ?, 'train', ?)",
      )
      .run(id, GATEWAY_DATASET, GATEWAY_TASK, query, "requests served by the FusionKit gateway, labelled by feedback");
    const m = this.providers?.models.get(model);
    this.db
      .prepare(
        "INSERT OR IGNORE INTO models (name, input_price, output_price, description, upstream_id) VALUES (?, ?, ?, ?, ?)",
      )
      .run(model, m?.inputPrice ?? null, m?.outputPrice ?? null, m?.description ?? null, m?.upstreamId ?? null);
    const inTok = mean((r) => r.input_tokens);
    const outTok = mean((r) => r.output_tokens);
    this.db
      .prepare(
        `INSERT OR REPLACE INTO outcomes (query_id, model, mode, response, performance, input_tokens, output_tokens, cost, latency_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        model,
        mode,
        rows[rows.length - 1]?.response ?? null,
        performance,
        inTok === null ? null : Math.round(inTok),
        outTok === null ? null : Math.round(outTok),
        mean((r) => r.cost) ?? 0,
        mean((r) => r.latency_ms),
      );
    return { queryId: id, model, performance };
  }
}
