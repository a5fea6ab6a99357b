import type Database from "better-sqlite3";
import { candidateKey, type Mode, parseCandidateKey } from "../../data/types.ts";
import { loadEvalRun } from "../../eval/runs.ts";

/**
 * One router of a stored evaluation run seen against the run's best single model: its per-task means next
 * to the best single model's, and the queries where it chose another candidate, with both outcomes.
 */

interface PerfCost {
  performance: number;
  cost: number;
}
interface StoredRouter extends PerfCost {
  name: string;
  scenario: string;
  perTask: Record<string, PerfCost & { queries: number }>;
  beatsBestSingleOn: string[];
  losesOn: string[];
  tiesOn: string[];
  usage: Record<string, number>;
}
interface StoredResult {
  bestSingle: PerfCost & { model: string; perTask: Record<string, PerfCost> };
  routers: StoredRouter[];
}

export type Verdict = "better" | "worse" | "same";
export const VERDICTS: readonly Verdict[] = ["better", "worse", "same"];

export interface RouterDetail {
  run: number;
  router: string;
  scenario: string;
  bestSingle: string;
  performance: number;
  cost: number;
  usage: Record<string, number>;
  tasks: Array<{
    task: string;
    queries: number;
    router: PerfCost;
    bestSingle: PerfCost | null;
    verdict: "wins" | "loses" | "ties";
  }>;
  /** Queries where the router's choice differs from the best single model, by how the choice scored. */
  differs: Record<Verdict, number>;
  page: {
    total: number;
    offset: number;
    limit: number;
    rows: Array<{
      queryId: string;
      task: string;
      text: string;
      chosen: string;
      chosenPerformance: number | null;
      chosenCost: number | null;
      bestPerformance: number | null;
      bestCost: number | null;
    }>;
  };
}

/** null when the run or the router × scenario is not stored. */
export function routerDetail(
  db: Database.Database,
  runId: number,
  router: string,
  scenario: string,
  verdict: Verdict | null,
  offset: number,
  limit: number,
): RouterDetail | null {
  const run = loadEvalRun(db, runId);
  if (!run) return null;
  const result = run.result as StoredResult;
  const r = result.routers.find((x) => x.name === router && x.scenario === scenario);
  if (!r) return null;
  const best = parseCandidateKey(result.bestSingle.model);
  const tasks = Object.entries(r.perTask).map(([task, v]) => ({
    task,
    queries: v.queries,
    router: { performance: v.performance, cost: v.cost },
    bestSingle: result.bestSingle.perTask[task] ?? null,
    verdict: r.beatsBestSingleOn.includes(task)
      ? ("wins" as const)
      : r.losesOn.includes(task)
        ? ("loses" as const)
        : ("ties" as const),
  }));

  // Chosen and best-single outcomes of every query where the choice differs; the verdict compares scores.
  const base = `FROM eval_choices c JOIN queries q ON q.id = c.query_id
    LEFT JOIN outcomes oc ON oc.query_id = c.query_id AND oc.model = c.model AND oc.mode = c.mode
    LEFT JOIN outcomes ob ON ob.query_id = c.query_id AND ob.model = ? AND ob.mode = ?
    WHERE c.run_id = ? AND c.router = ? AND c.scenario = ? AND NOT (c.model = ? AND c.mode = ?)`;
  const params = [best.model, best.mode, runId, router, scenario, best.model, best.mode];
  const verdictSql: Record<Verdict, string> = {
    better: "oc.performance > ob.performance",
    worse: "oc.performance < ob.performance",
    same: "oc.performance = ob.performance",
  };
  const counts = db
    .prepare<unknown[], Record<Verdict, number | null>>(
      `SELECT SUM(${verdictSql.better}) AS better, SUM(${verdictSql.worse}) AS worse, SUM(${verdictSql.same}) AS same ${base}`,
    )
    .get(...params) as Record<Verdict, number | null>;
  const filter = verdict ? ` AND ${verdictSql[verdict]}` : "";
  const total = (
    db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n ${base}${filter}`).get(...params) as { n: number }
  ).n;
  const rows = db
    .prepare<
      unknown[],
      {
        query_id: string;
        task: string;
        text: string;
        model: string;
        mode: Mode;
        cp: number | null;
        cc: number | null;
        bp: number | null;
        bc: number | null;
      }
    >(
      `SELECT c.query_id, q.task, substr(q.text, 1, 300) AS text, c.model, c.mode, oc.performance AS cp, oc.cost AS cc,
       ob.performance AS bp, ob.cost AS bc ${base}${filter}
       ORDER BY (oc.performance - ob.performance) DESC, q.rowid LIMIT ? OFFSET ?`,
    )
    .all(...params, limit, offset);
  return {
    run: runId,
    router,
    scenario,
    bestSingle: result.bestSingle.model,
    performance: r.performance,
    cost: r.cost,
    usage: r.usage,
    tasks,
    differs: { better: counts.better ?? 0, worse: counts.worse ?? 0, same: counts.same ?? 0 },
    page: {
      total,
      offset,
      limit,
      rows: rows.map((x) => ({
        queryId: x.query_id,
        task: x.task,
        text: x.text,
        chosen: candidateKey(x.model, x.mode),
        chosenPerformance: x.cp,
        chosenCost: x.cc,
        bestPerformance: x.bp,
        bestCost: x.bc,
      })),
    },
  };
}
