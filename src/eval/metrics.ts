/**
 * Evaluation metrics for routers, as pure functions on typed arrays.
 *
 * Every matrix is n queries × c candidates, row-major (`value[i * c + j]`), NaN where a candidate has no
 * outcome for a query. A router's decisions are a choice vector: one candidate column per query.
 */

/** Outcomes of every candidate on every query (a TrainingSet or RoutingTable satisfies this). */
export interface OutcomeMatrix {
  candidates: ArrayLike<unknown>;
  performance: Float64Array;
  cost: Float64Array;
}

export interface PerfCost {
  performance: number;
  cost: number;
}

/** Mean performance and cost of one candidate (column j) over `rows`; missing outcomes (NaN) are skipped. */
export function columnMean(m: OutcomeMatrix, rows: Iterable<number>, j: number): PerfCost & { n: number } {
  const c = m.candidates.length;
  let p = 0;
  let k = 0;
  let n = 0;
  for (const i of rows) {
    const v = m.performance[i * c + j] as number;
    if (Number.isNaN(v)) continue;
    p += v;
    k += m.cost[i * c + j] as number;
    n++;
  }
  return n ? { performance: p / n, cost: k / n, n } : { performance: Number.NaN, cost: Number.NaN, n };
}

/** Means over all rows of several parts, from each part's means and size. */
export function pooledMeans(parts: ReadonlyArray<PerfCost & { n: number }>): PerfCost {
  let p = 0;
  let c = 0;
  let n = 0;
  for (const x of parts) {
    p += x.performance * x.n;
    c += x.cost * x.n;
    n += x.n;
  }
  return { performance: n ? p / n : Number.NaN, cost: n ? c / n : Number.NaN };
}

/** Mean performance and cost of the chosen candidates over `rows` (default: all queries). */
export function choiceMeans(m: OutcomeMatrix, choices: Int32Array, rows?: ArrayLike<number>): PerfCost {
  const c = m.candidates.length;
  const idx = rows ?? allRows(choices.length);
  let p = 0;
  let k = 0;
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r] as number;
    const j = choices[i] as number;
    const perf = m.performance[i * c + j] as number;
    if (j < 0 || j >= c || Number.isNaN(perf))
      throw new Error(`query row ${i}: chosen candidate ${j} has no outcome to score`);
    p += perf;
    k += m.cost[i * c + j] as number;
  }
  const n = idx.length;
  return { performance: n ? p / n : Number.NaN, cost: n ? k / n : Number.NaN };
}

/** Always choosing column `j`. */
export function constantChoices(n: number, j: number): Int32Array {
  return new Int32Array(n).fill(j);
}

/**
 * Min and max of performance and cost per task, over every (query, candidate) outcome of that task:
 * FusionFactory normalises both within each task so that a task with large costs or easy scores does not
 * dominate the reward. Returned per query row (each row carries its task's range).
 */
export interface RowRanges {
  perfMin: Float64Array;
  perfMax: Float64Array;
  costMin: Float64Array;
  costMax: Float64Array;
}

export function taskRanges(m: OutcomeMatrix, taskOfRow: ArrayLike<string>, quality?: Float64Array): RowRanges {
  const c = m.candidates.length;
  const q = quality ?? m.performance;
  const byTask = new Map<string, { pMin: number; pMax: number; cMin: number; cMax: number }>();
  for (let i = 0; i < taskOfRow.length; i++) {
    const t = taskOfRow[i] as string;
    let r = byTask.get(t);
    if (!r) {
      r = { pMin: Infinity, pMax: -Infinity, cMin: Infinity, cMax: -Infinity };
      byTask.set(t, r);
    }
    for (let j = 0; j < c; j++) {
      const p = q[i * c + j] as number;
      if (Number.isNaN(p)) continue;
      const k = m.cost[i * c + j] as number;
      if (p < r.pMin) r.pMin = p;
      if (p > r.pMax) r.pMax = p;
      if (k < r.cMin) r.cMin = k;
      if (k > r.cMax) r.cMax = k;
    }
  }
  const n = taskOfRow.length;
  const out: RowRanges = {
    perfMin: new Float64Array(n),
    perfMax: new Float64Array(n),
    costMin: new Float64Array(n),
    costMax: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = byTask.get(taskOfRow[i] as string);
    if (!r) continue;
    out.perfMin[i] = r.pMin;
    out.perfMax[i] = r.pMax;
    out.costMin[i] = r.cMin;
    out.costMax[i] = r.cMax;
  }
  return out;
}

/** (v − min)/(max − min), or 0 when the range is empty (every candidate equal on that task). */
export function minMax(v: number, min: number, max: number): number {
  return max > min ? (v - min) / (max - min) : 0;
}

/**
 * FusionFactory's reward: mean over queries of α·perf' − β·cost', where perf' and cost' are min–max
 * normalised within the query's task (`ranges` from `taskRanges`). `quality` replaces performance for the
 * LLM-judge scenario (the judge score is the quality).
 */
export function meanReward(
  m: OutcomeMatrix,
  choices: Int32Array,
  ranges: RowRanges,
  alpha: number,
  beta: number,
  rows?: ArrayLike<number>,
  quality?: Float64Array,
): number {
  const c = m.candidates.length;
  const q = quality ?? m.performance;
  const idx = rows ?? allRows(choices.length);
  let sum = 0;
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r] as number;
    const j = choices[i] as number;
    const p = minMax(q[i * c + j] as number, ranges.perfMin[i] as number, ranges.perfMax[i] as number);
    const k = minMax(m.cost[i * c + j] as number, ranges.costMin[i] as number, ranges.costMax[i] as number);
    sum += alpha * p - beta * k;
  }
  return idx.length ? sum / idx.length : Number.NaN;
}

/**
 * Share of the gap between the best single model and the per-query oracle that the router closes:
 * (router − best single)/(oracle − best single). 1 = oracle, 0 = no better than the best single model,
 * negative = worse. NaN when the oracle is no better than the best single model (no gap to close).
 */
export function gapClosed(router: number, bestSingle: number, oracle: number): number {
  const gap = oracle - bestSingle;
  return gap > 0 ? (router - bestSingle) / gap : Number.NaN;
}

/** Mean performance and cost per task of a choice vector. */
export function perTaskMeans(
  m: OutcomeMatrix,
  choices: Int32Array,
  taskOfRow: ArrayLike<string>,
): Record<string, PerfCost & { queries: number }> {
  const rowsByTask = groupRows(taskOfRow);
  const out: Record<string, PerfCost & { queries: number }> = {};
  for (const [task, rows] of rowsByTask) out[task] = { ...choiceMeans(m, choices, rows), queries: rows.length };
  return out;
}

/** Query rows of each task, tasks in sorted order. */
export function groupRows(taskOfRow: ArrayLike<string>): Map<string, number[]> {
  const byTask = new Map<string, number[]>();
  for (let i = 0; i < taskOfRow.length; i++) {
    const t = taskOfRow[i] as string;
    const rows = byTask.get(t) ?? [];
    rows.push(i);
    byTask.set(t, rows);
  }
  return new Map([...byTask].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Tasks where the router's mean performance is above / below / equal to the reference's (within `eps`). */
export function compareTasks(
  router: Record<string, PerfCost>,
  reference: Record<string, PerfCost>,
  eps = 1e-12,
): { beats: string[]; loses: string[]; ties: string[] } {
  const beats: string[] = [];
  const loses: string[] = [];
  const ties: string[] = [];
  for (const task of Object.keys(router).sort()) {
    const r = router[task]?.performance;
    const b = reference[task]?.performance;
    if (r === undefined || b === undefined) continue;
    if (r > b + eps) beats.push(task);
    else if (r < b - eps) loses.push(task);
    else ties.push(task);
  }
  return { beats, loses, ties };
}

// ---------------------------------------------------------------------------------------------------------
// RouteLLM (Ong et al. 2024, arXiv 2406.18665): two models, a weak (cheap) and a strong one. A router gives
// each query a score (how much the strong model is expected to help); routing to the strong model every
// query whose score is above a threshold, and sweeping the threshold, traces performance against the share
// of calls made to the strong model. PGR(x) = (perf(x) − weak)/(strong − weak);
// APGR = ∫₀¹ PGR(x) dx (trapezoid rule, as RouteLLM's evaluate.py does with np.trapz);
// CPT(p) = the smallest strong-call share at which performance reaches weak + p·(strong − weak).
// ---------------------------------------------------------------------------------------------------------

/**
 * Strong = the candidate with the higher mean performance (ties: the dearer one), weak = the other, as in
 * RouteLLM; `m` has exactly two candidate columns.
 */
export function strongWeak(m: OutcomeMatrix): { strong: number; weak: number } {
  const n = m.performance.length / 2;
  const means = [0, 1].map((j) => {
    let p = 0;
    let k = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = m.performance[i * 2 + j] as number;
      if (Number.isNaN(v)) continue;
      p += v;
      k += m.cost[i * 2 + j] as number;
      count++;
    }
    return { p: count ? p / count : -Infinity, k: count ? k / count : 0 };
  });
  const [a, b] = means as [{ p: number; k: number }, { p: number; k: number }];
  const strong = a.p > b.p || (a.p === b.p && a.k >= b.k) ? 0 : 1;
  return { strong, weak: 1 - strong };
}

/**
 * The strong/weak call curve of a two-candidate prediction over the rows where both outcomes are known:
 * each query scored by score(strong) − score(weak) (a missing score ranks last). Null when no row has both.
 */
export function twoModelCurve(
  m: OutcomeMatrix,
  score: ArrayLike<number>,
  pair: { strong: number; weak: number },
): CallCurve | null {
  const n = m.performance.length / 2;
  const rows: number[] = [];
  for (let i = 0; i < n; i++)
    if (!Number.isNaN(m.performance[i * 2] as number) && !Number.isNaN(m.performance[i * 2 + 1] as number))
      rows.push(i);
  if (rows.length === 0) return null;
  const weak = Float64Array.from(rows, (i) => m.performance[i * 2 + pair.weak] as number);
  const strong = Float64Array.from(rows, (i) => m.performance[i * 2 + pair.strong] as number);
  const gain = Float64Array.from(rows, (i) => {
    const d = (score[i * 2 + pair.strong] as number) - (score[i * 2 + pair.weak] as number);
    return Number.isNaN(d) ? -Infinity : d;
  });
  return callCurve(weak, strong, gain);
}

export interface CallCurve {
  /** Share of queries sent to the strong model, from 0 to 1, increasing. */
  strongShare: number[];
  /** Mean performance at that share. */
  performance: number[];
}

/**
 * Every point a threshold on `score` can reach: queries sorted by score (highest first) move to the strong
 * model one group of equal scores at a time — a threshold cannot split tied scores, and the straight line
 * between two points is what random tie-breaking achieves in expectation.
 */
export function callCurve(weakPerf: Float64Array, strongPerf: Float64Array, score: Float64Array): CallCurve {
  const n = weakPerf.length;
  if (strongPerf.length !== n || score.length !== n) throw new Error("callCurve: arrays differ in length");
  if (n === 0) throw new Error("callCurve: no queries");
  for (let i = 0; i < n; i++) if (Number.isNaN(score[i])) throw new Error(`callCurve: score of query ${i} is NaN`);
  const order = [...Array(n).keys()].sort((a, b) => (score[b] as number) - (score[a] as number));
  let total = 0;
  for (let i = 0; i < n; i++) total += weakPerf[i] as number;
  const strongShare = [0];
  const performance = [total / n];
  for (let k = 0; k < n; ) {
    const s = score[order[k] as number] as number;
    while (k < n && score[order[k] as number] === s) {
      const i = order[k] as number;
      total += (strongPerf[i] as number) - (weakPerf[i] as number);
      k++;
    }
    strongShare.push(k / n);
    performance.push(total / n);
  }
  return { strongShare, performance };
}

/** Average performance gap recovered; NaN when the strong model is no better than the weak one. */
export function apgr(curve: CallCurve): number {
  const { strongShare: x, performance: y } = curve;
  const weak = y[0] as number;
  const strong = y[y.length - 1] as number;
  if (!(strong > weak)) return Number.NaN;
  let area = 0;
  for (let k = 1; k < x.length; k++)
    area += (((x[k] as number) - (x[k - 1] as number)) * ((y[k] as number) + (y[k - 1] as number))) / 2;
  const width = (x[x.length - 1] as number) - (x[0] as number);
  return (area - weak * width) / ((strong - weak) * width);
}

/**
 * Call-performance threshold: the strong-call share (0–1) needed to recover `fraction` of the weak→strong
 * gap, reading the curve as piecewise linear and taking its first crossing. NaN when there is no gap.
 */
export function cpt(curve: CallCurve, fraction: number): number {
  const { strongShare: x, performance: y } = curve;
  const weak = y[0] as number;
  const strong = y[y.length - 1] as number;
  if (!(strong > weak)) return Number.NaN;
  const target = weak + fraction * (strong - weak);
  if ((y[0] as number) >= target) return x[0] as number;
  for (let k = 1; k < x.length; k++) {
    const y0 = y[k - 1] as number;
    const y1 = y[k] as number;
    if (y1 >= target) {
      const x0 = x[k - 1] as number;
      const x1 = x[k] as number;
      return y1 === y0 ? x1 : x0 + ((target - y0) / (y1 - y0)) * (x1 - x0);
    }
  }
  return x[x.length - 1] as number;
}

// ---------------------------------------------------------------------------------------------------------
// RouterBench (Hu et al. 2024, arXiv 2403.12031): a router traced over its knob gives (cost, performance)
// points. Mixing two routers at random reaches every point on the segment between them, and paying more
// must never be required to do worse, so the achievable curve is the non-decreasing convex hull of the
// points. AIQ = 1/(c_max − c_min) ∫ hull(c) dc over [c_min, c_max]. As in RouterBench's AIQ.py, the hull is
// extended flat from its best point to c_max, and nothing is credited below the router's cheapest point
// (that cost is not reachable); c_min, c_max default to the points' own range and should be shared when
// AIQs are compared.
// ---------------------------------------------------------------------------------------------------------

export interface CostPerf {
  cost: number;
  performance: number;
}

/** Non-decreasing upper convex hull, from the cheapest point (its best performance) to the best point. */
export function nonDecreasingHull(points: CostPerf[]): CostPerf[] {
  const pts = points
    .filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.performance))
    .sort((a, b) => a.cost - b.cost || b.performance - a.performance);
  if (pts.length === 0) return [];
  // Andrew's monotone chain, upper hull: pop while the last turn is not clockwise.
  const hull: CostPerf[] = [];
  for (const p of pts) {
    if (hull.length && (hull[hull.length - 1] as CostPerf).cost === p.cost) continue; // same cost, lower perf
    while (hull.length >= 2) {
      const a = hull[hull.length - 2] as CostPerf;
      const b = hull[hull.length - 1] as CostPerf;
      const cross =
        (b.cost - a.cost) * (p.performance - a.performance) - (b.performance - a.performance) * (p.cost - a.cost);
      if (cross >= 0) hull.pop();
      else break;
    }
    hull.push(p);
  }
  // A concave curve rises then falls: keep it up to its highest point.
  let top = 0;
  for (let k = 1; k < hull.length; k++)
    if ((hull[k] as CostPerf).performance > (hull[top] as CostPerf).performance) top = k;
  return hull.slice(0, top + 1);
}

/** RouterBench's AIQ of a router's (cost, performance) points over the cost range [costMin, costMax]. */
export function aiq(points: CostPerf[], costMin?: number, costMax?: number): number {
  const hull = nonDecreasingHull(points);
  if (hull.length === 0) return Number.NaN;
  const lo = costMin ?? (hull[0] as CostPerf).cost;
  const hi = costMax ?? Math.max(...points.map((p) => p.cost).filter(Number.isFinite));
  const last = hull[hull.length - 1] as CostPerf;
  if (!(hi > lo)) return last.performance; // one cost level: the curve is a single value
  // Piecewise-linear curve through the hull, flat after its last point, 0 before its first.
  const xs = [...hull.map((p) => p.cost), Math.max(hi, last.cost)];
  const ys = [...hull.map((p) => p.performance), last.performance];
  let area = 0;
  for (let k = 1; k < xs.length; k++) {
    const x0 = Math.max(lo, Math.min(hi, xs[k - 1] as number));
    const x1 = Math.max(lo, Math.min(hi, xs[k] as number));
    if (x1 <= x0) continue;
    area += (x1 - x0) * ((interp(xs, ys, x0) + interp(xs, ys, x1)) / 2);
  }
  return area / (hi - lo);
}

/** Linear interpolation on increasing xs (clamped to the ends). */
function interp(xs: number[], ys: number[], x: number): number {
  if (x <= (xs[0] as number)) return ys[0] as number;
  for (let k = 1; k < xs.length; k++) {
    const x1 = xs[k] as number;
    if (x <= x1) {
      const x0 = xs[k - 1] as number;
      const y0 = ys[k - 1] as number;
      const y1 = ys[k] as number;
      return x1 === x0 ? y1 : y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return ys[ys.length - 1] as number;
}

function allRows(n: number): number[] {
  return [...Array(n).keys()];
}
