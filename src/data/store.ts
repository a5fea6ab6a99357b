import Database from "better-sqlite3";
import { computeCost, estimatedTokens } from "./cost.ts";
import { DataError } from "./errors.ts";
import type { Located, Mode, Model, Outcome, OutcomeInput, ParsedBatch, Query, Split } from "./types.ts";

export const DEFAULT_DB = "./fusionkit.db";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY,
  input_price REAL,
  output_price REAL,
  description TEXT,
  size TEXT,
  upstream_id TEXT
);
CREATE TABLE IF NOT EXISTS queries (
  id TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  task TEXT NOT NULL,
  domain TEXT,
  text TEXT NOT NULL,
  ground_truth TEXT,
  metric TEXT,
  task_description TEXT,
  choices TEXT,
  split TEXT CHECK (split IN ('train','test') OR split IS NULL)
);
CREATE INDEX IF NOT EXISTS queries_dataset_split ON queries(dataset, split);
CREATE TABLE IF NOT EXISTS outcomes (
  query_id TEXT NOT NULL REFERENCES queries(id),
  model TEXT NOT NULL REFERENCES models(name),
  mode TEXT NOT NULL CHECK (mode IN ('direct','think')),
  response TEXT,
  performance REAL NOT NULL CHECK (performance >= 0 AND performance <= 1),
  input_tokens INTEGER,
  output_tokens INTEGER,
  cost REAL NOT NULL CHECK (cost >= 0),
  judge REAL,
  latency_ms REAL,
  PRIMARY KEY (query_id, model, mode)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS imports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  format TEXT NOT NULL,
  dataset TEXT NOT NULL,
  files TEXT NOT NULL,
  queries INTEGER NOT NULL,
  outcomes_added INTEGER NOT NULL,
  outcomes_unchanged INTEGER NOT NULL,
  at TEXT NOT NULL
);
`;

export interface ImportSummary {
  format: string;
  dataset: string;
  files: string[];
  modelsAdded: number;
  queriesAdded: number;
  queriesUnchanged: number;
  outcomesAdded: number;
  outcomesUnchanged: number;
}

export interface QueryFilter {
  dataset?: string;
  split?: Split;
}

/** Values equal within float noise (re-imports recompute cost from the same tokens and prices). */
function same(a: number | null | undefined, b: number | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

interface ModelRow {
  name: string;
  input_price: number | null;
  output_price: number | null;
  description: string | null;
  size: string | null;
  upstream_id: string | null;
}
interface QueryRow {
  id: string;
  dataset: string;
  task: string;
  domain: string | null;
  text: string;
  ground_truth: string | null;
  metric: string | null;
  task_description: string | null;
  choices: string | null;
  split: Split | null;
}
interface OutcomeRow {
  query_id: string;
  model: string;
  mode: Mode;
  response: string | null;
  performance: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost: number;
  judge: number | null;
  latency_ms: number | null;
}

function toModel(r: ModelRow): Model {
  return {
    name: r.name,
    inputPrice: r.input_price,
    outputPrice: r.output_price,
    description: r.description,
    size: r.size,
    upstreamId: r.upstream_id,
  };
}
function toQuery(r: QueryRow): Query {
  return {
    id: r.id,
    dataset: r.dataset,
    task: r.task,
    domain: r.domain,
    text: r.text,
    groundTruth: r.ground_truth,
    metric: r.metric,
    taskDescription: r.task_description,
    choices: r.choices,
    split: r.split,
  };
}
function toOutcome(r: OutcomeRow): Outcome {
  return {
    queryId: r.query_id,
    model: r.model,
    mode: r.mode,
    response: r.response,
    performance: r.performance,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cost: r.cost,
    judge: r.judge,
    latencyMs: r.latency_ms,
  };
}

/**
 * The embedded store: one SQLite file. Other modules (embedding cache, router artifacts, gateway log)
 * add their own tables through `db` with CREATE TABLE IF NOT EXISTS.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;

  constructor(path: string = DEFAULT_DB) {
    this.path = path;
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Validate and write one parsed batch in a single transaction. On any bad record nothing is written
   * and the DataError names file, line/row and field. Re-importing identical data changes nothing.
   */
  importBatch(batch: ParsedBatch): ImportSummary {
    const getModel = this.db.prepare<[string], ModelRow>("SELECT * FROM models WHERE name = ?");
    const insModel = this.db.prepare(
      "INSERT INTO models (name, input_price, output_price, description, size, upstream_id) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const fillModel = this.db.prepare(
      `UPDATE models SET input_price = COALESCE(input_price, ?), output_price = COALESCE(output_price, ?),
       description = COALESCE(description, ?), size = COALESCE(size, ?), upstream_id = COALESCE(upstream_id, ?) WHERE name = ?`,
    );
    const getQuery = this.db.prepare<[string], QueryRow>("SELECT * FROM queries WHERE id = ?");
    const insQuery = this.db.prepare(
      `INSERT INTO queries (id, dataset, task, domain, text, ground_truth, metric, task_description, choices, split)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const getOutcome = this.db.prepare<[string, string, string], OutcomeRow>(
      "SELECT * FROM outcomes WHERE query_id = ? AND model = ? AND mode = ?",
    );
    const insOutcome = this.db.prepare(
      `INSERT INTO outcomes (query_id, model, mode, response, performance, input_tokens, output_tokens, cost, judge, latency_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insImport = this.db.prepare(
      "INSERT INTO imports (format, dataset, files, queries, outcomes_added, outcomes_unchanged, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );

    const run = this.db.transaction((b: ParsedBatch): ImportSummary => {
      const summary: ImportSummary = {
        format: b.format,
        dataset: b.dataset,
        files: b.files,
        modelsAdded: 0,
        queriesAdded: 0,
        queriesUnchanged: 0,
        outcomesAdded: 0,
        outcomesUnchanged: 0,
      };
      const models = new Map<string, Model>();
      for (const m of b.models) {
        const existing = getModel.get(m.name);
        if (!existing) {
          insModel.run(
            m.name,
            m.inputPrice,
            m.outputPrice,
            m.description ?? null,
            m.size ?? null,
            m.upstreamId ?? null,
          );
          summary.modelsAdded++;
          models.set(m.name, m);
          continue;
        }
        for (const [field, a, b2] of [
          ["input_price", existing.input_price, m.inputPrice],
          ["output_price", existing.output_price, m.outputPrice],
        ] as const) {
          if (a !== null && b2 !== null && !same(a, b2))
            throw new DataError(
              m.loc,
              field,
              `model "${m.name}" is already stored with ${field} ${a}; this file says ${b2}`,
            );
        }
        fillModel.run(m.inputPrice, m.outputPrice, m.description ?? null, m.size ?? null, m.upstreamId ?? null, m.name);
        models.set(m.name, toModel(getModel.get(m.name) as ModelRow));
      }
      const modelOf = (name: string): Model | null => {
        const cached = models.get(name);
        if (cached) return cached;
        const row = getModel.get(name);
        if (!row) return null;
        const m = toModel(row);
        models.set(name, m);
        return m;
      };

      const seenQueries = new Set<string>();
      for (const q of b.queries) {
        if (seenQueries.has(q.id)) continue;
        seenQueries.add(q.id);
        const existing = getQuery.get(q.id);
        if (!existing) {
          insQuery.run(
            q.id,
            q.dataset,
            q.task,
            q.domain ?? null,
            q.text,
            q.groundTruth ?? null,
            q.metric ?? null,
            q.taskDescription ?? null,
            q.choices ?? null,
            q.split ?? null,
          );
          summary.queriesAdded++;
          continue;
        }
        if ((existing.split ?? null) !== (q.split ?? null) && q.split)
          throw new DataError(
            q.loc,
            "split",
            `query ${q.id} is already stored in split "${existing.split}"; this file says "${q.split}"`,
          );
        if (
          (existing.ground_truth ?? null) !== (q.groundTruth ?? null) &&
          q.groundTruth != null &&
          existing.ground_truth != null
        )
          throw new DataError(q.loc, "ground_truth", `query ${q.id} is already stored with a different ground truth`);
        summary.queriesUnchanged++;
      }

      for (const o of b.outcomes) {
        if (!seenQueries.has(o.queryId) && !getQuery.get(o.queryId))
          throw new DataError(o.loc, "query", `outcome refers to unknown query ${o.queryId}`);
        const model = modelOf(o.model);
        if (!model)
          throw new DataError(
            o.loc,
            "model",
            `unknown model "${o.model}" (not in this file's model list nor in the store, so it has no price)`,
          );
        const cost =
          o.cost ??
          computeCost(model, o.inputTokens ?? null, o.outputTokens ?? null, o.loc, () =>
            estimatedTokens((getQuery.get(o.queryId) as QueryRow).text, o.response ?? null),
          );
        const existing = getOutcome.get(o.queryId, o.model, o.mode);
        if (existing) {
          const diffs: string[] = [];
          if (!same(existing.performance, o.performance))
            diffs.push(`performance ${existing.performance} vs ${o.performance}`);
          if (!same(existing.cost, cost)) diffs.push(`cost ${existing.cost} vs ${cost}`);
          if (o.response != null && existing.response != null && existing.response !== o.response)
            diffs.push("response text");
          if (o.judge != null && existing.judge != null && !same(existing.judge, o.judge))
            diffs.push(`judge ${existing.judge} vs ${o.judge}`);
          if (diffs.length)
            throw new DataError(
              o.loc,
              diffs[0]?.split(" ")[0] ?? "performance",
              `duplicate outcome for query ${o.queryId}, model "${o.model}", mode ${o.mode} with a different value (${diffs.join("; ")})`,
            );
          summary.outcomesUnchanged++;
          continue;
        }
        insOutcome.run(
          o.queryId,
          o.model,
          o.mode,
          o.response ?? null,
          o.performance,
          o.inputTokens ?? null,
          o.outputTokens ?? null,
          cost,
          o.judge ?? null,
          o.latencyMs ?? null,
        );
        summary.outcomesAdded++;
      }
      if (summary.queriesAdded + summary.outcomesAdded + summary.modelsAdded > 0)
        insImport.run(
          b.format,
          b.dataset,
          JSON.stringify(b.files),
          seenQueries.size,
          summary.outcomesAdded,
          summary.outcomesUnchanged,
          new Date().toISOString(),
        );
      return summary;
    });
    return run(batch);
  }

  models(): Model[] {
    return this.db.prepare<[], ModelRow>("SELECT * FROM models ORDER BY name").all().map(toModel);
  }

  model(name: string): Model | null {
    const row = this.db.prepare<[string], ModelRow>("SELECT * FROM models WHERE name = ?").get(name);
    return row ? toModel(row) : null;
  }

  datasets(): string[] {
    return this.db
      .prepare<[], { dataset: string }>("SELECT DISTINCT dataset FROM queries ORDER BY dataset")
      .all()
      .map((r) => r.dataset);
  }

  queries(filter: QueryFilter = {}): Query[] {
    const { where, params } = queryWhere(filter);
    return this.db
      .prepare<unknown[], QueryRow>(`SELECT * FROM queries ${where} ORDER BY rowid`)
      .all(...params)
      .map(toQuery);
  }

  query(id: string): Query | null {
    const row = this.db.prepare<[string], QueryRow>("SELECT * FROM queries WHERE id = ?").get(id);
    return row ? toQuery(row) : null;
  }

  outcomes(filter: QueryFilter = {}): Outcome[] {
    const { where, params } = queryWhere(filter, "q.");
    return this.db
      .prepare<unknown[], OutcomeRow>(
        `SELECT o.* FROM outcomes o JOIN queries q ON q.id = o.query_id ${where} ORDER BY q.rowid, o.model, o.mode`,
      )
      .all(...params)
      .map(toOutcome);
  }

  outcomesForQuery(queryId: string): Outcome[] {
    return this.db
      .prepare<[string], OutcomeRow>("SELECT * FROM outcomes WHERE query_id = ? ORDER BY model, mode")
      .all(queryId)
      .map(toOutcome);
  }

  /** Set the split of queries; used by the seeded splitter. One transaction. */
  setSplits(assignments: ReadonlyArray<{ id: string; split: Split }>): void {
    const upd = this.db.prepare("UPDATE queries SET split = ? WHERE id = ?");
    this.db.transaction(() => {
      for (const a of assignments) upd.run(a.split, a.id);
    })();
  }

  counts(): { models: number; queries: number; outcomes: number } {
    const one = (sql: string) => (this.db.prepare<[], { n: number }>(sql).get() as { n: number }).n;
    return {
      models: one("SELECT COUNT(*) AS n FROM models"),
      queries: one("SELECT COUNT(*) AS n FROM queries"),
      outcomes: one("SELECT COUNT(*) AS n FROM outcomes"),
    };
  }
}

function queryWhere(filter: QueryFilter, prefix = ""): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.dataset) {
    parts.push(`${prefix}dataset = ?`);
    params.push(filter.dataset);
  }
  if (filter.split) {
    parts.push(`${prefix}split = ?`);
    params.push(filter.split);
  }
  return { where: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params };
}

export type { Located, OutcomeInput };
