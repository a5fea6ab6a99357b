import { choleskySolve, logit, sigmoid } from "./math.ts";

/**
 * Logistic stacking (Wolpert's stacked generalisation with a logistic combiner): per candidate j,
 * P(success) = σ(w₀ + Σₖ wₖ · logit(pₖ)), where pₖ are the inputs' predictions for (query, j) — base
 * routers' out-of-fold predictions and the task prior. A few weights per candidate, fitted by Newton's
 * method on the (graded) outcomes with a small ridge on the slopes, so the blend is calibrated and cheap
 * to fit on out-of-fold predictions. Inputs are n × c, row-major; NaN targets are skipped.
 */

/** Probabilities are clipped to [EPS, 1 − EPS] before the logit, so 0/1 predictions keep finite leverage. */
const EPS = 0.01;
const ITERATIONS = 30;

/** One weight vector per candidate: [intercept, weight of input 1, …]. */
export type StackWeights = number[][];

function features(inputs: readonly ArrayLike<number>[], k: number, out: Float64Array): void {
  out[0] = 1;
  for (let m = 0; m < inputs.length; m++) {
    const p = inputs[m][k] as number;
    // An input without a prediction counts as "no information" (logit 0) instead of poisoning the blend.
    out[m + 1] = Number.isNaN(p) ? 0 : logit(p, EPS);
  }
}

/** Fit the stacking weights on `rows` (rows of the n × c inputs and target). */
export function fitStack(
  inputs: readonly ArrayLike<number>[],
  target: ArrayLike<number>,
  c: number,
  rows: readonly number[],
  ridge = 1,
): StackWeights {
  const d = inputs.length + 1;
  const x = new Float64Array(d);
  const out: StackWeights = [];
  for (let j = 0; j < c; j++) {
    // Start from the plain average of the inputs' logits.
    const w = Float64Array.from({ length: d }, (_, m) => (m === 0 ? 0 : 1 / inputs.length));
    for (let it = 0; it < ITERATIONS; it++) {
      const H = new Float64Array(d * d);
      const g = new Float64Array(d);
      let used = 0;
      for (const i of rows) {
        const k = i * c + j;
        const y = target[k] as number;
        if (Number.isNaN(y)) continue;
        features(inputs, k, x);
        let z = 0;
        for (let m = 0; m < d; m++) z += w[m] * x[m];
        const mu = sigmoid(z);
        const v = Math.max(mu * (1 - mu), 1e-9);
        for (let a = 0; a < d; a++) {
          g[a] += (mu - y) * x[a];
          for (let b = 0; b <= a; b++) H[a * d + b] += v * x[a] * x[b];
        }
        used++;
      }
      if (!used) break;
      for (let a = 1; a < d; a++) {
        H[a * d + a] += ridge;
        g[a] += ridge * w[a];
      }
      // A whisper of ridge on the intercept keeps it finite when a candidate always (or never) succeeds.
      H[0] += 1e-2;
      g[0] += 1e-2 * w[0];
      for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) H[a * d + b] = H[b * d + a];
      choleskySolve(H, d, g, 1);
      let step = 0;
      for (let m = 0; m < d; m++) {
        // Damped: a Newton step from a poor start may overshoot on nearly separable data.
        const delta = Math.max(-5, Math.min(5, g[m]));
        w[m] -= delta;
        step = Math.max(step, Math.abs(delta));
      }
      if (step < 1e-8) break;
    }
    out.push([...w]);
  }
  return out;
}

/** Stacked predictions for rows 0..n−1 of the inputs (n × c). */
export function applyStack(weights: StackWeights, inputs: readonly ArrayLike<number>[], n: number): Float64Array {
  const c = weights.length;
  const d = inputs.length + 1;
  const x = new Float64Array(d);
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < c; j++) {
      features(inputs, i * c + j, x);
      const w = weights[j] as number[];
      let z = 0;
      for (let m = 0; m < d; m++) z += (w[m] as number) * x[m];
      out[i * c + j] = sigmoid(z);
    }
  return out;
}

/** Weights read back from an artifact, checked against the number of candidates and inputs. */
export function checkStackWeights(w: unknown, c: number, nInputs: number): StackWeights {
  if (
    !Array.isArray(w) ||
    w.length !== c ||
    !w.every((r) => Array.isArray(r) && r.length === nInputs + 1 && r.every((v) => typeof v === "number"))
  )
    throw new Error(
      `artifact field "state.stack": expected ${c} rows of ${nInputs + 1} numbers (one weight row per candidate)`,
    );
  return w as StackWeights;
}
