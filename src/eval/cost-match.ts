import { columnMean, groupRows, type OutcomeMatrix, type PerfCost } from "./metrics.ts";

/**
 * "Cost to match the best single model": how cheaply a router (or the per-query oracle) reaches the best
 * single model's mean performance. Three views, all pure functions:
 *
 * - `cheapestMatch`: along a router's λ sweep, the cheapest operating point whose mean performance is at
 *   least the target's, and its cost as a share of the target's cost (null when no point reaches it).
 * - `cheapestAssignment`: the least mean cost any assignment of candidates to queries can pay for a given
 *   mean performance, knowing every outcome (the per-query oracle's bound). This is the multiple-choice
 *   knapsack; its LP relaxation is solved exactly by the greedy over each query's convex cost–performance
 *   hull (Sinha & Zoltners 1979). The LP value is what a randomised oracle achieves, so it bounds every
 *   router from below; the deterministic greedy (the last, fractional step taken whole) is a feasible
 *   assignment, so the exact integer optimum lies between the two.
 * - `costMatchSummary`: the bound for the test set, the same bound when only the task is known (one
 *   mixture of candidates per task), the cost floor (each query's cheapest candidate), and per task
 *   where the best single model's cost comes from and what the oracle pays there.
 */

export interface FrontierPointLike extends PerfCost {
  lambda: number;
}

export interface MatchPoint {
  lambda: number;
  performance: number;
  cost: number;
  /** cost ÷ the target's cost. */
  costRatio: number;
}

/** Two means closer than this are equal (means of the same values summed in another order differ by ulps). */
const EPS = 1e-12;

/** The budget the issue sets: match the best single model at ≤ 60% of its cost. */
export const COST_RATIO_TARGET = 0.6;

/**
 * Cheapest point with performance ≥ target.performance. Ties on cost: the higher performance, then the
 * smaller λ (the less cost-averse setting).
 */
export function cheapestMatch(points: readonly FrontierPointLike[], target: PerfCost): MatchPoint | null {
  let best: FrontierPointLike | null = null;
  for (const p of points) {
    if (!Number.isFinite(p.cost) || !(p.performance >= target.performance - EPS)) continue;
    if (
      !best ||
      p.cost < best.cost ||
      (p.cost === best.cost &&
        (p.performance > best.performance || (p.performance === best.performance && p.lambda < best.lambda)))
    )
      best = p;
  }
  return best ? { ...pick(best), costRatio: best.cost / target.cost } : null;
}

/**
 * Best performance among the points that cost at most `budget` (ties: cheaper, then smaller λ); null
 * when every point costs more.
 */
export function bestWithinBudget(points: readonly FrontierPointLike[], budget: number): FrontierPointLike | null {
  let best: FrontierPointLike | null = null;
  for (const p of points) {
    if (!Number.isFinite(p.performance) || !(p.cost <= budget)) continue;
    if (
      !best ||
      p.performance > best.performance ||
      (p.performance === best.performance && (p.cost < best.cost || (p.cost === best.cost && p.lambda < best.lambda)))
    )
      best = p;
  }
  return best ? pick(best) : null;
}

function pick(p: FrontierPointLike): FrontierPointLike {
  return { lambda: p.lambda, performance: p.performance, cost: p.cost };
}

/**
 * A λ grid refined for locating operating points: `steps` geometric sub-steps between consecutive positive
 * λs of `lambdas` (which are kept), plus 0 when given. The coarse grid is for plotting; the match point
 * moves in steps of one query, so it needs a finer one.
 */
export function refineLambdas(lambdas: readonly number[], steps = 8): number[] {
  const pos = [...new Set(lambdas.filter((l) => l > 0))].sort((a, b) => a - b);
  const out = lambdas.some((l) => l === 0) ? [0] : [];
  pos.forEach((l, k) => {
    out.push(l);
    const next = pos[k + 1];
    if (next === undefined) return;
    for (let s = 1; s < steps; s++) out.push(l * (next / l) ** (s / steps));
  });
  return out;
}

export interface Assignment {
  /** LP optimum: the least mean cost reaching the target when a query may mix candidates (a lower bound). */
  lp: PerfCost;
  /** A deterministic assignment reaching the target (the greedy rounded up): an upper bound on the optimum. */
  integer: PerfCost;
  /** The integer assignment's candidate per row. */
  choices: Int32Array;
}

/**
 * The least (weighted) mean cost of an assignment of one candidate per row with (weighted) mean
 * performance ≥ `target`. Rows are queries (weight 1) or, for a task-level bound, tasks weighted by their
 * query counts. NaN cells are not candidates. Null when even the best candidate of every row falls short.
 */
export function cheapestAssignment(m: OutcomeMatrix, target: number, weights?: ArrayLike<number>): Assignment | null {
  const h = hullSteps(m, weights);
  const { totalW } = h;
  const need = target * totalW;
  if (h.reachable < need - EPS * totalW) return null;
  const choices = Int32Array.from(h.start);
  let perf = h.perf;
  let cost = h.cost;
  let lpCost = cost;
  let lpPerf = perf;
  for (const s of h.steps) {
    if (perf >= need - EPS * totalW) break;
    const missing = need - perf;
    if (s.dp > missing) {
      lpCost = cost + (s.dk * missing) / s.dp;
      lpPerf = need;
    }
    perf += s.dp;
    cost += s.dk;
    choices[s.row] = s.to;
    if (s.dp <= missing) {
      lpCost = cost;
      lpPerf = perf;
    }
  }
  return {
    lp: { performance: lpPerf / totalW, cost: lpCost / totalW },
    integer: { performance: perf / totalW, cost: cost / totalW },
    choices,
  };
}

/**
 * The oracle's whole cost–performance frontier (the LP path from "cheapest everywhere" to "best
 * everywhere"), thinned to at most `maxPoints` vertices: the least mean cost for every performance level.
 */
export function oracleFrontier(m: OutcomeMatrix, maxPoints = 80): PerfCost[] {
  const h = hullSteps(m);
  const all: PerfCost[] = [{ performance: h.perf / h.totalW, cost: h.cost / h.totalW }];
  let perf = h.perf;
  let cost = h.cost;
  for (const s of h.steps) {
    perf += s.dp;
    cost += s.dk;
    all.push({ performance: perf / h.totalW, cost: cost / h.totalW });
  }
  if (all.length <= maxPoints) return all;
  const every = (all.length - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, k) => all[Math.round(k * every)] as PerfCost);
}

interface HullStep {
  row: number;
  to: number;
  dp: number;
  dk: number;
  rank: number;
}

/**
 * Every row at its cheapest candidate, and every step up a row's hull (weighted), most performance per
 * dollar first; within a row the hull's slopes fall, so its steps stay in order.
 */
function hullSteps(
  m: OutcomeMatrix,
  weights?: ArrayLike<number>,
): { start: Int32Array; perf: number; cost: number; reachable: number; totalW: number; steps: HullStep[] } {
  const c = m.candidates.length;
  const n = m.performance.length / c;
  const w = (i: number) => (weights ? (weights[i] as number) : 1);
  let totalW = 0;
  for (let i = 0; i < n; i++) totalW += w(i);
  if (!(totalW > 0)) throw new Error("cheapestAssignment: no rows");
  const start = new Int32Array(n).fill(-1);
  const steps: HullStep[] = [];
  let perf = 0;
  let cost = 0;
  let reachable = 0;
  for (let i = 0; i < n; i++) {
    const hull = rowHull(m, i, c);
    if (hull.length === 0) throw new Error(`cheapestAssignment: row ${i} has no candidate with an outcome`);
    const first = hull[0] as number;
    start[i] = first;
    perf += w(i) * (m.performance[i * c + first] as number);
    cost += w(i) * (m.cost[i * c + first] as number);
    reachable += w(i) * (m.performance[i * c + (hull[hull.length - 1] as number)] as number);
    for (let k = 1; k < hull.length; k++) {
      const a = hull[k - 1] as number;
      const b = hull[k] as number;
      steps.push({
        row: i,
        to: b,
        dp: w(i) * ((m.performance[i * c + b] as number) - (m.performance[i * c + a] as number)),
        dk: w(i) * ((m.cost[i * c + b] as number) - (m.cost[i * c + a] as number)),
        rank: k,
      });
    }
  }
  steps.sort((x, y) => y.dp / y.dk - x.dp / x.dk || x.row - y.row || x.rank - y.rank);
  return { start, perf, cost, reachable, totalW, steps };
}

/**
 * Candidates of row i on the upper-left convex hull of (cost, performance), cheapest first: each step up
 * buys performance at a falling rate. Candidates dominated (dearer and no better) or under the hull are
 * never worth part of an optimal mixture.
 */
function rowHull(m: OutcomeMatrix, i: number, c: number): number[] {
  const js: number[] = [];
  for (let j = 0; j < c; j++)
    if (!Number.isNaN(m.performance[i * c + j] as number) && !Number.isNaN(m.cost[i * c + j] as number)) js.push(j);
  const p = (j: number) => m.performance[i * c + j] as number;
  const k = (j: number) => m.cost[i * c + j] as number;
  js.sort((a, b) => k(a) - k(b) || p(b) - p(a) || a - b);
  const hull: number[] = [];
  for (const j of js) {
    const last = hull[hull.length - 1];
    if (last !== undefined && p(j) <= p(last)) continue; // dearer (or as dear) and no better
    while (hull.length >= 2) {
      const a = hull[hull.length - 2] as number;
      const b = hull[hull.length - 1] as number;
      // Drop b when a → j climbs at least as steeply per dollar as a → b (b lies on or under the chord).
      if ((p(b) - p(a)) * (k(j) - k(a)) <= (p(j) - p(a)) * (k(b) - k(a))) hull.pop();
      else break;
    }
    hull.push(j);
  }
  return hull;
}

export interface TaskCostMatch {
  queries: number;
  /** The best single model (overall) on this task. */
  bestSingle: PerfCost;
  /** Share of the best single model's total cost spent on this task. */
  bestSingleCostShare: number;
  /** The candidate with the least mean cost on the task (what a cost-only router pays there). */
  cheapest: PerfCost & { model: string };
  /** The per-query oracle assignment (integer) matching the best single model overall, on this task. */
  oracle: PerfCost;
}

export interface CostMatchSummary {
  /** The best single model's mean performance and cost: the point to match. */
  target: PerfCost & { model: string };
  budgetRatio: number;
  /** Per-query oracle: least cost reaching the target (LP bound and a deterministic assignment). */
  oracle: { lp: MatchCost; integer: MatchCost } | null;
  /** The oracle's least mean cost for every performance level (LP path, thinned): the plot's bound curve. */
  oracleFrontier: PerfCost[];
  /** Knowing only the task: the least cost of per-task candidate mixtures reaching the target (LP). */
  taskOracle: MatchCost | null;
  /**
   * The honest version of the task-only bound: a one-candidate-per-task plan fitted on the train split (the
   * cheapest reaching the best single model's train performance) and scored here; absent without a train
   * split, null when no plan reaches the target on train.
   */
  taskPlan?: (MatchCost & { plan: Record<string, string> }) | null;
  /** Each query sent to its own cheapest candidate: the least any router can pay. */
  floor: MatchCost;
  perTask: Record<string, TaskCostMatch>;
}

export interface MatchCost extends PerfCost {
  costRatio: number;
}

/**
 * The honest bound on "match the best single model at ≤ 60% of its cost" for one split: what the oracle
 * pays, what a task-only oracle pays, and the cost floor set by the task mix.
 */
export function costMatchSummary(
  m: OutcomeMatrix,
  taskOfRow: ArrayLike<string>,
  target: PerfCost & { model: string },
  keys: readonly string[],
  train?: { m: OutcomeMatrix; tasks: ArrayLike<string> },
): CostMatchSummary {
  const c = m.candidates.length;
  const ratio = (x: PerfCost): MatchCost => ({ ...x, costRatio: x.cost / target.cost });
  const best = keys.indexOf(target.model);
  if (best < 0) throw new Error(`costMatchSummary: no candidate "${target.model}"`);
  const oracle = cheapestAssignment(m, target.performance);

  // Task level: one row per task holding each candidate's mean over the task, weighted by its queries.
  const byTask = groupRows(taskOfRow);
  const tasks = [...byTask.keys()];
  const tp = new Float64Array(tasks.length * c);
  const tk = new Float64Array(tasks.length * c);
  const weights = tasks.map((t) => (byTask.get(t) as number[]).length);
  const cheapestOf: Array<PerfCost & { model: string }> = [];
  let floorPerf = 0;
  let floorCost = 0;
  let total = 0;
  tasks.forEach((t, r) => {
    const rows = byTask.get(t) as number[];
    for (let j = 0; j < c; j++) {
      const mean = columnMean(m, rows, j);
      tp[r * c + j] = mean.performance;
      tk[r * c + j] = mean.cost;
    }
    let jc = -1;
    for (let j = 0; j < c; j++) {
      const k = tk[r * c + j] as number;
      if (Number.isNaN(k)) continue;
      if (jc < 0 || k < (tk[r * c + jc] as number)) jc = j;
    }
    cheapestOf.push({
      model: keys[jc] as string,
      performance: tp[r * c + jc] as number,
      cost: tk[r * c + jc] as number,
    });
    for (const i of rows) {
      let jq = -1;
      for (let j = 0; j < c; j++) {
        const k = m.cost[i * c + j] as number;
        if (Number.isNaN(k) || Number.isNaN(m.performance[i * c + j] as number)) continue;
        if (jq < 0 || k < (m.cost[i * c + jq] as number)) jq = j;
      }
      floorPerf += m.performance[i * c + jq] as number;
      floorCost += m.cost[i * c + jq] as number;
    }
    total += rows.length;
  });
  const taskLevel = cheapestAssignment(
    { candidates: m.candidates, performance: tp, cost: tk },
    target.performance,
    weights,
  );

  const bestTotalCost = target.cost * total;
  const perTask: Record<string, TaskCostMatch> = {};
  tasks.forEach((t, r) => {
    const rows = byTask.get(t) as number[];
    const bs = { performance: tp[r * c + best] as number, cost: tk[r * c + best] as number };
    let op = 0;
    let ok = 0;
    for (const i of rows) {
      const j = oracle ? (oracle.choices[i] as number) : best;
      op += m.performance[i * c + j] as number;
      ok += m.cost[i * c + j] as number;
    }
    perTask[t] = {
      queries: rows.length,
      bestSingle: bs,
      bestSingleCostShare: (bs.cost * rows.length) / bestTotalCost,
      cheapest: cheapestOf[r] as PerfCost & { model: string },
      oracle: { performance: op / rows.length, cost: ok / rows.length },
    };
  });
  return {
    target: { model: target.model, performance: target.performance, cost: target.cost },
    budgetRatio: COST_RATIO_TARGET,
    oracle: oracle ? { lp: ratio(oracle.lp), integer: ratio(oracle.integer) } : null,
    oracleFrontier: oracleFrontier(m),
    taskOracle: taskLevel ? ratio(taskLevel.lp) : null,
    ...(train ? { taskPlan: scoreTaskPlan(train, m, taskOfRow, best, keys, ratio) } : {}),
    floor: ratio({ performance: floorPerf / total, cost: floorCost / total }),
    perTask,
  };
}

/** Per task, the candidate that the knapsack over task means picks (one per task), or null if unreachable. */
export function fitTaskPlan(
  m: OutcomeMatrix,
  taskOfRow: ArrayLike<string>,
  targetPerformance: number,
): Map<string, number> | null {
  const c = m.candidates.length;
  const byTask = groupRows(taskOfRow);
  const tasks = [...byTask.keys()];
  const perf = new Float64Array(tasks.length * c);
  const cost = new Float64Array(tasks.length * c);
  tasks.forEach((t, r) => {
    for (let j = 0; j < c; j++) {
      const x = columnMean(m, byTask.get(t) as number[], j);
      perf[r * c + j] = x.performance;
      cost[r * c + j] = x.cost;
    }
  });
  const weights = tasks.map((t) => (byTask.get(t) as number[]).length);
  const a = cheapestAssignment({ candidates: m.candidates, performance: perf, cost }, targetPerformance, weights);
  return a ? new Map(tasks.map((t, r) => [t, a.choices[r] as number])) : null;
}

/** Fit the task plan on train (target: column `best`'s train performance) and score it on `m`. */
function scoreTaskPlan(
  train: { m: OutcomeMatrix; tasks: ArrayLike<string> },
  m: OutcomeMatrix,
  taskOfRow: ArrayLike<string>,
  best: number,
  keys: readonly string[],
  ratio: (x: PerfCost) => MatchCost,
): (MatchCost & { plan: Record<string, string> }) | null {
  const tc = train.m.candidates.length;
  const trainRows = [...Array(train.m.performance.length / tc).keys()];
  const trainBest = columnMean(train.m, trainRows, best);
  const plan = fitTaskPlan(train.m, train.tasks, trainBest.performance);
  if (!plan) return null;
  const c = m.candidates.length;
  let p = 0;
  let k = 0;
  let n = 0;
  for (let i = 0; i < taskOfRow.length; i++) {
    // A task the train split never saw falls back to the best single model.
    const j = plan.get(taskOfRow[i] as string) ?? best;
    const v = m.performance[i * c + j] as number;
    if (Number.isNaN(v)) continue;
    p += v;
    k += m.cost[i * c + j] as number;
    n++;
  }
  return {
    ...ratio({ performance: p / n, cost: k / n }),
    plan: Object.fromEntries([...plan].map(([t, j]) => [t, keys[j] as string])),
  };
}
