import { type AgreementThresholds, DEFAULT_AGREEMENT } from "../scoring/answers.ts";
import { Rng } from "../util/prng.ts";
import { stratifiedFolds } from "./math.ts";
import { lambdaGrid } from "./objective.ts";
import {
  type CallPlan,
  type DecisionWeights,
  executePlan,
  type Policy,
  type PolicyData,
  type PolicyPoint,
  recordedView,
  type StopReason,
} from "./policy.ts";
import {
  bestSingleOf,
  candidateStats,
  choosePoints,
  meanFinite,
  NO_TASK,
  type OutOfFoldPoint,
  restrictPlan,
} from "./policy-fit.ts";
import type { CandidateInfo, RouteQuery } from "./router.ts";

export interface CascadeParams {
  /** Candidates a task's chains are built from: its train cost–performance front plus the cheapest, at most this many. */
  pool?: number;
  /** Inner folds that choose the operating points. */
  folds?: number;
  seed?: number;
  /** λ grid points of the frontier. */
  points?: number;
  agreement?: AgreementThresholds;
}

/** One group's learned chains: a plan per λ of the grid, and the weights its decisions use. */
interface GroupState {
  chains: CallPlan[];
  strength: number[];
}

interface CascadeState {
  lambdas: number[];
  points: Record<PolicyPoint, number>;
  agreement: AgreementThresholds;
  /** Per task, and "*" for tasks unseen in training. */
  groups: Record<string, GroupState>;
  /** Out-of-fold (cost, performance) per λ on train (how the points were chosen). */
  outOfFold: OutOfFoldPoint[];
}

const ALL = "*";
const NEVER = Number.POSITIVE_INFINITY;

/**
 * The chains a cascade chooses from, over a pool of candidates ordered cheap → dear: each candidate alone;
 * two cheap candidates in parallel, accepted when they agree, else a third (FrugalGPT/AutoMix's "agree or
 * escalate"); the same with a middle stage (accepted when any two of three agree); and three in parallel
 * with a weighted majority vote.
 */
export function enumerateChains(pool: readonly number[]): CallPlan[] {
  const stop = { agree: 2, support: NEVER };
  const out: CallPlan[] = pool.map((j) => ({ stages: [[j]], stop }));
  for (let a = 0; a < pool.length; a++)
    for (let b = a + 1; b < pool.length; b++) {
      const pair = [pool[a] as number, pool[b] as number];
      for (const m of pool) {
        if (pair.includes(m)) continue;
        out.push({ stages: [pair, [m]], stop });
        if (pool.indexOf(m) > b) out.push({ stages: [[...pair, m]], stop });
        for (const f of pool) if (f !== m && !pair.includes(f)) out.push({ stages: [pair, [m], [f]], stop });
      }
    }
  return out;
}

/**
 * Candidates worth chaining for a group of rows: those on the (cost, performance) front of the train means
 * (no other is both cheaper and at least as good), plus the cheapest ones, up to `size`, cheap first.
 */
export function chainPool(perf: ArrayLike<number>, cost: ArrayLike<number>, size: number): number[] {
  const c = perf.length;
  const valid = [...Array(c).keys()].filter((j) => Number.isFinite(perf[j] as number));
  const byCost = valid.sort(
    (a, b) => (cost[a] as number) - (cost[b] as number) || (perf[b] as number) - (perf[a] as number),
  );
  const front: number[] = [];
  let bestPerf = Number.NEGATIVE_INFINITY;
  for (const j of byCost)
    if ((perf[j] as number) > bestPerf + 1e-12) {
      front.push(j);
      bestPerf = perf[j] as number;
    }
  const chosen = new Set<number>();
  // The dearest front members first (the strong finals), then the cheapest (the first stages).
  for (const j of [...front].reverse().slice(0, Math.ceil(size / 2))) chosen.add(j);
  for (const j of byCost) {
    if (chosen.size >= size) break;
    chosen.add(j);
  }
  return [...chosen].sort((a, b) => (cost[a] as number) - (cost[b] as number));
}

/**
 * Cascade policy: per task, the chain (stages cheap → strong, accept when answers agree) that maximises
 * train performance − λ·cost, for every λ of a grid (the frontier). Operating points are chosen on
 * out-of-fold results: chains are picked on all but one inner fold and scored on it, so a point is
 * judged on rows its chains were not picked on.
 */
export class CascadePolicy implements Policy {
  readonly name = "cascade";
  private readonly params: Required<CascadeParams>;
  private s: CascadeState | null = null;

  constructor(params: CascadeParams = {}) {
    this.params = {
      pool: params.pool ?? 5,
      folds: params.folds ?? 5,
      seed: params.seed ?? 1,
      points: params.points ?? 24,
      agreement: params.agreement ?? DEFAULT_AGREEMENT,
    };
  }

  fit(data: PolicyData): void {
    const n = data.queries.length;
    const c = data.candidates.length;
    if (n === 0) throw new Error("cascade: no training queries");
    const tasks = data.queries.map((q) => q.task ?? NO_TASK);
    const lambdas = lambdaGrid(meanFinite(data.cost), this.params.points);
    const foldOf = stratifiedFolds(tasks, this.params.folds, new Rng(this.params.seed));
    const K = this.params.folds;
    const byGroup = new Map<string, number[]>([[ALL, [...Array(n).keys()]]]);
    tasks.forEach((t, i) => {
      byGroup.set(t, [...(byGroup.get(t) ?? []), i]);
    });

    const groups: Record<string, GroupState> = {};
    const oofP = new Float64Array(lambdas.length);
    const oofC = new Float64Array(lambdas.length);
    for (const [g, rows] of byGroup) {
      const stats = candidateStats(data, rows);
      // Candidates with no outcome in the group rank below every real one (and serialise as numbers).
      const strength = [...stats.perf].map((v) => (Number.isFinite(v) ? v : -1));
      const weights: DecisionWeights = { success: strength, strength };
      const chains = enumerateChains(chainPool(stats.perf, stats.cost, this.params.pool));
      // Per chain and inner fold: summed realised performance and cost (rows where a chain cannot run are
      // scored as its restriction to the candidates that have outcomes).
      const H = chains.length;
      const sumP = new Float64Array(H * K);
      const sumC = new Float64Array(H * K);
      const cnt = new Float64Array(K);
      for (const i of rows) {
        const f = foldOf[i] as number;
        cnt[f]++;
        const view = recordedView(data.agreement, c, i, this.params.agreement);
        const has = (j: number) => !Number.isNaN(data.performance[i * c + j] as number);
        chains.forEach((chain, h) => {
          const r = runRecorded(chain, view, weights, has, data.performance, data.cost, i, c);
          sumP[h * K + f] += r.performance;
          sumC[h * K + f] += r.cost;
        });
      }
      const pick = (lambda: number, skip: number): number => {
        let best = 0;
        let bestScore = Number.NEGATIVE_INFINITY;
        let bestCost = Number.POSITIVE_INFINITY;
        for (let h = 0; h < H; h++) {
          let p = 0;
          let k = 0;
          for (let f = 0; f < K; f++)
            if (f !== skip) {
              p += sumP[h * K + f] as number;
              k += sumC[h * K + f] as number;
            }
          const score = p - lambda * k;
          if (score > bestScore + 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && k < bestCost)) {
            best = h;
            bestScore = score;
            bestCost = k;
          }
        }
        return best;
      };
      groups[g] = { chains: lambdas.map((l) => chains[pick(l, -1)] as CallPlan), strength };
      if (g === ALL) continue;
      lambdas.forEach((l, k) => {
        for (let f = 0; f < K; f++) {
          if (!cnt[f]) continue;
          const h = pick(l, f);
          oofP[k] += sumP[h * K + f] as number;
          oofC[k] += sumC[h * K + f] as number;
        }
      });
    }
    const outOfFold = lambdas.map((_, k) => ({ performance: (oofP[k] as number) / n, cost: (oofC[k] as number) / n }));
    const all = [...Array(n).keys()];
    const points = choosePoints(outOfFold, bestSingleOf(data, all));
    this.s = { lambdas, points, agreement: this.params.agreement, groups, outOfFold };
  }

  private state_(): CascadeState {
    if (!this.s) throw new Error("cascade: not fitted");
    return this.s;
  }

  lambdas(): number[] {
    return this.state_().lambdas;
  }

  point(p: PolicyPoint): number {
    return this.state_().points[p];
  }

  agreement(): AgreementThresholds {
    return this.state_().agreement;
  }

  outOfFold(): OutOfFoldPoint[] {
    return this.state_().outOfFold;
  }

  plans(queries: RouteQuery[], k: number): Array<{ plan: CallPlan; weights: DecisionWeights }> {
    const s = this.state_();
    return queries.map((q) => {
      const g = s.groups[q.task ?? NO_TASK] ?? (s.groups[ALL] as GroupState);
      return { plan: g.chains[k] as CallPlan, weights: { success: g.strength, strength: g.strength } };
    });
  }

  state(): unknown {
    return this.state_();
  }

  restore(state: unknown, _candidates: CandidateInfo[]): void {
    this.s = state as CascadeState;
  }
}

/** Realised performance and cost of a plan on a recorded row (every call paid). */
export function runRecorded(
  plan: CallPlan,
  view: ReturnType<typeof recordedView>,
  weights: DecisionWeights,
  has: (j: number) => boolean,
  performance: Float64Array,
  cost: Float64Array,
  i: number,
  c: number,
): { performance: number; cost: number; calls: number; stages: number; accepted: number; reason: StopReason | null } {
  const plan2 = restrictPlan(plan, has);
  if (!plan2) return { performance: 0, cost: 0, calls: 0, stages: 0, accepted: -1, reason: null };
  const e = executePlan(plan2, view, weights);
  let k = 0;
  for (const j of e.calls) k += cost[i * c + j] as number;
  return {
    performance: performance[i * c + e.accepted] as number,
    cost: k,
    calls: e.calls.length,
    stages: e.stages,
    accepted: e.accepted,
    reason: e.reason,
  };
}
