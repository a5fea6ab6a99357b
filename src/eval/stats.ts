import type { RoutingTable } from "../data/table.ts";
import { columnMean } from "./metrics.ts";

export interface CandidateSummary {
  candidate: string;
  performance: number;
  cost: number;
  /** Queries with an outcome for this candidate. */
  n: number;
}

export interface TaskStats {
  queries: number;
  candidates: CandidateSummary[];
  bestSingle: { model: string; performance: number; cost: number };
  oracle: { performance: number; cost: number };
  /** Share of queries where two or more candidates tie at the top score. */
  tieRate: number;
}

export interface DatasetStats extends TaskStats {
  perTask: Record<string, TaskStats>;
}

/** Mean of each candidate's performance and cost over the given rows (missing outcomes are skipped). */
export function candidateMeans(table: RoutingTable, rows: number[]): CandidateSummary[] {
  return table.candidates.map((cand, j) => ({ candidate: cand.key, ...columnMean(table, rows, j) }));
}

/** Best single candidate: highest mean performance, ties broken by lower mean cost. */
export function bestSingle(summaries: CandidateSummary[]): CandidateSummary {
  let best: CandidateSummary | null = null;
  for (const s of summaries) {
    if (Number.isNaN(s.performance)) continue;
    if (!best || s.performance > best.performance || (s.performance === best.performance && s.cost < best.cost))
      best = s;
  }
  if (!best) throw new Error("no candidate has any outcome");
  return best;
}

/**
 * Per-query oracle: for each query the top-scoring candidate, ties broken by lower cost.
 * Returns the chosen column per row (−1 when the row has no outcomes).
 */
export function oracleChoices(table: RoutingTable, rows: number[]): Int32Array {
  const c = table.candidates.length;
  const out = new Int32Array(rows.length).fill(-1);
  rows.forEach((i, r) => {
    let best = -1;
    for (let j = 0; j < c; j++) {
      const p = table.performance[i * c + j] as number;
      if (Number.isNaN(p)) continue;
      if (best < 0) {
        best = j;
        continue;
      }
      const bp = table.performance[i * c + best] as number;
      if (p > bp || (p === bp && (table.cost[i * c + j] as number) < (table.cost[i * c + best] as number))) best = j;
    }
    out[r] = best;
  });
  return out;
}

export function taskStats(table: RoutingTable, rows: number[]): TaskStats {
  const c = table.candidates.length;
  const candidates = candidateMeans(table, rows);
  const best = bestSingle(candidates);
  const choices = oracleChoices(table, rows);
  let op = 0;
  let oc = 0;
  let ties = 0;
  let n = 0;
  rows.forEach((i, r) => {
    const j = choices[r] as number;
    if (j < 0) return;
    const top = table.performance[i * c + j] as number;
    op += top;
    oc += table.cost[i * c + j] as number;
    n++;
    let atTop = 0;
    for (let k = 0; k < c; k++) if (table.performance[i * c + k] === top) atTop++;
    if (atTop >= 2) ties++;
  });
  return {
    queries: rows.length,
    candidates,
    bestSingle: { model: best.candidate, performance: best.performance, cost: best.cost },
    oracle: { performance: n ? op / n : Number.NaN, cost: n ? oc / n : Number.NaN },
    tieRate: n ? ties / n : 0,
  };
}

export function datasetStats(table: RoutingTable): DatasetStats {
  const all = table.queries.map((_, i) => i);
  const byTask = new Map<string, number[]>();
  table.queries.forEach((q, i) => {
    const rows = byTask.get(q.task) ?? [];
    rows.push(i);
    byTask.set(q.task, rows);
  });
  const perTask: Record<string, TaskStats> = {};
  for (const [task, rows] of [...byTask].sort((a, b) => a[0].localeCompare(b[0])))
    perTask[task] = taskStats(table, rows);
  return { ...taskStats(table, all), perTask };
}
