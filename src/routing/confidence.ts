import { Rng } from "../util/prng.ts";
import { stratifiedFolds } from "./math.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { realisedScore, subset } from "./tuning.ts";

export interface ConfidenceParams {
  /** The multi-label classifier: one success probability per candidate (default logistic). */
  base?: string;
  baseParams?: Record<string, unknown>;
  /** Confidence thresholds τ tried; the one with the best cross-validated train performance is kept. */
  taus?: number[];
  /** Keep only the k most confident candidates (the knob chooses among them); 0 = all. */
  topK?: number;
  folds?: number;
  seed?: number;
}

interface ConfidenceState {
  base: string;
  baseParams: Record<string, unknown>;
  baseState: unknown;
  tau: number;
  topK: number;
  priors: PriorsState;
}

/**
 * "Lessons Learned from LLM Routing"'s multi-label classifier with a confidence policy: the classifier
 * predicts each candidate's success; when its top confidence reaches τ its predictions stand (argmax at
 * the performance-first knob), otherwise the query falls back to the train means, i.e. the best single
 * model at the performance-first knob. The top-k variant keeps only the k most confident candidates.
 * τ is chosen by cross-validation on train.
 */
export class ConfidenceRouter implements Router {
  readonly name: string;
  private readonly base: string;
  private readonly baseParams: Record<string, unknown>;
  private readonly taus: number[];
  private readonly topK: number;
  private readonly folds: number;
  private readonly seed: number;
  private model: Router | null = null;
  private priors: Priors | null = null;
  private tau = 0;

  constructor(
    params: ConfidenceParams,
    private readonly create: (name: string, params: Record<string, unknown>) => Router,
    name = "confidence",
  ) {
    this.name = name;
    this.base = params.base ?? "logistic";
    this.baseParams = params.baseParams ?? {};
    this.taus = params.taus ?? [0, 0.5, 0.6, 0.7, 0.8, 0.9];
    this.topK = params.topK ?? 0;
    this.folds = params.folds ?? 3;
    this.seed = params.seed ?? 1;
  }

  fit(data: TrainingSet): void {
    const n = data.queries.length;
    // Out-of-fold classifier predictions for every train row, then τ by the realised performance they give.
    if (this.taus.length > 1 && n >= 2 * this.folds) {
      const c = data.candidates.length;
      const fold = stratifiedFolds(
        data.queries.map((q) => q.task),
        this.folds,
        new Rng(this.seed),
      );
      const perf = new Float64Array(n * c);
      const cost = new Float64Array(n * c);
      const fallback = new Float64Array(n * c);
      for (let f = 0; f < this.folds; f++) {
        const fit: number[] = [];
        const held: number[] = [];
        for (let i = 0; i < n; i++) (fold[i] === f ? held : fit).push(i);
        if (!held.length) continue;
        const inner = subset(data, fit);
        const m = this.create(this.base, this.baseParams);
        m.fit(inner);
        const pr = Priors.fit(inner);
        const p = m.predict(held.map((i) => data.queries[i] as RouteQuery));
        held.forEach((i, h) => {
          perf.set(p.performance.subarray(h * c, (h + 1) * c), i * c);
          cost.set(p.cost.subarray(h * c, (h + 1) * c), i * c);
          fallback.set(pr.globalPerf, i * c);
        });
      }
      const all = [...Array(n).keys()];
      let best = Number.NEGATIVE_INFINITY;
      for (const tau of this.taus) {
        const gated = gate({ performance: perf, cost }, fallback, c, tau, this.topK);
        const score = realisedScore(gated, data, all);
        if (score > best + 1e-12) {
          best = score;
          this.tau = tau;
        }
      }
    } else this.tau = this.taus[0] ?? 0;
    const m = this.create(this.base, this.baseParams);
    m.fit(data);
    this.model = m;
    this.priors = Priors.fit(data);
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    if (!this.model || !this.priors) throw new Error(`${this.name} router used before fit/restore`);
    const c = this.priors.nCandidates;
    const p = this.model.predict(queries);
    const fallback = new Float64Array(queries.length * c);
    for (let i = 0; i < queries.length; i++) fallback.set(this.priors.globalPerf, i * c);
    const out = gate(p, fallback, c, this.tau, this.topK);
    if (opts?.explain)
      out.reasons = queries.flatMap((_, i) => {
        const row = p.performance.subarray(i * c, (i + 1) * c);
        const top = Math.max(...row);
        const why =
          top >= this.tau
            ? `classifier confident (${top.toFixed(2)} ≥ τ ${this.tau})`
            : `classifier unsure (${top.toFixed(2)} < τ ${this.tau}): train means (best single model)`;
        return Array.from({ length: c }, () => why);
      });
    return out;
  }

  state(): ConfidenceState {
    if (!this.model || !this.priors) throw new Error(`${this.name} router used before fit/restore`);
    return {
      base: this.base,
      baseParams: this.baseParams,
      baseState: this.model.state(),
      tau: this.tau,
      topK: this.topK,
      priors: this.priors.state(),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as ConfidenceState;
    if (!s || typeof s.tau !== "number") throw new Error('artifact field "state.tau": expected a number');
    const m = this.create(s.base, s.baseParams);
    m.restore(s.baseState, candidates);
    this.model = m;
    this.tau = s.tau;
    this.priors = Priors.restore(s.priors, candidates.length);
  }
}

/**
 * The confidence policy on a batch: rows whose top predicted success is below τ take the fallback row;
 * with topK > 0, the rest keep only their k most confident candidates (others get −1, never chosen
 * while one of the k has an outcome).
 */
export function gate(p: Prediction, fallback: Float64Array, c: number, tau: number, topK: number): Prediction {
  const performance = Float64Array.from(p.performance);
  const n = performance.length / c;
  for (let i = 0; i < n; i++) {
    const row = performance.subarray(i * c, (i + 1) * c);
    let top = Number.NEGATIVE_INFINITY;
    for (const v of row) if (v > top) top = v;
    if (!(top >= tau)) {
      row.set(fallback.subarray(i * c, (i + 1) * c));
      continue;
    }
    if (topK > 0 && topK < c) {
      const order = [...row.keys()].sort((a, b) => (row[b] as number) - (row[a] as number));
      for (const j of order.slice(topK)) row[j] = -1;
    }
  }
  return { performance, cost: p.cost };
}
