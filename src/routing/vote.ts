import { Rng } from "../util/prng.ts";
import { runRecorded } from "./cascade.ts";
import { meanFinite, stratifiedFolds } from "./math.ts";
import { lambdaGrid, rank } from "./objective.ts";
import {
  type CallPlan,
  type DecisionWeights,
  type Policy,
  type PolicyData,
  type PolicyPoint,
  recordedView,
} from "./policy.ts";
import { bestSingleOf, candidateStats, choosePoints, type OutOfFoldPoint } from "./policy-fit.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router } from "./router.ts";
import { subset } from "./tuning.ts";

export interface VoteParams {
  /** Router whose predicted performance ranks the candidates and weights their votes. */
  base?: string;
  baseParams?: Record<string, unknown>;
  /** Voter counts tried (1 = the router's own pick); each λ keeps the one best out of fold. */
  ks?: number[];
  folds?: number;
  seed?: number;
  points?: number;
  /** Agreement thresholds tried for text and free answers (exact answers agree only when equal). */
  similarities?: number[];
}

interface VoteState {
  base: string;
  baseParams: Record<string, unknown>;
  baseState: unknown;
  lambdas: number[];
  /** Voters and agreement threshold per λ. */
  k: number[];
  similarity: number[];
  points: Record<PolicyPoint, number>;
  strength: number[];
  outOfFold: OutOfFoldPoint[];
}

const NEVER = Number.POSITIVE_INFINITY;

/**
 * The k candidates ranked highest by a router at λ (predicted performance − λ·cost), in parallel; the answer
 * is the majority over their extracted answers weighted by predicted success, ties to the stronger one.
 */
export function votePlan(
  pred: { performance: ArrayLike<number>; cost: ArrayLike<number> },
  candidates: readonly CandidateInfo[],
  lambda: number,
  k: number,
  similarity: number,
): CallPlan {
  const scale = { perfMin: 0, perfMax: 1, costMin: 0, costMax: 1 };
  const ranked = rank(pred, candidates, { lambda }, scale).filter((r) => !Number.isNaN(r.score));
  const col = new Map(candidates.map((c, j) => [c.key, j]));
  const voters = ranked.slice(0, k).map((r) => col.get(r.key) as number);
  return { stages: [voters], stop: { agree: NEVER, support: NEVER, similarity } };
}

/**
 * Vote policy: top-k by a router's predicted performance (at each λ of the grid), weighted majority. The
 * number of voters per λ and the operating points are chosen on out-of-fold router predictions inside train.
 */
export class VotePolicy implements Policy {
  readonly name = "vote";
  private readonly params: Required<Omit<VoteParams, "baseParams">> & { baseParams: Record<string, unknown> };
  private router: Router | null = null;
  private candidates: CandidateInfo[] = [];
  private s: VoteState | null = null;

  constructor(
    params: VoteParams,
    private readonly create: (name: string, params: Record<string, unknown>) => Router,
  ) {
    this.params = {
      base: params.base ?? "knn",
      baseParams: params.baseParams ?? {},
      ks: params.ks ?? [1, 2, 3, 5],
      folds: params.folds ?? 5,
      seed: params.seed ?? 1,
      points: params.points ?? 24,
      similarities: params.similarities ?? [0.5, 0.7, 0.9],
    };
  }

  fit(data: PolicyData): void {
    const n = data.queries.length;
    const c = data.candidates.length;
    const K = this.params.folds;
    const fold = stratifiedFolds(
      data.queries.map((q) => q.task),
      K,
      new Rng(this.params.seed),
    );
    // Out-of-fold predictions for every train row: what the router says about queries it did not see.
    const oofPerf = new Float64Array(n * c).fill(Number.NaN);
    const oofCost = new Float64Array(n * c).fill(Number.NaN);
    for (let f = 0; f < K; f++) {
      const fitRows: number[] = [];
      const held: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? held : fitRows).push(i);
      if (!held.length || !fitRows.length) continue;
      const r = this.create(this.params.base, this.params.baseParams);
      r.fit(subset(data, fitRows));
      const p = r.predict(held.map((i) => data.queries[i] as RouteQuery));
      held.forEach((i, h) => {
        oofPerf.set(p.performance.subarray(h * c, (h + 1) * c), i * c);
        oofCost.set(p.cost.subarray(h * c, (h + 1) * c), i * c);
      });
    }
    const strength = [...candidateStats(data, [...Array(n).keys()]).perf].map((v) => (Number.isFinite(v) ? v : -1));
    const lambdas = lambdaGrid(meanFinite(data.cost), this.params.points);
    const ks = this.params.ks.filter((k) => k >= 1 && k <= c);
    const chosenK: number[] = [];
    const chosenSim: number[] = [];
    const outOfFold: OutOfFoldPoint[] = [];
    for (const lambda of lambdas) {
      let best: { k: number; sim: number; score: number; p: number; cost: number } | null = null;
      for (const k of ks)
        for (const sim of k === 1 ? [1] : this.params.similarities) {
          let P = 0;
          let C = 0;
          for (let i = 0; i < n; i++) {
            const pred = {
              performance: oofPerf.subarray(i * c, (i + 1) * c),
              cost: oofCost.subarray(i * c, (i + 1) * c),
            };
            const plan = votePlan(pred, data.candidates, lambda, k, sim);
            const w: DecisionWeights = { success: pred.performance, strength };
            const view = recordedView(data.agreement, c, i);
            const r = runRecorded(
              plan,
              view,
              w,
              (j) => !Number.isNaN(data.performance[i * c + j] as number),
              data.performance,
              data.cost,
              i,
              c,
            );
            P += r.performance;
            C += r.cost;
          }
          const score = (P - lambda * C) / n;
          if (!best || score > best.score + 1e-12) best = { k, sim, score, p: P / n, cost: C / n };
        }
      const b = best as { k: number; sim: number; p: number; cost: number };
      chosenK.push(b.k);
      chosenSim.push(b.sim);
      outOfFold.push({ performance: b.p, cost: b.cost });
    }
    const points = choosePoints(outOfFold, bestSingleOf(data, [...Array(n).keys()]));
    const router = this.create(this.params.base, this.params.baseParams);
    router.fit(data);
    this.router = router;
    this.candidates = data.candidates;
    this.s = {
      base: this.params.base,
      baseParams: this.params.baseParams,
      baseState: router.state(),
      lambdas,
      k: chosenK,
      similarity: chosenSim,
      points,
      strength,
      outOfFold,
    };
  }

  private state_(): VoteState {
    if (!this.s || !this.router) throw new Error("vote: not fitted");
    return this.s;
  }

  lambdas(): number[] {
    return this.state_().lambdas;
  }

  point(p: PolicyPoint): number {
    return this.state_().points[p];
  }

  outOfFold(): OutOfFoldPoint[] {
    return this.state_().outOfFold;
  }

  /** The base router's predictions (plans at every λ reuse one prediction). */
  predict(queries: RouteQuery[]): Prediction {
    this.state_();
    return (this.router as Router).predict(queries);
  }

  plans(queries: RouteQuery[], k: number, pred?: Prediction): Array<{ plan: CallPlan; weights: DecisionWeights }> {
    const s = this.state_();
    const p = pred ?? this.predict(queries);
    const c = this.candidates.length;
    return queries.map((_, i) => {
      const row = {
        performance: p.performance.subarray(i * c, (i + 1) * c),
        cost: p.cost.subarray(i * c, (i + 1) * c),
      };
      return {
        plan: votePlan(row, this.candidates, s.lambdas[k] as number, s.k[k] as number, s.similarity[k] as number),
        weights: { success: row.performance, strength: s.strength },
      };
    });
  }

  state(): unknown {
    return this.state_();
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as VoteState;
    const r = this.create(s.base, s.baseParams);
    r.restore(s.baseState, candidates);
    this.router = r;
    this.s = s;
    this.candidates = candidates;
  }
}
