import { Rng } from "../util/prng.ts";
import { stratifiedFolds } from "./math.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { realisedRows, subset } from "./tuning.ts";

export interface AutoParams {
  /** Base routers stacked (registry names). */
  bases?: string[];
  /** Parameters per base router, by name. */
  baseParams?: Record<string, Record<string, unknown>>;
  /** Cross-fitting folds for the out-of-fold predictions. */
  folds?: number;
  /**
   * A policy replaces the fallback of a task only when its out-of-fold gain over the fallback exceeds
   * z standard errors of the paired per-query difference (and is positive): selection noise across
   * many policies must not pass for skill.
   */
  z?: number;
  seed?: number;
}

/** The fast learned routers stacked by default (graph and mlp are stronger on some data but cost minutes). */
export const AUTO_DEFAULT_BASES = ["knn", "logistic", "irt"];

/** A policy: a baseline, a base router by name, or "mean" (the average of every base's predictions). */
type Policy = string;
const TASK_BEST = "task-best";
const BEST_SINGLE = "best-single";
const MEAN = "mean";

/** What the out-of-fold comparison found for one task (or for unseen tasks), kept for explanations. */
export interface PolicyChoice {
  policy: Policy;
  /** The fallback it was compared with (task-best, or best-single for unseen tasks). */
  fallback: Policy;
  queries: number;
  /** Out-of-fold mean performance of the chosen policy and of the fallback. */
  score: number;
  fallbackScore: number;
  /** Standard error of the paired per-query difference (chosen − fallback). */
  se: number;
}

interface AutoState {
  bases: string[];
  baseParams: Record<string, Record<string, unknown>>;
  /** States of the base routers the choices use (fitted on the whole training set). */
  baseStates: Record<string, unknown>;
  perTask: Record<string, PolicyChoice>;
  unseen: PolicyChoice;
  priors: PriorsState;
}

/**
 * Stacked router: out-of-fold predictions of every base router, of the mean of the bases and of the two
 * baselines (the task's best model, the best single model) are scored per train query; each task keeps
 * the policy with the best out-of-fold performance, but only if it beats the task's best model by more
 * than z standard errors — otherwise the task stays with its best model. So by construction, on held-out
 * train data, `auto` is never below best-per-task in any task; tasks unseen in training choose the same
 * way against the best single model over all queries. Only the bases that some choice uses are refitted
 * on the whole training set and saved in the artifact.
 */
export class AutoRouter implements Router {
  readonly name = "auto";
  private bases: string[];
  private baseParams: Record<string, Record<string, unknown>>;
  private readonly folds: number;
  private readonly z: number;
  private readonly seed: number;
  private fitted = new Map<string, Router>();
  private priors: Priors | null = null;
  private perTask: Record<string, PolicyChoice> = {};
  private unseen: PolicyChoice | null = null;

  constructor(
    params: AutoParams,
    private readonly create: (name: string, params: Record<string, unknown>) => Router,
  ) {
    this.bases = params.bases ?? AUTO_DEFAULT_BASES;
    this.baseParams = params.baseParams ?? {};
    this.folds = params.folds ?? 5;
    this.z = params.z ?? 1;
    this.seed = params.seed ?? 1;
    for (const b of this.bases)
      if (b === "auto" || b === TASK_BEST || b === BEST_SINGLE || b === MEAN)
        throw new Error(`auto: "${b}" cannot be a base router (the baselines are always included)`);
    if (new Set(this.bases).size !== this.bases.length) throw new Error("auto: a base router is listed twice");
  }

  fit(data: TrainingSet): void {
    const n = data.queries.length;
    const c = data.candidates.length;
    const oof = new Map<Policy, Prediction>();
    const blank = (): Prediction => ({ performance: new Float64Array(n * c), cost: new Float64Array(n * c) });
    for (const p of [TASK_BEST, BEST_SINGLE, ...this.bases]) oof.set(p, blank());
    const fold = stratifiedFolds(
      data.queries.map((q) => q.task),
      Math.min(this.folds, Math.max(2, n)),
      new Rng(this.seed),
    );
    for (let f = 0; f < this.folds; f++) {
      const inRows: number[] = [];
      const outRows: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? outRows : inRows).push(i);
      if (!outRows.length || !inRows.length) continue;
      const part = subset(data, inRows);
      const held = outRows.map((i) => data.queries[i]);
      const priors = Priors.fit(part);
      const put = (p: Policy, row: (r: number) => ArrayLike<number>) =>
        outRows.forEach((i, r) => {
          (oof.get(p) as Prediction).performance.set(row(r), i * c);
          (oof.get(p) as Prediction).cost.set(priors.costRow(data.queries[i].task), i * c);
        });
      put(TASK_BEST, (r) => priors.perfRow(held[r].task));
      put(BEST_SINGLE, () => priors.globalPerf);
      for (const b of this.bases) {
        const router = this.create(b, this.baseParams[b] ?? {});
        router.fit(part);
        const pred = router.predict(held);
        put(b, (r) => pred.performance.subarray(r * c, (r + 1) * c));
      }
    }
    if (this.bases.length > 1) oof.set(MEAN, meanOf(this.bases.map((b) => oof.get(b) as Prediction)));

    const all = data.queries.map((_, i) => i);
    const realised = new Map<Policy, Float64Array>();
    for (const [p, pred] of oof) realised.set(p, realisedRows(pred, data, all));
    const learned = [...this.bases, ...(this.bases.length > 1 ? [MEAN] : [])];
    const byTask = new Map<string, number[]>();
    data.queries.forEach((q, i) => {
      if (!q.task) return;
      const rows = byTask.get(q.task) ?? [];
      rows.push(i);
      byTask.set(q.task, rows);
    });
    this.perTask = {};
    for (const [task, rows] of [...byTask].sort((a, b) => a[0].localeCompare(b[0])))
      this.perTask[task] = this.choose(realised, rows, TASK_BEST, [BEST_SINGLE, ...learned]);
    this.unseen = this.choose(realised, all, BEST_SINGLE, learned);

    this.priors = Priors.fit(data);
    const used = new Set<string>();
    for (const ch of [...Object.values(this.perTask), this.unseen])
      if (ch.policy === MEAN) for (const b of this.bases) used.add(b);
      else if (this.bases.includes(ch.policy)) used.add(ch.policy);
    this.fitted = new Map();
    for (const b of this.bases)
      if (used.has(b)) {
        const router = this.create(b, this.baseParams[b] ?? {});
        router.fit(data);
        this.fitted.set(b, router);
      }
  }

  /**
   * The policy for some rows: the option with the best out-of-fold mean whose paired gain over the
   * fallback is positive and above z standard errors; the fallback otherwise (and on ties).
   */
  private choose(
    realised: Map<Policy, Float64Array>,
    rows: readonly number[],
    fallback: Policy,
    options: Policy[],
  ): PolicyChoice {
    const base = realised.get(fallback) as Float64Array;
    const fallbackScore = meanAt(base, rows);
    let best: PolicyChoice = {
      policy: fallback,
      fallback,
      queries: rows.length,
      score: fallbackScore,
      fallbackScore,
      se: 0,
    };
    for (const p of options) {
      const v = realised.get(p) as Float64Array;
      const d = pairedDifference(v, base, rows);
      if (!(d.mean > 0) || d.mean <= this.z * d.se) continue;
      const score = meanAt(v, rows);
      if (score > best.score + 1e-12)
        best = { policy: p, fallback, queries: rows.length, score, fallbackScore, se: d.se };
    }
    return best;
  }

  /** The out-of-fold choice for a task (the unseen-task choice for a task not in training). */
  choice(task: string | null | undefined): PolicyChoice {
    if (!this.unseen) throw new Error("auto router used before fit/restore");
    return (task ? this.perTask[task] : undefined) ?? this.unseen;
  }

  /** Every task's choice, and the one for unseen tasks (for reports and `route`). */
  choices(): { perTask: Record<string, PolicyChoice>; unseen: PolicyChoice } {
    if (!this.unseen) throw new Error("auto router used before fit/restore");
    return { perTask: this.perTask, unseen: this.unseen };
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    if (!this.priors || !this.unseen) throw new Error("auto router used before fit/restore");
    const priors = this.priors;
    const c = priors.nCandidates;
    const n = queries.length;
    const performance = new Float64Array(n * c);
    const cost = new Float64Array(n * c);
    // Each fitted base predicts once, on the queries whose choice uses it.
    const rowsOf = new Map<string, number[]>();
    const choices = queries.map((q) => this.choice(q.task));
    choices.forEach((ch, i) => {
      const users = ch.policy === MEAN ? this.bases : this.fitted.has(ch.policy) ? [ch.policy] : [];
      for (const b of users) {
        const rows = rowsOf.get(b) ?? [];
        rows.push(i);
        rowsOf.set(b, rows);
      }
    });
    const baseRow = new Map<string, Map<number, Float64Array>>();
    const baseReasons = new Map<string, Map<number, string[]>>();
    for (const [b, rows] of rowsOf) {
      const router = this.fitted.get(b);
      if (!router) throw new Error(`auto: base router "${b}" is not in the fitted state`);
      const pred = router.predict(
        rows.map((i) => queries[i]),
        opts,
      );
      const byRow = new Map<number, Float64Array>();
      const why = new Map<number, string[]>();
      rows.forEach((i, r) => {
        byRow.set(i, pred.performance.subarray(r * c, (r + 1) * c));
        if (pred.reasons) why.set(i, pred.reasons.slice(r * c, (r + 1) * c));
      });
      baseRow.set(b, byRow);
      baseReasons.set(b, why);
    }
    const reasons: string[] | undefined = opts?.explain ? [] : undefined;
    queries.forEach((q, i) => {
      const ch = choices[i];
      cost.set(priors.costRow(q.task), i * c);
      const out = performance.subarray(i * c, (i + 1) * c);
      if (ch.policy === TASK_BEST) out.set(priors.perfRow(q.task));
      else if (ch.policy === BEST_SINGLE) out.set(priors.globalPerf);
      else if (ch.policy === MEAN) {
        for (const b of this.bases) {
          const row = baseRow.get(b)?.get(i) as Float64Array;
          for (let j = 0; j < c; j++) out[j] += row[j] / this.bases.length;
        }
      } else out.set(baseRow.get(ch.policy)?.get(i) as Float64Array);
      if (reasons) {
        const why = `auto: ${describe(ch, q.task)}`;
        for (let j = 0; j < c; j++) {
          const inner = baseReasons.get(ch.policy)?.get(i)?.[j];
          reasons.push(inner ? `${why}; ${inner}` : why);
        }
      }
    });
    return { performance, cost, ...(reasons ? { reasons } : {}) };
  }

  state(): AutoState {
    if (!this.priors || !this.unseen) throw new Error("auto router used before fit/restore");
    return {
      bases: this.bases,
      baseParams: this.baseParams,
      baseStates: Object.fromEntries([...this.fitted].map(([b, r]) => [b, r.state()])),
      perTask: this.perTask,
      unseen: this.unseen,
      priors: this.priors.state(),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as AutoState;
    if (!s || !Array.isArray(s.bases) || typeof s.baseStates !== "object" || !s.unseen)
      throw new Error('artifact field "state": expected {bases, baseStates, perTask, unseen, priors}');
    this.bases = s.bases;
    this.baseParams = s.baseParams ?? {};
    this.fitted = new Map();
    for (const [b, st] of Object.entries(s.baseStates)) {
      const router = this.create(b, this.baseParams[b] ?? {});
      router.restore(st, candidates);
      this.fitted.set(b, router);
    }
    this.perTask = s.perTask ?? {};
    this.unseen = s.unseen;
    this.priors = Priors.restore(s.priors, candidates.length);
  }
}

function describe(ch: PolicyChoice, task: string | null | undefined): string {
  const where = task ? `task "${task}"` : "a query without a task";
  const what = ch.policy === MEAN ? "the mean of the base routers" : ch.policy;
  if (ch.policy === ch.fallback)
    return `${where} uses ${what} (no router beat it out of fold on ${ch.queries} train queries)`;
  return `${where} uses ${what}: out-of-fold ${ch.score.toFixed(3)} vs ${ch.fallback} ${ch.fallbackScore.toFixed(3)} (±${ch.se.toFixed(3)}) on ${ch.queries} train queries`;
}

/** Element-wise mean of predictions (performance; cost from the first). */
function meanOf(preds: Prediction[]): Prediction {
  const performance = new Float64Array(preds[0].performance.length);
  for (const p of preds) for (let k = 0; k < performance.length; k++) performance[k] += p.performance[k] / preds.length;
  return { performance, cost: preds[0].cost };
}

function meanAt(v: Float64Array, rows: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const r of rows)
    if (!Number.isNaN(v[r])) {
      s += v[r];
      n++;
    }
  return n ? s / n : Number.NaN;
}

/** Mean and standard error of a[r] − b[r] over the rows where both are known. */
export function pairedDifference(
  a: Float64Array,
  b: Float64Array,
  rows: readonly number[],
): { mean: number; se: number; n: number } {
  const d: number[] = [];
  for (const r of rows) if (!Number.isNaN(a[r]) && !Number.isNaN(b[r])) d.push(a[r] - b[r]);
  const n = d.length;
  if (n === 0) return { mean: Number.NaN, se: Number.NaN, n };
  const mean = d.reduce((x, y) => x + y, 0) / n;
  const sd = n > 1 ? Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1)) : Number.POSITIVE_INFINITY;
  return { mean, se: sd / Math.sqrt(n), n };
}
