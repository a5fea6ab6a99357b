import type { Rng } from "../util/prng.ts";
import { Adam, holdoutSplit, sigmoid } from "./math.ts";

/**
 * A model with one sigmoid output per candidate (predicted success probability), trained with masked
 * binary cross-entropy: soft labels (performance in [0,1]) are fine, NaN labels (no outcome) are skipped.
 */
export interface SigmoidModel {
  readonly params: Float64Array[];
  /** Which params get weight decay (weights yes, biases no). */
  readonly decay: boolean[];
  /** Logits (batch × c) for a batch of feature rows (batch × p). Keeps what backward needs. */
  forward(X: Float64Array, batch: number): Float64Array;
  /** Gradients of the loss for the last forward batch, given dLoss/dLogits (batch × c). */
  backward(dLogits: Float64Array, batch: number): Float64Array[];
}

export interface SgdOptions {
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  /** Early stopping: this share of the rows (stratified by task) is held out; 0 = none. */
  valFraction: number;
  patience: number;
  rng: Rng;
  tasks: readonly (string | null | undefined)[];
  onEpoch?: (epoch: number, valLoss: number) => void;
}

function bce(logits: Float64Array, Y: Float64Array, rows: readonly number[], start: number, c: number): number {
  let loss = 0;
  let n = 0;
  for (let b = 0; b < logits.length / c; b++) {
    const r = rows[start + b];
    for (let j = 0; j < c; j++) {
      const y = Y[r * c + j];
      if (Number.isNaN(y)) continue;
      const z = logits[b * c + j];
      // log(1 + e^z) − y·z, stable for large |z|.
      loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z;
      n++;
    }
  }
  return n ? loss / n : 0;
}

/** Mini-batch Adam with early stopping on a held-out slice; restores the best parameters seen. */
export function trainSigmoid(model: SigmoidModel, X: Float64Array, Y: Float64Array, c: number, o: SgdOptions): number {
  const n = Y.length / c;
  const p = X.length / n;
  const all = Array.from({ length: n }, (_, i) => i);
  const { fit, held } = o.valFraction > 0 ? holdoutSplit(o.tasks, o.valFraction, o.rng) : { fit: all, held: [] };
  const opt = new Adam(model.params, o.lr, o.weightDecay, model.decay);
  const xb = new Float64Array(o.batch * p);
  const dz = new Float64Array(o.batch * c);
  const gather = (rows: readonly number[], start: number, size: number) => {
    for (let b = 0; b < size; b++) xb.set(X.subarray(rows[start + b] * p, (rows[start + b] + 1) * p), b * p);
    return xb.subarray(0, size * p);
  };
  const valLoss = () => {
    let s = 0;
    for (let start = 0; start < held.length; start += o.batch) {
      const size = Math.min(o.batch, held.length - start);
      s += bce(model.forward(gather(held, start, size), size), Y, held, start, c) * size;
    }
    return held.length ? s / held.length : 0;
  };
  let best = Infinity;
  let bestParams = model.params.map((a) => a.slice());
  let stale = 0;
  const order = fit.slice();
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    o.rng.shuffle(order);
    for (let start = 0; start < order.length; start += o.batch) {
      const size = Math.min(o.batch, order.length - start);
      const logits = model.forward(gather(order, start, size), size);
      let count = 0;
      for (let b = 0; b < size; b++)
        for (let j = 0; j < c; j++) if (!Number.isNaN(Y[order[start + b] * c + j])) count++;
      const scale = count ? 1 / count : 0;
      for (let b = 0; b < size; b++) {
        const r = order[start + b];
        for (let j = 0; j < c; j++) {
          const y = Y[r * c + j];
          dz[b * c + j] = Number.isNaN(y) ? 0 : (sigmoid(logits[b * c + j]) - y) * scale;
        }
      }
      opt.step(model.backward(dz.subarray(0, size * c), size));
    }
    if (!held.length) continue;
    const v = valLoss();
    o.onEpoch?.(epoch, v);
    if (v < best - 1e-6) {
      best = v;
      bestParams = model.params.map((a) => a.slice());
      stale = 0;
    } else if (++stale >= o.patience) break;
  }
  if (held.length) for (const [k, a] of model.params.entries()) a.set(bestParams[k]);
  return best;
}

/** Predicted success probabilities (n × c) for feature rows X (n × p), in batches. */
export function predictSigmoid(model: SigmoidModel, X: Float64Array, n: number, c: number, batch = 256): Float64Array {
  const p = X.length / Math.max(n, 1);
  const out = new Float64Array(n * c);
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const logits = model.forward(X.subarray(start * p, (start + size) * p), size);
    for (let k = 0; k < size * c; k++) out[start * c + k] = sigmoid(logits[k]);
  }
  return out;
}
