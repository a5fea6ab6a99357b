import { UsageError } from "../data/errors.ts";
import type { CandidateInfo, Prediction, RankedCandidate } from "./router.ts";

/**
 * The knob that trades performance for cost, and the one ranking function everybody uses (eval, CLI,
 * gateway). Routers only predict performance and cost per candidate; choosing from those predictions
 * happens here, so a frontier sweep over λ never retrains.
 *
 * Scenarios follow FusionFactory: reward = α·perf − β·cost with perf and cost min–max normalised within
 * the query's task (constants learned on the train split; the global range for tasks unseen in training).
 * "llm-judge" ranks by the predicted judge score when the router has one (else predicted performance).
 * The willingness-to-pay knob λ ranks by predicted performance − λ·cost, cost in raw USD per query, so
 * λ is "performance points per dollar" (λ = 1e4 pays at most $1e-4 for +1.0 performance).
 */
export type Scenario = "performance-first" | "balance" | "cost-first" | "llm-judge";

export const SCENARIOS: Record<Scenario, { alpha: number; beta: number }> = {
  "performance-first": { alpha: 1, beta: 0 },
  balance: { alpha: 0.5, beta: 0.5 },
  "cost-first": { alpha: 0.2, beta: 0.8 },
  "llm-judge": { alpha: 1, beta: 0 },
};

export type Knob = { scenario: Scenario } | { lambda: number };

export const DEFAULT_KNOB: Knob = { scenario: "performance-first" };

/** Min–max range of performance and cost (USD) within one task. */
export interface Scale {
  perfMin: number;
  perfMax: number;
  costMin: number;
  costMax: number;
}

/** Per-task scales learned on the train split, with the global range as fallback. JSON-serialisable. */
export interface ScalesState {
  global: Scale;
  perTask: Record<string, Scale>;
}

/** One query's predictions (a row of a Prediction). */
export interface PredictionRow {
  performance: ArrayLike<number>;
  cost: ArrayLike<number>;
  judge?: ArrayLike<number> | null;
  reasons?: readonly string[] | null;
  /** Orders candidates tied on the objective and on predicted cost, higher first (Prediction.tieBreak). */
  tieBreak?: ArrayLike<number> | null;
}

/** Two scores closer than this are a tie (predictions are floats; exact equality misses sums in other orders). */
const TIE = 1e-12;

export function knobLabel(knob: Knob): string {
  return "scenario" in knob ? knob.scenario : `lambda=${knob.lambda}`;
}

/** Build a knob from CLI flags: at most one of --scenario and --lambda. */
export function parseKnob(scenario: string | undefined, lambda: string | undefined): Knob {
  if (scenario !== undefined && lambda !== undefined) throw new UsageError("give --scenario or --lambda, not both");
  if (lambda !== undefined) {
    const l = Number(lambda);
    if (!Number.isFinite(l) || l < 0) throw new UsageError(`--lambda must be a number ≥ 0, got "${lambda}"`);
    return { lambda: l };
  }
  if (scenario === undefined) return DEFAULT_KNOB;
  if (!(scenario in SCENARIOS))
    throw new UsageError(`--scenario must be one of ${Object.keys(SCENARIOS).join(", ")}, got "${scenario}"`);
  return { scenario: scenario as Scenario };
}

function emptyRange(): Scale {
  return { perfMin: Infinity, perfMax: -Infinity, costMin: Infinity, costMax: -Infinity };
}

/** Learn min–max scales per task (and globally) from observed outcomes; NaN cells are skipped. */
export function learnScales(
  tasks: readonly (string | null | undefined)[],
  performance: Float64Array,
  cost: Float64Array,
  nCandidates: number,
): ScalesState {
  const global = emptyRange();
  const perTask: Record<string, Scale> = {};
  tasks.forEach((task, i) => {
    if (task && !perTask[task]) perTask[task] = emptyRange();
    const s = task ? perTask[task] : null;
    for (let j = 0; j < nCandidates; j++) {
      const p = performance[i * nCandidates + j];
      const c = cost[i * nCandidates + j];
      if (Number.isNaN(p) || Number.isNaN(c)) continue;
      for (const r of s ? [global, s] : [global]) {
        if (p < r.perfMin) r.perfMin = p;
        if (p > r.perfMax) r.perfMax = p;
        if (c < r.costMin) r.costMin = c;
        if (c > r.costMax) r.costMax = c;
      }
    }
  });
  if (!Number.isFinite(global.perfMin))
    throw new Error("cannot learn scales: no outcome has both performance and cost");
  return { global, perTask };
}

export function scaleFor(scales: ScalesState, task: string | null | undefined): Scale {
  return (task ? scales.perTask[task] : undefined) ?? scales.global;
}

/** (v − min)/(max − min); 0 when the range is empty (every value equal), so the term cannot decide. */
function minMax(v: number, min: number, max: number): number {
  return max > min ? (v - min) / (max - min) : 0;
}

/**
 * The objective value of one (performance, cost) pair under a knob. Used both on predictions (ranking)
 * and on realised outcomes (the reward reported by evaluation), so the two always agree.
 */
export function objective(perf: number, cost: number, knob: Knob, scale: Scale): number {
  if ("lambda" in knob) return perf - knob.lambda * cost;
  const { alpha, beta } = SCENARIOS[knob.scenario];
  if (beta === 0) return alpha * perf;
  return alpha * minMax(perf, scale.perfMin, scale.perfMax) - beta * minMax(cost, scale.costMin, scale.costMax);
}

/** The performance value a knob ranks by: the judge prediction for "llm-judge" when there is one. */
function rankedPerf(row: PredictionRow, j: number, knob: Knob): number {
  if ("scenario" in knob && knob.scenario === "llm-judge" && row.judge) {
    const v = row.judge[j];
    if (!Number.isNaN(v)) return v;
  }
  return row.performance[j];
}

/** A candidate as the ranking compares it: objective value, predicted cost, tie-break score (NaN: none). */
interface Scored {
  score: number;
  cost: number;
  tie: number;
}

/**
 * True when candidate a beats b: higher score; on a tie, lower predicted cost; on equal cost, the higher
 * tie-break score (when the router gives one); then the earlier column.
 */
function better(a: Scored, b: Scored): boolean {
  if (a.score > b.score + TIE) return true;
  if (a.score < b.score - TIE) return false;
  if (a.cost !== b.cost) return a.cost < b.cost;
  return a.tie > b.tie;
}

function tieOf(row: PredictionRow, j: number): number {
  return row.tieBreak ? (row.tieBreak[j] as number) : Number.NaN;
}

/** Every candidate ranked best first, with predicted performance, cost, the objective value and a reason. */
export function rank(
  row: PredictionRow,
  candidates: readonly CandidateInfo[],
  knob: Knob,
  scale: Scale,
): RankedCandidate[] {
  const items = candidates.map((cand, j) => {
    const perf = rankedPerf(row, j, knob);
    const cost = row.cost[j];
    return { cand, j, perf, cost, tie: tieOf(row, j), score: objective(perf, cost, knob, scale) };
  });
  // Unknown predictions (NaN) sink to the bottom instead of poisoning the sort.
  items.sort((a, b) => {
    const an = Number.isNaN(a.score);
    const bn = Number.isNaN(b.score);
    if (an || bn) return an === bn ? a.j - b.j : an ? 1 : -1;
    if (better(a, b)) return -1;
    if (better(b, a)) return 1;
    return a.j - b.j;
  });
  return items.map(({ cand, j, score, cost }) => ({
    key: cand.key,
    model: cand.model,
    mode: cand.mode,
    predictedPerformance: row.performance[j],
    predictedCost: cost,
    score,
    reason:
      row.reasons?.[j] ??
      `predicted performance ${fmt(row.performance[j])} at $${cost.toExponential(2)}/query (${knobLabel(knob)})`,
  }));
}

/**
 * The chosen column for every query of a batch (the top of `rank`, without building the ranking), for
 * evaluation and λ sweeps. Returns −1 for a query whose predictions are all NaN.
 */
export function choose(
  pred: Prediction,
  nCandidates: number,
  knob: Knob,
  scales: ScalesState,
  tasks: readonly (string | null | undefined)[],
): Int32Array {
  const out = new Int32Array(tasks.length).fill(-1);
  tasks.forEach((task, i) => {
    const row = predictionRow(pred, i, nCandidates);
    const scale = scaleFor(scales, task);
    let best = -1;
    let top: Scored = { score: 0, cost: 0, tie: 0 };
    for (let j = 0; j < nCandidates; j++) {
      const cost = row.cost[j];
      const here = { score: objective(rankedPerf(row, j, knob), cost, knob, scale), cost, tie: tieOf(row, j) };
      if (Number.isNaN(here.score)) continue;
      if (best < 0 || better(here, top)) {
        best = j;
        top = here;
      }
    }
    out[i] = best;
  });
  return out;
}

/** The predictions to choose from under a knob (a router may predict differently per objective). */
export function predictionFor(pred: Prediction, knob: Knob): Prediction {
  return pred.underKnob ? pred.underKnob(knob) : pred;
}

/**
 * Each query's predictions as a knob ranks them (the router's predictions for that knob), as row views: what
 * the gateway, `route` and the retrain comparison rank, so the three choose alike. One call per batch, since a
 * router may build a knob's predictions for the whole batch (auto).
 */
export function rowsUnderKnob(pred: Prediction, knob: Knob, nCandidates: number): PredictionRow[] {
  const under = predictionFor(pred, knob);
  return Array.from({ length: under.performance.length / nCandidates }, (_, i) => predictionRow(under, i, nCandidates));
}

/** Row i of a batch prediction as views (no copy). */
export function predictionRow(pred: Prediction, i: number, nCandidates: number): PredictionRow {
  const a = i * nCandidates;
  const b = a + nCandidates;
  return {
    performance: pred.performance.subarray(a, b),
    cost: pred.cost.subarray(a, b),
    judge: pred.judge ? pred.judge.subarray(a, b) : null,
    reasons: pred.reasons ? pred.reasons.slice(a, b) : null,
    tieBreak: pred.tieBreak ? pred.tieBreak.subarray(a, b) : null,
  };
}

/**
 * λ values for a cost–quality sweep: 0, then log-spaced from "cost barely matters" to "cheapest wins",
 * scaled by the typical cost per query so the same grid works for any price level.
 */
export function lambdaGrid(typicalCost: number, points = 24): number[] {
  if (!(typicalCost > 0)) return [0];
  const lo = 1e-3 / typicalCost;
  const hi = 1e3 / typicalCost;
  const out = [0];
  for (let k = 0; k < points - 1; k++) out.push(lo * (hi / lo) ** (k / (points - 2)));
  return out;
}

function fmt(v: number): string {
  return Number.isNaN(v) ? "?" : v.toFixed(3);
}
