import type { QueryFilter, Store } from "./store.ts";
import { candidateKey, type Mode, parseCandidateKey, type Query } from "./types.ts";

export interface Candidate {
  /** FusionBench-style key: model, or model + "_think". */
  key: string;
  model: string;
  mode: Mode;
}

/**
 * Dense view of routing data for routers and evaluation: queries × candidates matrices of
 * performance and cost (row-major, NaN where a candidate has no outcome for a query).
 */
export interface RoutingTable {
  queries: Query[];
  candidates: Candidate[];
  performance: Float64Array;
  cost: Float64Array;
}

export function loadRoutingTable(store: Store, filter: QueryFilter = {}, candidateKeys?: string[]): RoutingTable {
  const queries = store.queries(filter);
  const rowOf = new Map(queries.map((q, i) => [q.id, i]));
  const outcomes = store.outcomes(filter);
  const keys = candidateKeys ?? [...new Set(outcomes.map((o) => candidateKey(o.model, o.mode)))].sort();
  const colOf = new Map(keys.map((k, j) => [k, j]));
  const n = queries.length * keys.length;
  const performance = new Float64Array(n).fill(Number.NaN);
  const cost = new Float64Array(n).fill(Number.NaN);
  for (const o of outcomes) {
    const i = rowOf.get(o.queryId);
    const j = colOf.get(candidateKey(o.model, o.mode));
    if (i === undefined || j === undefined) continue;
    performance[i * keys.length + j] = o.performance;
    cost[i * keys.length + j] = o.cost;
  }
  const candidates = keys.map((key) => ({ key, ...parseCandidateKey(key) }));
  return { queries, candidates, performance, cost };
}

/** Restrict a table to a subset of query rows (e.g. one task). */
export function selectRows(table: RoutingTable, rows: number[]): RoutingTable {
  const c = table.candidates.length;
  const performance = new Float64Array(rows.length * c);
  const cost = new Float64Array(rows.length * c);
  rows.forEach((r, i) => {
    performance.set(table.performance.subarray(r * c, (r + 1) * c), i * c);
    cost.set(table.cost.subarray(r * c, (r + 1) * c), i * c);
  });
  return { queries: rows.map((r) => table.queries[r] as Query), candidates: table.candidates, performance, cost };
}
