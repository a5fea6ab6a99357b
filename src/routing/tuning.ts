import { choose, DEFAULT_KNOB, type Knob, learnScales, objective, scaleFor } from "./objective.ts";
import type { Prediction, RouteQuery, TrainingSet } from "./router.ts";

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
 * Mean realised objective of the candidates a prediction chooses for `rows` of `data` (prediction row i
 * belongs to data row rows[i]; rows where the
 * chosen candidate has no outcome are skipped). With the default knob this is mean performance —
 * what routers are tuned for on held-out slices of the train split.
 */
export function realisedScore(
  pred: Prediction,
  data: TrainingSet,
  rows: readonly number[],
  knob: Knob = DEFAULT_KNOB,
): number {
  const c = data.candidates.length;
  const queries: RouteQuery[] = rows.map((r) => data.queries[r]);
  const tasks = queries.map((q) => q.task);
  const scales = learnScales(
    data.queries.map((q) => q.task),
    data.performance,
    data.cost,
    c,
  );
  const picks = choose(pred, c, knob, scales, tasks);
  let s = 0;
  let n = 0;
  rows.forEach((r, i) => {
    const j = picks[i];
    if (j < 0) return;
    const p = data.performance[r * c + j];
    if (Number.isNaN(p)) return;
    s += objective(p, data.cost[r * c + j], knob, scaleFor(scales, tasks[i]));
    n++;
  });
  return n ? s / n : Number.NaN;
}
