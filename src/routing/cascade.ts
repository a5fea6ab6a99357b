import type { AnswerKind } from "../scoring/answers.ts";
import { Rng } from "../util/prng.ts";
import { meanFinite, stratifiedFolds } from "./math.ts";
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
  NO_TASK,
  type OutOfFoldPoint,
  restrictPlan,
} from "./policy-fit.ts";
import type { CandidateInfo, RouteQuery } from "./router.ts";

export interface CascadeParams {
  /** A task's chains are built from its train cost–performance front plus the cheapest candidates, at most this many. */
  pool?: number;
  /**
   * Pseudo-rows with which a task's chain scores are shrunk toward the same chain's score over every task;
   * each λ keeps the value that does best out of fold.
   */
  shrinkage?: number[];
  /** Inner folds that choose the shrinkage per λ and the operating points. */
  folds?: number;
  seed?: number;
  /** λ grid points of the frontier. */
  points?: number;
  /** Similarity thresholds tried per answer kind (exact answers only ever agree when equal). */
  similarities?: Partial<Record<AnswerKind, number[]>>;
}

/** Agreement thresholds tried when not told: token F1 for short text, cosine of hashed n-grams for free text. */
export const DEFAULT_SIMILARITIES: Record<AnswerKind, number[]> = {
  exact: [1],
  text: [0.3, 0.5, 0.7, 0.9],
  free: [0.5, 0.7, 0.9],
};

/** One group's learned chains: a plan per λ of the grid, and the weights its decisions use. */
interface GroupState {
  chains: CallPlan[];
  strength: number[];
}

interface CascadeState {
  lambdas: number[];
  points: Record<PolicyPoint, number>;
  /** Shrinkage used at each λ. */
  shrinkage: number[];
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
export function enumerateChains(pool: readonly number[], similarities: readonly number[] = [1]): CallPlan[] {
  const out: CallPlan[] = pool.map((j) => ({ stages: [[j]], stop: { agree: 2, support: NEVER, similarity: 1 } }));
  for (const similarity of similarities) out.push(...multiCallChains(pool, { agree: 2, support: NEVER, similarity }));
  return out;
}

function multiCallChains(pool: readonly number[], stop: CallPlan["stop"]): CallPlan[] {
  const out: CallPlan[] = [];
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
      shrinkage: params.shrinkage ?? [0, 10, 40],
      folds: params.folds ?? 5,
      seed: params.seed ?? 1,
      points: params.points ?? 24,
      similarities: { ...DEFAULT_SIMILARITIES, ...params.similarities },
    };
  }

  fit(data: PolicyData): void {
    const n = data.queries.length;
    const c = data.candidates.length;
    if (n === 0) throw new Error("cascade: no training queries");
    const K = this.params.folds;
    const tasks = data.queries.map((q) => q.task ?? NO_TASK);
    const lambdas = lambdaGrid(meanFinite(data.cost), this.params.points);
    const foldOf = stratifiedFolds(tasks, K, new Rng(this.params.seed));
    const byTask = new Map<string, number[]>();
    tasks.forEach((t, i) => {
      byTask.set(t, [...(byTask.get(t) ?? []), i]);
    });
    const all = [...Array(n).keys()];

    // Every group's candidate chains, as indices into one list of distinct chains (so a chain's result over
    // all tasks can inform a task with few rows).
    const chains: CallPlan[] = [];
    const index = new Map<string, number>();
    const chainsOf = (rows: number[]): { ids: number[]; strength: number[] } => {
      const stats = candidateStats(data, rows);
      const kinds = new Set(rows.map((i) => data.agreement.kinds[i] as AnswerKind));
      const sims = [...new Set([...kinds].flatMap((k) => this.params.similarities[k] ?? [1]))];
      const ids = enumerateChains(chainPool(stats.perf, stats.cost, this.params.pool), sims).map((ch) => {
        const key = JSON.stringify(ch);
        let id = index.get(key);
        if (id === undefined) {
          id = chains.length;
          chains.push(ch);
          index.set(key, id);
        }
        return id;
      });
      // Candidates with no outcome in the group rank below every real one (and serialise as numbers).
      return { ids, strength: [...stats.perf].map((v) => (Number.isFinite(v) ? v : -1)) };
    };
    const groupsIn = new Map([...byTask].map(([t, rows]) => [t, { rows, ...chainsOf(rows) }]));
    const global = chainsOf(all);

    // Realised performance and cost of every chain on every row, summed per task and inner fold.
    const H = chains.length;
    const T = groupsIn.size;
    const taskIdx = new Map([...groupsIn.keys()].map((t, k) => [t, k]));
    const sumP = new Float64Array(T * H * K);
    const sumC = new Float64Array(T * H * K);
    const rowsIn = new Float64Array(T * K);
    for (const [t, g] of groupsIn) {
      const ti = taskIdx.get(t) as number;
      const weights: DecisionWeights = { success: g.strength, strength: g.strength };
      for (const i of g.rows) {
        const f = foldOf[i] as number;
        rowsIn[ti * K + f]++;
        const view = recordedView(data.agreement, c, i);
        const has = (j: number) => !Number.isNaN(data.performance[i * c + j] as number);
        for (let h = 0; h < H; h++) {
          const r = runRecorded(chains[h] as CallPlan, view, weights, has, data.performance, data.cost, i, c);
          sumP[(ti * H + h) * K + f] += r.performance;
          sumC[(ti * H + h) * K + f] += r.cost;
        }
      }
    }
    // The same sums over every task.
    const allP = new Float64Array(H * K);
    const allC = new Float64Array(H * K);
    const allRows = new Float64Array(K);
    for (let t = 0; t < T; t++) {
      for (let f = 0; f < K; f++) allRows[f] += rowsIn[t * K + f] as number;
      for (let x = 0; x < H * K; x++) {
        allP[x] += sumP[t * H * K + x] as number;
        allC[x] += sumC[t * H * K + x] as number;
      }
    }
    /** Summed objective of chain h over task ti (−1: every task) without fold `skip`, and the rows counted. */
    const total = (ti: number, h: number, lambda: number, skip: number): { v: number; rows: number; cost: number } => {
      const P = ti < 0 ? allP : sumP;
      const C = ti < 0 ? allC : sumC;
      const base = ti < 0 ? h * K : (ti * H + h) * K;
      let v = 0;
      let rows = 0;
      let cost = 0;
      for (let f = 0; f < K; f++) {
        if (f === skip) continue;
        const k = C[base + f] as number;
        v += (P[base + f] as number) - lambda * k;
        cost += k;
        rows += (ti < 0 ? allRows[f] : rowsIn[ti * K + f]) as number;
      }
      return { v, rows, cost };
    };
    /**
     * The chain of a task at λ: its own mean objective shrunk toward the chain's mean over every task with
     * weight m (m pseudo-rows), so a task with few rows keeps a chain that works broadly unless its own rows
     * say otherwise.
     */
    const pick = (ti: number, ids: readonly number[], lambda: number, skip: number, m: number): number => {
      let best = ids[0] as number;
      let bestScore = Number.NEGATIVE_INFINITY;
      let bestCost = Number.POSITIVE_INFINITY;
      for (const h of ids) {
        const own = total(ti, h, lambda, skip);
        const wide = m > 0 ? total(-1, h, lambda, skip) : { v: 0, rows: 1, cost: 0 };
        const score = (own.v + (m * wide.v) / Math.max(wide.rows, 1)) / Math.max(own.rows + m, 1);
        const cost = own.cost / Math.max(own.rows, 1);
        if (score > bestScore + 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && cost < bestCost)) {
          best = h;
          bestScore = score;
          bestCost = cost;
        }
      }
      return best;
    };

    // Out of fold, per λ and shrinkage: chains picked without the fold, scored on it.
    const ms = this.params.shrinkage;
    const oof = ms.map(() => lambdas.map(() => ({ performance: 0, cost: 0 })));
    for (const [t, g] of groupsIn) {
      const ti = taskIdx.get(t) as number;
      ms.forEach((m, b) => {
        lambdas.forEach((l, k) => {
          for (let f = 0; f < K; f++) {
            if (!rowsIn[ti * K + f]) continue;
            const h = pick(ti, g.ids, l, f, m);
            const o = (oof[b] as OutOfFoldPoint[])[k] as OutOfFoldPoint;
            o.performance += (sumP[(ti * H + h) * K + f] as number) / n;
            o.cost += (sumC[(ti * H + h) * K + f] as number) / n;
          }
        });
      });
    }
    // Per λ, the shrinkage that does best out of fold (performance − λ·cost).
    const chosen = lambdas.map((l, k) => {
      let best = 0;
      ms.forEach((_, b) => {
        const o = (oof[b] as OutOfFoldPoint[])[k] as OutOfFoldPoint;
        const ob = (oof[best] as OutOfFoldPoint[])[k] as OutOfFoldPoint;
        if (o.performance - l * o.cost > ob.performance - l * ob.cost + 1e-12) best = b;
      });
      return best;
    });
    const groups: Record<string, GroupState> = {};
    for (const [t, g] of groupsIn) {
      const ti = taskIdx.get(t) as number;
      groups[t] = {
        chains: lambdas.map((l, k) => chains[pick(ti, g.ids, l, -1, ms[chosen[k] as number] as number)] as CallPlan),
        strength: g.strength,
      };
    }
    // Tasks unseen in training: the chain that does best over every task.
    groups[ALL] = {
      chains: lambdas.map((l) => chains[pick(-1, global.ids, l, -1, 0)] as CallPlan),
      strength: global.strength,
    };
    const outOfFold = lambdas.map((_, k) => (oof[chosen[k] as number] as OutOfFoldPoint[])[k] as OutOfFoldPoint);
    const points = choosePoints(outOfFold, bestSingleOf(data, all));
    this.s = { lambdas, points, shrinkage: chosen.map((b) => ms[b] as number), groups, outOfFold };
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
    const s = state as CascadeState | null;
    if (!s || !Array.isArray(s.lambdas) || !s.points || !s.groups || typeof s.groups !== "object")
      throw new Error("expected a cascade's lambdas, operating points and per-task chains");
    for (const [task, g] of Object.entries(s.groups))
      if (!Array.isArray(g?.chains) || g.chains.length !== s.lambdas.length)
        throw new Error(`task "${task}": expected one chain per λ (${s.lambdas.length})`);
    this.s = s;
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
