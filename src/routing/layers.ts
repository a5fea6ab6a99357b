import type { Rng } from "../util/prng.ts";
import { glorot, sigmoid } from "./math.ts";
import type { SigmoidModel } from "./sgd.ts";

/** out (n × m) = A (n × p) · B (p × m) + bias (m), plain loops with the inner loop over contiguous m. */
function matmulBias(A: Float64Array, B: Float64Array, bias: Float64Array | null, n: number, p: number, m: number) {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const o = i * m;
    if (bias) out.set(bias, o);
    for (let k = 0; k < p; k++) {
      const a = A[i * p + k];
      if (a === 0) continue;
      const bk = k * m;
      for (let j = 0; j < m; j++) out[o + j] += a * B[bk + j];
    }
  }
  return out;
}

/** gW (p × m) = Aᵀ (p × n) · D (n × m); gb (m) = column sums of D. */
function gradWeights(
  A: Float64Array,
  D: Float64Array,
  n: number,
  p: number,
  m: number,
  gW: Float64Array,
  gb?: Float64Array,
) {
  gW.fill(0);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < p; k++) {
      const a = A[i * p + k];
      if (a === 0) continue;
      for (let j = 0; j < m; j++) gW[k * m + j] += a * D[i * m + j];
    }
  if (gb) {
    gb.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) gb[j] += D[i * m + j];
  }
}

/** D (n × m) · Bᵀ → (n × p), the gradient flowing back into a layer's input. */
function backInput(D: Float64Array, B: Float64Array, n: number, p: number, m: number): Float64Array {
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < p; k++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += D[i * m + j] * B[k * m + j];
      out[i * p + k] = s;
    }
  return out;
}

/** Per-candidate logistic regression sharing one feature matrix: logits = X·W + b. */
export class LogisticModel implements SigmoidModel {
  readonly params: Float64Array[];
  readonly decay = [true, false];
  private X: Float64Array = new Float64Array(0);
  private readonly gW: Float64Array;
  private readonly gb: Float64Array;
  constructor(
    readonly p: number,
    readonly c: number,
    init?: Float64Array[],
  ) {
    this.params = init ?? [new Float64Array(p * c), new Float64Array(c)];
    this.gW = new Float64Array(p * c);
    this.gb = new Float64Array(c);
  }
  forward(X: Float64Array, n: number): Float64Array {
    this.X = X;
    return matmulBias(X, this.params[0], this.params[1], n, this.p, this.c);
  }
  backward(dz: Float64Array, n: number): Float64Array[] {
    gradWeights(this.X, dz, n, this.p, this.c, this.gW, this.gb);
    return [this.gW, this.gb];
  }
}

/**
 * A model sized (features p, width k, candidates c), the width being its one hidden size: MLP hidden units,
 * the rank of a factorisation, latent skills. Its parameters are the artifact's weights (fresh ones are
 * drawn with `rng`, restored ones given as `init`), with one gradient buffer each.
 */
export abstract class WidthModel implements SigmoidModel {
  abstract readonly decay: boolean[];
  readonly params: Float64Array[];
  protected readonly grads: Float64Array[];
  /** The last forward batch's feature rows (backward needs them). */
  protected X: Float64Array = new Float64Array(0);
  constructor(
    readonly p: number,
    readonly k: number,
    readonly c: number,
    params: Float64Array[],
  ) {
    this.params = params;
    this.grads = params.map((a) => new Float64Array(a.length));
  }
  abstract forward(X: Float64Array, n: number): Float64Array;
  abstract backward(dz: Float64Array, n: number): Float64Array[];
}

/** A WidthModel class: fresh with `rng`, or restored from `init` (then `rng` is null). */
export type WidthModelClass = new (
  p: number,
  k: number,
  c: number,
  rng: Rng | null,
  init?: Float64Array[],
) => WidthModel;

/** One hidden ReLU layer of k units, one sigmoid output per candidate (multi-output). */
export class MlpModel extends WidthModel {
  readonly decay = [true, false, true, false];
  private H: Float64Array = new Float64Array(0);
  constructor(p: number, k: number, c: number, rng: Rng | null, init?: Float64Array[]) {
    super(
      p,
      k,
      c,
      init ?? [glorot(p, k, rng as Rng), new Float64Array(k), glorot(k, c, rng as Rng), new Float64Array(c)],
    );
  }
  forward(X: Float64Array, n: number): Float64Array {
    const [W1, b1, W2, b2] = this.params;
    this.X = X;
    const H = matmulBias(X, W1, b1, n, this.p, this.k);
    for (let t = 0; t < H.length; t++) if (H[t] < 0) H[t] = 0;
    this.H = H;
    return matmulBias(H, W2, b2, n, this.k, this.c);
  }
  backward(dz: Float64Array, n: number): Float64Array[] {
    const [, , W2] = this.params;
    const [gW1, gb1, gW2, gb2] = this.grads;
    gradWeights(this.H, dz, n, this.k, this.c, gW2, gb2);
    const dH = backInput(dz, W2, n, this.k, this.c);
    for (let t = 0; t < dH.length; t++) if (this.H[t] <= 0) dH[t] = 0;
    gradWeights(this.X, dH, n, this.p, this.k, gW1, gb1);
    return this.grads;
  }
}

/**
 * RouteLLM-style matrix factorisation: the query's features are projected to k dimensions (P) and
 * scored against a learned vector per candidate (V), logit = (x·P)·v_m + b_m — a rank-k bilinear model.
 */
export class MfModel extends WidthModel {
  readonly decay = [true, true, false];
  private Hq: Float64Array = new Float64Array(0);
  constructor(p: number, k: number, c: number, rng: Rng | null, init?: Float64Array[]) {
    super(p, k, c, init ?? [glorot(p, k, rng as Rng), glorot(k, c, rng as Rng), new Float64Array(c)]);
  }
  forward(X: Float64Array, n: number): Float64Array {
    const [P, V, b] = this.params;
    this.X = X;
    this.Hq = matmulBias(X, P, null, n, this.p, this.k);
    return matmulBias(this.Hq, V, b, n, this.k, this.c);
  }
  backward(dz: Float64Array, n: number): Float64Array[] {
    const [, V] = this.params;
    const [gP, gV, gb] = this.grads;
    gradWeights(this.Hq, dz, n, this.k, this.c, gV, gb);
    const dH = backInput(dz, V, n, this.k, this.c);
    gradWeights(this.X, dH, n, this.p, this.k, gP);
    return this.grads;
  }
}

/** softplus(u) = log(1 + eᵘ), stable for large |u|; its derivative is sigmoid(u). */
export function softplus(u: number): number {
  return Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
}

/**
 * Multidimensional item response theory (MIRT, 2PL) with item parameters predicted from the query:
 * logit P(candidate m solves query q) = a(q)·θ_m + c_m − b(q), where
 * - a(q) = softplus(x·Wa + ba) ∈ ℝᵏ₊ is the query's discrimination along k latent skills (positive, so a
 *   higher ability never lowers the chance of success),
 * - b(q) = x·wb + bb is the query's difficulty,
 * - θ_m ∈ ℝᵏ is candidate m's ability on each skill and c_m its general ability (intercept).
 * Predicting a and b from the features (embedding ⊕ task ⊕ domain) is what lets the model score queries
 * it has never seen; graded outcomes in [0,1] are soft labels of the same Bernoulli likelihood.
 * Params: [Wa (p×k), ba (k), Θ (k×c), c (c), wb (p), bb (1)].
 */
export class IrtModel extends WidthModel {
  readonly decay = [true, false, true, false, true, false];
  private U: Float64Array = new Float64Array(0);
  private A: Float64Array = new Float64Array(0);
  constructor(p: number, k: number, c: number, rng: Rng | null, init?: Float64Array[]) {
    super(
      p,
      k,
      c,
      init ?? [
        glorot(p, k, rng as Rng),
        new Float64Array(k),
        glorot(k, c, rng as Rng),
        new Float64Array(c),
        new Float64Array(p),
        new Float64Array(1),
      ],
    );
  }

  /** Discrimination a(q) (n × k) and difficulty b(q) (n) of feature rows X, as the model sees them. */
  items(X: Float64Array, n: number): { a: Float64Array; b: Float64Array } {
    const [Wa, ba, , , wb, bb] = this.params;
    const a = matmulBias(X, Wa, ba, n, this.p, this.k);
    for (let t = 0; t < a.length; t++) a[t] = softplus(a[t]);
    const b = matmulBias(X, wb, bb, n, this.p, 1);
    return { a, b };
  }

  forward(X: Float64Array, n: number): Float64Array {
    const [Wa, ba, Theta, cm, wb, bb] = this.params;
    this.X = X;
    this.U = matmulBias(X, Wa, ba, n, this.p, this.k);
    this.A = this.U.map(softplus);
    const z = matmulBias(this.A, Theta, cm, n, this.k, this.c);
    const b = matmulBias(X, wb, bb, n, this.p, 1);
    for (let i = 0; i < n; i++) for (let j = 0; j < this.c; j++) z[i * this.c + j] -= b[i];
    return z;
  }

  backward(dz: Float64Array, n: number): Float64Array[] {
    const [, , Theta] = this.params;
    const [gWa, gba, gTheta, gc, gwb, gbb] = this.grads;
    // z = A·Θ + c − b: Θ and c as in a linear layer over A.
    gradWeights(this.A, dz, n, this.k, this.c, gTheta, gc);
    // dA = dz·Θᵀ, through softplus: dU = dA ⊙ sigmoid(U).
    const dU = backInput(dz, Theta, n, this.k, this.c);
    for (let t = 0; t < dU.length; t++) dU[t] *= sigmoid(this.U[t]);
    gradWeights(this.X, dU, n, this.p, this.k, gWa, gba);
    // ∂z_ij/∂b_i = −1 for every candidate.
    const db = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < this.c; j++) s -= dz[i * this.c + j];
      db[i] = s;
    }
    gradWeights(this.X, db, n, this.p, 1, gwb, gbb);
    return this.grads;
  }
}
