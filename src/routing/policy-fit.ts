import { columnMean } from "../eval/metrics.ts";
import { type CallPlan, POLICY_POINTS, type PolicyPoint } from "./policy.ts";
import type { TrainingSet } from "./router.ts";

/**
 * What every multi-call policy shares when it learns: task-stratified folds of the train rows, the best
 * single model to match or beat, the plan restricted to the candidates a query has outcomes for, and the
 * choice of operating points from out-of-fold (cost, performance) points — all inside the train split.
 */

export const NO_TASK = "(no task)";

/** Mean performance and cost of each candidate over `rows` (NaN cells skipped; −∞ performance when none). */
export function candidateStats(data: TrainingSet, rows: readonly number[]): { perf: Float64Array; cost: Float64Array } {
  const c = data.candidates.length;
  const perf = new Float64Array(c);
  const cost = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const m = columnMean(data, rows, j);
    perf[j] = m.n ? m.performance : Number.NEGATIVE_INFINITY;
    cost[j] = m.n ? m.cost : Number.POSITIVE_INFINITY;
  }
  return { perf, cost };
}

/** The best single candidate on rows: highest mean performance, ties to the cheaper. */
export function bestSingleOf(
  data: TrainingSet,
  rows: readonly number[],
): { j: number; performance: number; cost: number } {
  const { perf, cost } = candidateStats(data, rows);
  let best = 0;
  for (let j = 1; j < perf.length; j++)
    if (
      (perf[j] as number) > (perf[best] as number) + 1e-12 ||
      (Math.abs((perf[j] as number) - (perf[best] as number)) <= 1e-12 && (cost[j] as number) < (cost[best] as number))
    )
      best = j;
  return { j: best, performance: perf[best] as number, cost: cost[best] as number };
}

/**
 * The plan without the candidates that cannot be called for this query (no outcome recorded, or filtered
 * out by the gateway); empty stages are dropped. Null when nothing is left.
 */
export function restrictPlan(plan: CallPlan, available: (j: number) => boolean): CallPlan | null {
  const stages = plan.stages.map((s) => s.filter(available)).filter((s) => s.length > 0);
  return stages.length ? { stages, stop: plan.stop } : null;
}

export interface OutOfFoldPoint {
  performance: number;
  cost: number;
}

/**
 * Operating points from out-of-fold points (one per λ index), against the train split's best single
 * model: `match-best` is the cheapest point at least as good as it (else the best point); `within-cost`
 * the best point costing at most what it costs (else the cheapest); `max-performance` the best point
 * (ties to the cheaper).
 */
export function choosePoints(
  oof: readonly OutOfFoldPoint[],
  target: { performance: number; cost: number },
): Record<PolicyPoint, number> {
  const idx = oof.map((_, k) => k);
  const best = (ks: number[]) =>
    ks.reduce((a, b) =>
      (oof[b] as OutOfFoldPoint).performance > (oof[a] as OutOfFoldPoint).performance + 1e-12 ||
      (Math.abs((oof[b] as OutOfFoldPoint).performance - (oof[a] as OutOfFoldPoint).performance) <= 1e-12 &&
        (oof[b] as OutOfFoldPoint).cost < (oof[a] as OutOfFoldPoint).cost)
        ? b
        : a,
    );
  const cheapest = (ks: number[]) =>
    ks.reduce((a, b) => ((oof[b] as OutOfFoldPoint).cost < (oof[a] as OutOfFoldPoint).cost ? b : a));
  const matching = idx.filter((k) => (oof[k] as OutOfFoldPoint).performance >= target.performance - 1e-12);
  const within = idx.filter((k) => (oof[k] as OutOfFoldPoint).cost <= target.cost + 1e-15);
  const out = {} as Record<PolicyPoint, number>;
  for (const p of POLICY_POINTS)
    out[p] =
      p === "match-best"
        ? matching.length
          ? cheapest(matching)
          : best(idx)
        : p === "within-cost"
          ? within.length
            ? best(within)
            : cheapest(idx)
          : best(idx);
  return out;
}
