import { choose, DEFAULT_KNOB, type Knob, learnScales, objective, type Scale, scaleFor } from "./objective.ts";
import type { Prediction, TrainingSet } from "./router.ts";

/** The rows of a training set as a smaller training set (for held-out tuning inside `fit`). */
export function subset(data: TrainingSet, rows: readonly number[]): TrainingSet {
  const c = data.candidates.length;
  const pick = (m: Float64Array) => {
    const out = new Float64Array(rows.length * c);
    rows.forEach((r, i) => {
      out.set(m.subarray(r * c, (r + 1) * c), i * c);
    });
    return out;
  };
  return {
    candidates: data.candidates,
    queries: rows.map((r) => data.queries[r]),
    performance: pick(data.performance),
    cost: pick(data.cost),
    judge: data.judge ? pick(data.judge) : null,
    descriptionEmbeddings: data.descriptionEmbeddings,
  };
}

/**
 * Realised objective of the candidate a prediction chooses, per row: prediction row i belongs to data row
 * rows[i]; NaN where nothing was chosen or the chosen candidate has no outcome. With the default knob
 * this is the chosen candidate's performance. Candidates are chosen with the scales of the whole of `data`
 * (as a router fitted on it ranks); the outcome is scored on the same scales unless `scoreScale` gives the
 * scale of a data row (auto scores each held-out fold on its own ranges, as evaluation scores a held set).
 */
export function realisedRows(
  pred: Prediction,
  data: TrainingSet,
  rows: readonly number[],
  knob: Knob = DEFAULT_KNOB,
  scoreScale?: (row: number) => Scale,
): Float64Array {
  const c = data.candidates.length;
  const tasks = rows.map((r) => data.queries[r].task);
  const scales = learnScales(
    data.queries.map((q) => q.task),
    data.performance,
    data.cost,
    c,
  );
  const picks = choose(pred, c, knob, scales, tasks);
  return Float64Array.from(rows, (r, i) => {
    const j = picks[i];
    if (j < 0) return Number.NaN;
    const p = data.performance[r * c + j];
    if (Number.isNaN(p)) return Number.NaN;
    return objective(p, data.cost[r * c + j], knob, scoreScale ? scoreScale(r) : scaleFor(scales, tasks[i]));
  });
}

/**
 * Mean realised objective of the candidates a prediction chooses for `rows` of `data` (rows where the
 * chosen candidate has no outcome are skipped). With the default knob this is mean performance —
 * what routers are tuned for on held-out slices of the train split.
 */
export function realisedScore(
  pred: Prediction,
  data: TrainingSet,
  rows: readonly number[],
  knob: Knob = DEFAULT_KNOB,
): number {
  let s = 0;
  let n = 0;
  for (const v of realisedRows(pred, data, rows, knob))
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  return n ? s / n : Number.NaN;
}
