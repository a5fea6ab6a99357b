import type Database from "better-sqlite3";
import { candidateKey, type Mode, parseCandidateKey, type Split } from "../../data/types.ts";
import { bestSingle, type CandidateSummary } from "../../eval/stats.ts";
import { likeAnywhere } from "../params.ts";

/**
 * The dashboard's view of routing data, computed in SQL so it stays fast on large stores: per-dataset
 * counts, the task × candidate matrix of mean performance and cost with the oracle and tie rate (same
 * definitions as `fusionkit stats`), and a paginated, filtered query browser.
 */

export interface DatasetInfo {
  dataset: string;
  queries: number;
  train: number;
  test: number;
  tasks: number;
  outcomes: number;
  candidates: string[];
}

export function datasets(db: Database.Database): DatasetInfo[] {
  const rows = db
    .prepare<[], { dataset: string; queries: number; train: number; test: number; tasks: number }>(
      `SELECT dataset, COUNT(*) AS queries, SUM(split = 'train') AS train, SUM(split = 'test') AS test,
       COUNT(DISTINCT task) AS tasks FROM queries GROUP BY dataset ORDER BY dataset`,
    )
    .all();
  const cands = db
    .prepare<[], { dataset: string; model: string; mode: Mode; n: number }>(
      `SELECT q.dataset, o.model, o.mode, COUNT(*) AS n FROM outcomes o JOIN queries q ON q.id = o.query_id
       GROUP BY q.dataset, o.model, o.mode`,
    )
    .all();
  return rows.map((r) => {
    const mine = cands.filter((c) => c.dataset === r.dataset);
    return {
      ...r,
      train: r.train ?? 0,
      test: r.test ?? 0,
      outcomes: mine.reduce((s, c) => s + c.n, 0),
      candidates: mine.map((c) => candidateKey(c.model, c.mode)).sort(),
    };
  });
}

export interface MatrixCell {
  task: string;
  candidate: string;
  performance: number;
  cost: number;
  n: number;
}
export interface TaskSummary {
  task: string;
  queries: number;
  bestSingle: { model: string; performance: number; cost: number };
  oracle: { performance: number; cost: number };
  tieRate: number;
}
export interface DatasetMatrix {
  dataset: string;
  split: Split | "all";
  candidates: string[];
  tasks: string[];
  cells: MatrixCell[];
  /** Per candidate over all tasks. */
  overall: MatrixCell[];
  perTask: TaskSummary[];
  all: Omit<TaskSummary, "task">;
}

/** Task × candidate means, best single, oracle and tie rate per task and overall (as `fusionkit stats`). */
export function datasetMatrix(db: Database.Database, dataset: string, split: Split | null): DatasetMatrix {
  const where = `q.dataset = ?${split ? " AND q.split = ?" : ""}`;
  const params = split ? [dataset, split] : [dataset];
  const cellRows = db
    .prepare<unknown[], { task: string; model: string; mode: Mode; performance: number; cost: number; n: number }>(
      `SELECT q.task, o.model, o.mode, AVG(o.performance) AS performance, AVG(o.cost) AS cost, COUNT(*) AS n
       FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE ${where} GROUP BY q.task, o.model, o.mode`,
    )
    .all(...params);
  const overallRows = db
    .prepare<unknown[], { model: string; mode: Mode; performance: number; cost: number; n: number }>(
      `SELECT o.model, o.mode, AVG(o.performance) AS performance, AVG(o.cost) AS cost, COUNT(*) AS n
       FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE ${where} GROUP BY o.model, o.mode`,
    )
    .all(...params);
  // Per query: the top score, the cheapest cost among the candidates reaching it, and how many reach it.
  const oracleRows = db
    .prepare<unknown[], { task: string | null; queries: number; performance: number; cost: number; ties: number }>(
      `WITH o AS (SELECT q.task, o.query_id, o.performance AS p, o.cost AS c
                  FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE ${where}),
            top AS (SELECT query_id, task, MAX(p) AS p FROM o GROUP BY query_id),
            best AS (SELECT t.task, t.p, MIN(o.c) AS c, COUNT(*) AS k
                     FROM top t JOIN o ON o.query_id = t.query_id AND o.p = t.p GROUP BY t.query_id)
       SELECT task, COUNT(*) AS queries, AVG(p) AS performance, AVG(c) AS cost, SUM(k >= 2) AS ties
       FROM best GROUP BY task
       UNION ALL SELECT NULL, COUNT(*), AVG(p), AVG(c), SUM(k >= 2) FROM best`,
    )
    .all(...params);

  const key = (r: { model: string; mode: Mode }) => candidateKey(r.model, r.mode);
  const cells = cellRows.map((r) => ({
    task: r.task,
    candidate: key(r),
    performance: r.performance,
    cost: r.cost,
    n: r.n,
  }));
  const overall = overallRows.map((r) => ({
    task: "ALL",
    candidate: key(r),
    performance: r.performance,
    cost: r.cost,
    n: r.n,
  }));
  const candidates = overall.map((c) => c.candidate).sort();
  const tasks = [...new Set(cells.map((c) => c.task))].sort();
  const best = (rows: MatrixCell[]) => {
    if (rows.length === 0) return { model: "", performance: Number.NaN, cost: Number.NaN };
    const b = bestSingle(rows.map((r): CandidateSummary => ({ ...r })));
    return { model: b.candidate, performance: b.performance, cost: b.cost };
  };
  const summary = (task: string | null) => {
    const o = oracleRows.find((r) => r.task === task);
    return {
      queries: o?.queries ?? 0,
      bestSingle: best(task === null ? overall : cells.filter((c) => c.task === task)),
      oracle: { performance: o?.performance ?? Number.NaN, cost: o?.cost ?? Number.NaN },
      tieRate: o?.queries ? o.ties / o.queries : 0,
    };
  };
  return {
    dataset,
    split: split ?? "all",
    candidates,
    tasks,
    cells,
    overall,
    perTask: tasks.map((task) => ({ task, ...summary(task) })),
    all: summary(null),
  };
}

export type OutcomeFilter = "solved" | "failed" | "mixed";
export const OUTCOME_FILTERS: readonly OutcomeFilter[] = ["solved", "failed", "mixed"];
/** A score at or above this counts as solved in the browser's outcome filter. */
export const SOLVED_AT = 0.5;

export interface QueryBrowse {
  dataset: string;
  split?: Split | null;
  task?: string | null;
  text?: string | null;
  /** Candidate key (model or model_think) the outcome filter applies to; any candidate when absent. */
  candidate?: string | null;
  outcome?: OutcomeFilter | null;
  offset: number;
  limit: number;
}

export interface QueryRowView {
  id: string;
  task: string;
  split: string | null;
  text: string;
  textLength: number;
  scores: Record<string, number>;
}

/** One page of queries matching the filters, each with every candidate's score. */
export function browseQueries(
  db: Database.Database,
  f: QueryBrowse,
): { total: number; offset: number; limit: number; rows: QueryRowView[] } {
  const parts = ["q.dataset = ?"];
  const params: unknown[] = [f.dataset];
  if (f.split) {
    parts.push("q.split = ?");
    params.push(f.split);
  }
  if (f.task) {
    parts.push("q.task = ?");
    params.push(f.task);
  }
  if (f.text) {
    parts.push("q.text LIKE ? ESCAPE '\\'");
    params.push(likeAnywhere(f.text));
  }
  const cand = f.candidate ? parseCandidateKey(f.candidate) : null;
  const on = cand ? "o.query_id = q.id AND o.model = ? AND o.mode = ?" : "o.query_id = q.id";
  const onParams = cand ? [cand.model, cand.mode] : [];
  if (f.outcome === "solved") {
    parts.push(`EXISTS (SELECT 1 FROM outcomes o WHERE ${on} AND o.performance >= ${SOLVED_AT})`);
    params.push(...onParams);
  } else if (f.outcome === "failed") {
    // With a candidate: it failed. Without: every candidate failed.
    parts.push(
      cand
        ? `EXISTS (SELECT 1 FROM outcomes o WHERE ${on} AND o.performance < ${SOLVED_AT})`
        : `NOT EXISTS (SELECT 1 FROM outcomes o WHERE ${on} AND o.performance >= ${SOLVED_AT})`,
    );
    params.push(...onParams);
  } else if (f.outcome === "mixed") {
    parts.push(
      `EXISTS (SELECT 1 FROM outcomes o WHERE o.query_id = q.id AND o.performance >= ${SOLVED_AT})`,
      `EXISTS (SELECT 1 FROM outcomes o WHERE o.query_id = q.id AND o.performance < ${SOLVED_AT})`,
    );
    if (cand) {
      parts.push(`EXISTS (SELECT 1 FROM outcomes o WHERE ${on})`);
      params.push(...onParams);
    }
  } else if (cand) {
    parts.push(`EXISTS (SELECT 1 FROM outcomes o WHERE ${on})`);
    params.push(...onParams);
  }
  const where = parts.join(" AND ");
  const total = (
    db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM queries q WHERE ${where}`).get(...params) as {
      n: number;
    }
  ).n;
  const rows = db
    .prepare<unknown[], { id: string; task: string; split: string | null; text: string; len: number }>(
      `SELECT q.id, q.task, q.split, substr(q.text, 1, 400) AS text, length(q.text) AS len FROM queries q
       WHERE ${where} ORDER BY q.rowid LIMIT ? OFFSET ?`,
    )
    .all(...params, f.limit, f.offset);
  const scores = new Map<string, Record<string, number>>(rows.map((r) => [r.id, {}]));
  if (rows.length) {
    const outs = db
      .prepare<unknown[], { query_id: string; model: string; mode: Mode; performance: number }>(
        `SELECT query_id, model, mode, performance FROM outcomes WHERE query_id IN (${rows.map(() => "?").join(",")})`,
      )
      .all(...rows.map((r) => r.id));
    for (const o of outs) {
      const s = scores.get(o.query_id);
      if (s) s[candidateKey(o.model, o.mode)] = o.performance;
    }
  }
  return {
    total,
    offset: f.offset,
    limit: f.limit,
    rows: rows.map((r) => ({
      id: r.id,
      task: r.task,
      split: r.split,
      text: r.text,
      textLength: r.len,
      scores: scores.get(r.id) ?? {},
    })),
  };
}

export interface QueryDetail {
  id: string;
  dataset: string;
  task: string;
  split: string | null;
  text: string;
  groundTruth: string | null;
  metric: string | null;
  outcomes: Array<{
    candidate: string;
    performance: number;
    cost: number;
    inputTokens: number | null;
    outputTokens: number | null;
    judge: number | null;
    response: string | null;
  }>;
}

/** One query with every model's response and score; null when there is no such query. */
export function queryDetail(db: Database.Database, id: string): QueryDetail | null {
  const q = db
    .prepare<
      [string],
      {
        id: string;
        dataset: string;
        task: string;
        split: string | null;
        text: string;
        ground_truth: string | null;
        metric: string | null;
      }
    >("SELECT id, dataset, task, split, text, ground_truth, metric FROM queries WHERE id = ?")
    .get(id);
  if (!q) return null;
  const outcomes = db
    .prepare<
      [string],
      {
        model: string;
        mode: Mode;
        performance: number;
        cost: number;
        input_tokens: number | null;
        output_tokens: number | null;
        judge: number | null;
        response: string | null;
      }
    >(
      `SELECT model, mode, performance, cost, input_tokens, output_tokens, judge, response FROM outcomes
       WHERE query_id = ? ORDER BY performance DESC, cost ASC`,
    )
    .all(id);
  return {
    id: q.id,
    dataset: q.dataset,
    task: q.task,
    split: q.split,
    text: q.text,
    groundTruth: q.ground_truth,
    metric: q.metric,
    outcomes: outcomes.map((o) => ({
      candidate: candidateKey(o.model, o.mode),
      performance: o.performance,
      cost: o.cost,
      inputTokens: o.input_tokens,
      outputTokens: o.output_tokens,
      judge: o.judge,
      response: o.response,
    })),
  };
}
