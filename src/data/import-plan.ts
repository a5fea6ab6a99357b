import type Database from "better-sqlite3";
import { computeCost, estimatedTokens } from "./cost.ts";
import { QueryCollector, queryConflict, queryConflictError } from "./duplicates.ts";
import { DataError, placeOf } from "./errors.ts";
import {
  candidateKey,
  type Mode,
  type Model,
  type Outcome,
  type ParsedBatch,
  type Query,
  type SourceLoc,
  type Split,
} from "./types.ts";

/**
 * Validation of an import against the store, separated from the write (store.ts) so that it runs outside the
 * write lock: the plan is everything the import will write — new rows, prices filled in, one import-log row per
 * file — with every conflict already turned into a DataError. Files are planned in order and each sees the ones
 * before it, so `import a b` is checked as one unit and written in one transaction.
 */

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

export interface ImportLogRow {
  format: string;
  dataset: string;
  files: string;
  queries: number;
  outcomesAdded: number;
  outcomesUnchanged: number;
  modelsAdded: number;
}

export interface ImportPlan {
  modelsToInsert: Model[];
  /** Stored models whose missing fields this import fills (prices, description, size, upstream id). */
  modelsToFill: Model[];
  /** The stored models the plan read (prices decide costs): the write checks they are still so. */
  modelsRead: Model[];
  queriesToInsert: Query[];
  outcomesToInsert: Outcome[];
  log: ImportLogRow[];
  summaries: ImportSummary[];
}

export interface ModelRow {
  name: string;
  input_price: number | null;
  output_price: number | null;
  description: string | null;
  size: string | null;
  upstream_id: string | null;
}
export interface QueryRow {
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
export interface OutcomeRow {
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

export function toModel(r: ModelRow): Model {
  return {
    name: r.name,
    inputPrice: r.input_price,
    outputPrice: r.output_price,
    description: r.description,
    size: r.size,
    upstreamId: r.upstream_id,
  };
}
export function toQuery(r: QueryRow): Query {
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
export function toOutcome(r: OutcomeRow): Outcome {
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

/** Values equal within float noise (re-imports recompute cost from the same tokens and prices). */
function same(a: number | null | undefined, b: number | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** How two records of one (query, model, mode) differ, for the duplicate-outcome error; empty when they agree. */
function outcomeDiffs(was: Outcome, now: Outcome): string[] {
  const diffs: string[] = [];
  if (!same(was.performance, now.performance)) diffs.push(`performance ${was.performance} vs ${now.performance}`);
  if (!same(was.cost, now.cost)) diffs.push(`cost ${was.cost} vs ${now.cost}`);
  if (now.response != null && was.response != null && was.response !== now.response) diffs.push("response text");
  if (now.judge != null && was.judge != null && !same(was.judge, now.judge))
    diffs.push(`judge ${was.judge} vs ${now.judge}`);
  return diffs;
}

/** A model known to this import: stored, or added by one of its files (with where it was first given). */
interface KnownModel {
  model: Model;
  /** Where this import first gave it; null when it comes from the store. */
  loc: SourceLoc | null;
  stored: boolean;
  filled: boolean;
}

/** Plan the import of `batches` against what `db` holds now (run inside one read transaction for a snapshot). */
export function planImport(db: Database.Database, batches: readonly ParsedBatch[]): ImportPlan {
  const getModel = db.prepare<[string], ModelRow>("SELECT * FROM models WHERE name = ?");
  const getQuery = db.prepare<[string], QueryRow>("SELECT * FROM queries WHERE id = ?");
  const getOutcome = db.prepare<[string, string, string], OutcomeRow>(
    "SELECT * FROM outcomes WHERE query_id = ? AND model = ? AND mode = ?",
  );
  const plan: ImportPlan = {
    modelsToInsert: [],
    modelsToFill: [],
    modelsRead: [],
    queriesToInsert: [],
    outcomesToInsert: [],
    log: [],
    summaries: [],
  };
  const models = new Map<string, KnownModel>();
  const modelOf = (name: string): KnownModel | null => {
    const known = models.get(name);
    if (known) return known;
    const row = getModel.get(name);
    if (!row) return null;
    plan.modelsRead.push(toModel(row));
    const k: KnownModel = { model: toModel(row), loc: null, stored: true, filled: false };
    models.set(name, k);
    return k;
  };
  const queries = new QueryCollector();
  /** Queries of this import already found in the store (checked once, then counted as unchanged). */
  const storedQueries = new Set<string>();
  /** Outcomes of this import by (query, model, mode), with where each was read. */
  const outcomes = new Map<string, Map<string, { outcome: Outcome; loc: SourceLoc }>>();

  for (const b of batches) {
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

    for (const m of b.models) {
      const known = modelOf(m.name);
      if (!known) {
        const model: Model = {
          name: m.name,
          inputPrice: m.inputPrice,
          outputPrice: m.outputPrice,
          description: m.description ?? null,
          size: m.size ?? null,
          upstreamId: m.upstreamId ?? null,
        };
        models.set(m.name, { model, loc: m.loc, stored: false, filled: false });
        plan.modelsToInsert.push(model);
        summary.modelsAdded++;
        continue;
      }
      for (const [field, was, now] of [
        ["input_price", known.model.inputPrice, m.inputPrice],
        ["output_price", known.model.outputPrice, m.outputPrice],
      ] as const) {
        if (was !== null && now !== null && !same(was, now))
          throw new DataError(
            m.loc,
            field,
            `model "${m.name}" has ${field} ${now} here but ${was} ${known.loc ? `at ${placeOf(known.loc)}` : "in the store"}`,
          );
      }
      // Fill what is missing, never overwrite (the same rule as the store always had).
      const k = known.model;
      const filled: Model = {
        name: k.name,
        inputPrice: k.inputPrice ?? m.inputPrice,
        outputPrice: k.outputPrice ?? m.outputPrice,
        description: k.description ?? m.description ?? null,
        size: k.size ?? m.size ?? null,
        upstreamId: k.upstreamId ?? m.upstreamId ?? null,
      };
      Object.assign(k, filled);
      if (known.stored && !known.filled) {
        known.filled = true;
        plan.modelsToFill.push(k);
      }
    }

    const batchQueries = new Set<string>();
    for (const q of b.queries) {
      if (batchQueries.has(q.id)) {
        queries.add(q); // an exact repeat passes, a conflicting one throws naming both places
        continue;
      }
      batchQueries.add(q.id);
      if (!queries.add(q)) {
        summary.queriesUnchanged++; // given by an earlier file of this import
        continue;
      }
      const row = getQuery.get(q.id);
      if (!row) {
        plan.queriesToInsert.push({
          id: q.id,
          dataset: q.dataset,
          task: q.task,
          domain: q.domain ?? null,
          text: q.text,
          groundTruth: q.groundTruth ?? null,
          metric: q.metric ?? null,
          taskDescription: q.taskDescription ?? null,
          choices: q.choices ?? null,
          split: q.split ?? null,
        });
        summary.queriesAdded++;
        continue;
      }
      const c = queryConflict(toQuery(row), q);
      if (c) throw queryConflictError(q, c, `in the store (already stored in dataset "${row.dataset}")`);
      storedQueries.add(q.id);
      summary.queriesUnchanged++;
    }

    for (const o of b.outcomes) {
      if (!queries.has(o.queryId) && !storedQueries.has(o.queryId)) {
        if (!getQuery.get(o.queryId))
          throw new DataError(o.loc, "query", `outcome refers to unknown query ${o.queryId}`);
        storedQueries.add(o.queryId);
      }
      const known = modelOf(o.model);
      if (!known)
        throw new DataError(
          o.loc,
          "model",
          `unknown model "${o.model}" (not in this file's model list nor in the store, so it has no price)`,
        );
      const outcome: Outcome = {
        queryId: o.queryId,
        model: o.model,
        mode: o.mode,
        response: o.response ?? null,
        performance: o.performance,
        inputTokens: o.inputTokens ?? null,
        outputTokens: o.outputTokens ?? null,
        cost:
          o.cost ??
          computeCost(known.model, o.inputTokens ?? null, o.outputTokens ?? null, o.loc, () =>
            estimatedTokens(
              queries.get(o.queryId)?.text ?? (getQuery.get(o.queryId) as QueryRow).text,
              o.response ?? null,
            ),
          ),
        judge: o.judge ?? null,
        latencyMs: o.latencyMs ?? null,
      };
      // Two levels (query, then candidate) instead of one concatenated key: no new string per outcome.
      let ofQuery = outcomes.get(o.queryId);
      if (!ofQuery) {
        ofQuery = new Map();
        outcomes.set(o.queryId, ofQuery);
      }
      const candidate = o.mode === "direct" ? o.model : candidateKey(o.model, o.mode);
      const earlier = ofQuery.get(candidate);
      // A query this import adds has no stored outcomes (they reference it), so only stored queries are looked up.
      const storedRow =
        earlier || !storedQueries.has(o.queryId) ? undefined : getOutcome.get(o.queryId, o.model, o.mode);
      const was = earlier?.outcome ?? (storedRow ? toOutcome(storedRow) : null);
      if (was) {
        const diffs = outcomeDiffs(was, outcome);
        if (diffs.length)
          throw new DataError(
            o.loc,
            diffs[0]?.split(" ")[0] ?? "performance",
            `duplicate outcome for query ${o.queryId}, model "${o.model}", mode ${o.mode} with a different value ` +
              `(${diffs.join("; ")}) ${earlier ? `than at ${placeOf(earlier.loc)}` : "than the one in the store"}`,
          );
        summary.outcomesUnchanged++;
        continue;
      }
      ofQuery.set(candidate, { outcome, loc: o.loc });
      summary.outcomesAdded++;
    }

    if (summary.queriesAdded + summary.outcomesAdded + summary.modelsAdded > 0)
      plan.log.push({
        format: b.format,
        dataset: b.dataset,
        files: JSON.stringify(b.files),
        queries: batchQueries.size,
        outcomesAdded: summary.outcomesAdded,
        outcomesUnchanged: summary.outcomesUnchanged,
        modelsAdded: summary.modelsAdded,
      });
    plan.summaries.push(summary);
  }
  // Outcomes go in in key order: a WITHOUT ROWID table takes sorted inserts far faster than random ones once it
  // outgrows the page cache (measured: ~1.5× on 100k outcomes), and ordering here keeps that work out of the write
  // lock. Sorting the query ids and then each query's few candidates is cheaper than sorting every outcome.
  for (const id of [...outcomes.keys()].sort(cmp)) {
    const rows = [...(outcomes.get(id)?.values() ?? [])].map((r) => r.outcome);
    if (rows.length > 1) rows.sort((a, b) => cmp(a.model, b.model) || cmp(a.mode, b.mode));
    for (const r of rows) plan.outcomesToInsert.push(r);
  }
  return plan;
}

/** Byte order, as SQLite's BINARY collation compares the primary key (localeCompare would not). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
