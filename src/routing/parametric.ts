import { Rng } from "../util/prng.ts";
import { decodeF64, type EncodedArray, encodeArray } from "./codec.ts";
import { FeatureSpace, type FeatureSpaceState } from "./features.ts";
import { IrtModel, LogisticModel, MfModel, MlpModel, type WidthModel, type WidthModelClass } from "./layers.ts";
import { choleskySolve, holdoutSplit } from "./math.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { predictSigmoid, type SigmoidModel, trainSigmoid } from "./sgd.ts";
import { realisedScore } from "./tuning.ts";

interface ParametricState {
  features: FeatureSpaceState;
  priors: PriorsState;
  shape: number[];
  params: EncodedArray[];
}

/**
 * Routers that map features (embedding ⊕ task ⊕ domain) to per-candidate success through a fitted
 * function. Cost comes from the train-split means per (task, candidate), as for every router.
 */
abstract class ParametricRouter implements Router {
  abstract readonly name: string;
  protected features: FeatureSpace | null = null;
  protected priors: Priors | null = null;

  /** Fit the function on features X (n × p) and targets Y (n × c, NaN = unknown). */
  protected abstract fitModel(X: Float64Array, Y: Float64Array, data: TrainingSet): void;
  /** Predicted performance (n × c) for features X. */
  protected abstract predictModel(X: Float64Array, n: number): Float64Array;
  protected abstract shape(): number[];
  protected abstract weights(): Float64Array[];
  protected abstract load(shape: number[], weights: Float64Array[]): void;

  fit(data: TrainingSet): void {
    this.features = FeatureSpace.fit(data);
    this.priors = Priors.fit(data);
    this.fitModel(this.features.matrix(data.queries), data.performance, data);
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    if (!this.features || !this.priors) throw new Error(`${this.name} router used before fit/restore`);
    const c = this.priors.nCandidates;
    const performance = this.predictModel(this.features.matrix(queries), queries.length);
    const cost = new Float64Array(queries.length * c);
    queries.forEach((q, i) => {
      cost.set((this.priors as Priors).costRow(q.task), i * c);
    });
    const reasons = opts?.explain
      ? Array.from({ length: queries.length * c }, () => `${this.name} on embedding + task + domain features`)
      : undefined;
    return { performance, cost, reasons };
  }

  state(): ParametricState {
    if (!this.features || !this.priors) throw new Error(`${this.name} router used before fit/restore`);
    return {
      features: this.features.state(),
      priors: this.priors.state(),
      shape: this.shape(),
      params: this.weights().map((w) => encodeArray(w)),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as ParametricState;
    if (!s || !Array.isArray(s.params) || !Array.isArray(s.shape))
      throw new Error('artifact field "state": expected {features, priors, shape, params}');
    this.features = FeatureSpace.restore(s.features);
    this.priors = Priors.restore(s.priors, candidates.length);
    this.load(
      s.shape,
      s.params.map((p, k) => decodeF64(p, `state.params[${k}]`)),
    );
  }
}

interface Gram {
  G: Float64Array;
  XtY: Float64Array;
  missing: number[][];
}

export interface LinearParams {
  /** Ridge penalty; 0 = tune over RIDGE_GRID on a 20% held-out slice. */
  ridge?: number;
  seed?: number;
}
const RIDGE_GRID = [0.1, 1, 10, 100];

/**
 * Per-candidate ridge regression of performance on the features, in closed form:
 * w = (XᵀX + λI)⁻¹ Xᵀy, one Gram matrix shared by all candidates (rows with a missing outcome for a
 * candidate are removed from its Gram). The bias is not penalised. Predictions are clipped to [0,1].
 */
export class LinearRouter extends ParametricRouter {
  readonly name = "linear";
  private W: Float64Array = new Float64Array(0);
  private p = 0;
  private c = 0;
  ridge: number;
  private readonly seed: number;
  constructor(params: LinearParams = {}) {
    super();
    this.ridge = params.ridge ?? 0;
    this.seed = params.seed ?? 1;
  }

  /** Gram matrix XᵀX (bias column included) and Xᵀy over the rows; rows with NaN targets listed per candidate. */
  private gram(Xb: Float64Array, Y: Float64Array, rows: readonly number[]): Gram {
    const p = this.p;
    const c = this.c;
    const G = new Float64Array(p * p);
    const XtY = new Float64Array(p * c);
    const missing: number[][] = Array.from({ length: c }, () => []);
    for (const r of rows) {
      const x = Xb.subarray(r * p, (r + 1) * p);
      for (let a = 0; a < p; a++) {
        const xa = x[a];
        if (xa === 0) continue;
        const ga = a * p;
        for (let b = a; b < p; b++) G[ga + b] += xa * x[b];
      }
      for (let j = 0; j < c; j++) {
        const y = Y[r * c + j];
        if (Number.isNaN(y)) {
          missing[j].push(r);
          continue;
        }
        for (let a = 0; a < p; a++) XtY[a * c + j] += x[a] * y;
      }
    }
    for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) G[a * p + b] = G[b * p + a];
    return { G, XtY, missing };
  }

  /** Ridge solution from a Gram (the bias is not penalised); one shared factorisation when nothing is missing. */
  private solve(Xb: Float64Array, g: Gram, ridge: number): Float64Array {
    const p = this.p;
    const c = this.c;
    const G = g.G.slice();
    for (let a = 0; a < p - 1; a++) G[a * p + a] += ridge;
    G[p * p - 1] += 1e-8;
    const W = new Float64Array(p * c);
    if (g.missing.every((m) => m.length === 0)) {
      W.set(g.XtY);
      choleskySolve(G, p, W, c);
      return W;
    }
    for (let j = 0; j < c; j++) {
      const Gj = G.slice();
      for (const r of g.missing[j]) {
        const x = Xb.subarray(r * p, (r + 1) * p);
        for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) Gj[a * p + b] -= x[a] * x[b];
      }
      const w = new Float64Array(p);
      for (let a = 0; a < p; a++) w[a] = g.XtY[a * c + j];
      choleskySolve(Gj, p, w, 1);
      for (let a = 0; a < p; a++) W[a * c + j] = w[a];
    }
    return W;
  }

  private withBias(X: Float64Array, n: number): Float64Array {
    const q = this.p - 1;
    const Xb = new Float64Array(n * this.p);
    for (let i = 0; i < n; i++) {
      Xb.set(X.subarray(i * q, (i + 1) * q), i * this.p);
      Xb[i * this.p + q] = 1;
    }
    return Xb;
  }

  protected fitModel(X: Float64Array, Y: Float64Array, data: TrainingSet): void {
    const n = data.queries.length;
    this.c = data.candidates.length;
    this.p = X.length / n + 1;
    const Xb = this.withBias(X, n);
    if (this.ridge > 0) {
      this.W = this.solve(
        Xb,
        this.gram(
          Xb,
          Y,
          Array.from({ length: n }, (_, i) => i),
        ),
        this.ridge,
      );
      return;
    }
    // Tune the penalty on a held-out slice; the full Gram is the sum of the two parts' Grams.
    const { fit, held } = holdoutSplit(
      data.queries.map((q) => q.task),
      0.2,
      new Rng(this.seed),
    );
    const gFit = this.gram(Xb, Y, fit);
    const gHeld = this.gram(Xb, Y, held);
    const q = this.p - 1;
    const Xh = new Float64Array(held.length * q);
    held.forEach((r, i) => {
      Xh.set(X.subarray(r * q, (r + 1) * q), i * q);
    });
    const cost = costsOf(this.priors as Priors, data, held);
    let best = { score: -Infinity, ridge: RIDGE_GRID[0] };
    for (const ridge of RIDGE_GRID) {
      this.W = this.solve(Xb, gFit, ridge);
      const score = realisedScore({ performance: this.predictModel(Xh, held.length), cost }, data, held);
      if (score > best.score + 1e-12) best = { score, ridge };
    }
    this.ridge = best.ridge;
    const full: Gram = {
      G: gFit.G.map((v, k) => v + gHeld.G[k]),
      XtY: gFit.XtY.map((v, k) => v + gHeld.XtY[k]),
      missing: gFit.missing.map((m, j) => [...m, ...gHeld.missing[j]]),
    };
    this.W = this.solve(Xb, full, this.ridge);
  }

  protected predictModel(X: Float64Array, n: number): Float64Array {
    const p = this.p;
    const c = this.c;
    const out = new Float64Array(n * c);
    const Xb = this.withBias(X, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let a = 0; a < p; a++) s += Xb[i * p + a] * this.W[a * c + j];
        out[i * c + j] = Math.min(1, Math.max(0, s));
      }
    return out;
  }
  protected shape(): number[] {
    return [this.p, this.c, this.ridge];
  }
  protected weights(): Float64Array[] {
    return [this.W];
  }
  protected load(shape: number[], w: Float64Array[]): void {
    [this.p, this.c, this.ridge] = shape;
    this.W = w[0];
  }
}

function costsOf(priors: Priors, data: TrainingSet, rows: readonly number[]): Float64Array {
  const c = priors.nCandidates;
  const out = new Float64Array(rows.length * c);
  rows.forEach((r, i) => {
    out.set(priors.costRow(data.queries[r].task), i * c);
  });
  return out;
}

export interface SgdParams {
  epochs?: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
}

/** Routers whose function is a SigmoidModel trained by mini-batch Adam with early stopping. */
abstract class SgdRouter extends ParametricRouter {
  protected model: SigmoidModel | null = null;
  protected c = 0;
  protected readonly opts: Required<SgdParams>;
  constructor(params: SgdParams, defaults: Required<SgdParams>) {
    super();
    this.opts = { ...defaults, ...params };
  }
  /** A fresh model for p features and c candidates (restored ones are made by `load`). */
  protected abstract build(p: number, c: number, rng: Rng): SigmoidModel;

  protected fitModel(X: Float64Array, Y: Float64Array, data: TrainingSet): void {
    const rng = new Rng(this.opts.seed);
    this.c = data.candidates.length;
    this.model = this.build(X.length / data.queries.length, this.c, rng);
    trainSigmoid(this.model, X, Y, this.c, {
      epochs: this.opts.epochs,
      batch: this.opts.batch,
      lr: this.opts.lr,
      weightDecay: this.opts.weightDecay,
      valFraction: 0.1,
      patience: 3,
      rng,
      tasks: data.queries.map((q) => q.task),
    });
  }
  protected predictModel(X: Float64Array, n: number): Float64Array {
    if (!this.model) throw new Error(`${this.name} router used before fit/restore`);
    return predictSigmoid(this.model, X, n, this.c);
  }
  protected weights(): Float64Array[] {
    return this.model?.params ?? [];
  }
}

export class LogisticRouter extends SgdRouter {
  readonly name = "logistic";
  constructor(params: SgdParams = {}) {
    super(params, { epochs: 40, batch: 64, lr: 0.01, weightDecay: 1e-4, seed: 1 });
  }
  protected build(p: number, c: number): SigmoidModel {
    return new LogisticModel(p, c);
  }
  protected shape(): number[] {
    const m = this.model as LogisticModel;
    return [m.p, m.c];
  }
  protected load(shape: number[], w: Float64Array[]): void {
    this.c = shape[1];
    this.model = new LogisticModel(shape[0], shape[1], w);
  }
}

export interface MlpParams extends SgdParams {
  hidden?: number;
}

/** An SgdRouter over a WidthModel of width `width`; its artifact's shape is [p, k, c]. */
abstract class WidthSgdRouter extends SgdRouter {
  constructor(
    params: SgdParams,
    defaults: Required<SgdParams>,
    private readonly width: number,
    private readonly Model: WidthModelClass,
  ) {
    super(params, defaults);
  }
  protected build(p: number, c: number, rng: Rng): SigmoidModel {
    return new this.Model(p, this.width, c, rng);
  }
  protected shape(): number[] {
    const m = this.model as WidthModel;
    return [m.p, m.k, m.c];
  }
  protected load(shape: number[], w: Float64Array[]): void {
    this.c = shape[2];
    this.model = new this.Model(shape[0], shape[1], shape[2], null, w);
  }
}

export class MlpRouter extends WidthSgdRouter {
  readonly name = "mlp";
  constructor(params: MlpParams = {}) {
    super(params, { epochs: 30, batch: 64, lr: 0.002, weightDecay: 1e-4, seed: 1 }, params.hidden ?? 64, MlpModel);
  }
}

export interface MfParams extends SgdParams {
  /** Latent dimension of query projections and model vectors. */
  dim?: number;
}

export class MfRouter extends WidthSgdRouter {
  readonly name = "mf";
  constructor(params: MfParams = {}) {
    super(params, { epochs: 40, batch: 64, lr: 0.003, weightDecay: 1e-4, seed: 1 }, params.dim ?? 32, MfModel);
  }
}

export interface IrtParams extends SgdParams {
  /** Latent skills k: dimensions of each query's discrimination and each candidate's ability. */
  dim?: number;
}

/**
 * Item response theory router (MIRT family): each query's discrimination a(q) ∈ ℝᵏ₊ and difficulty b(q)
 * are predicted from its features, each candidate has a learned ability θ_m ∈ ℝᵏ and general ability
 * c_m, and P(success) = σ(a(q)·θ_m + c_m − b(q)) (layers.ts, IrtModel), trained by masked cross-entropy
 * on graded outcomes.
 */
export class IrtRouter extends WidthSgdRouter {
  readonly name = "irt";
  constructor(params: IrtParams = {}) {
    super(params, { epochs: 40, batch: 64, lr: 0.003, weightDecay: 1e-4, seed: 1 }, params.dim ?? 8, IrtModel);
  }
}
