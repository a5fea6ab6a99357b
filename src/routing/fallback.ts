import { Rng } from "../util/prng.ts";
import { rowsByTask, stratifiedFolds } from "./math.ts";
import { DEFAULT_KNOB } from "./objective.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { realisedScore, subset } from "./tuning.ts";

export interface FallbackParams {
  /** The learned router to trust where it helps. */
  base?: string;
  baseParams?: Record<string, unknown>;
  /** Cross-fitting folds used to judge the base router out of sample. */
  folds?: number;
  /** The base router must beat the fallback by more than this (mean performance) to be trusted. */
  margin?: number;
  seed?: number;
}

type Policy = "router" | "task-best" | "best-single";

interface FallbackState {
  base: string;
  baseParams: Record<string, unknown>;
  baseState: unknown;
  perTask: Record<string, Policy>;
  unseen: Policy;
  priors: PriorsState;
}

/**
 * "Lessons Learned from LLM Routing": a router that never beats the best single model is common. This
 * one decides per task, out of sample, whether to trust a learned router or to fall back to the task's
 * best model or the best single model. Every train query gets an out-of-fold prediction (K-fold
 * cross-fitting; the fallbacks' means are also computed without the fold), each task keeps the policy
 * with the best realised performance (the fallback wins ties and margins below `margin`), and tasks
 * unseen in training choose between router and best single on all rows.
 */
export class FallbackRouter implements Router {
  readonly name = "fallback";
  private baseName: string;
  private baseParams: Record<string, unknown>;
  private readonly folds: number;
  private readonly margin: number;
  private readonly seed: number;
  private base: Router | null = null;
  private priors: Priors | null = null;
  private perTask: Record<string, Policy> = {};
  private unseen: Policy = "best-single";

  constructor(
    params: FallbackParams,
    private readonly create: (name: string, params: Record<string, unknown>) => Router,
  ) {
    this.baseName = params.base ?? "knn";
    this.baseParams = params.baseParams ?? {};
    this.folds = params.folds ?? 3;
    this.margin = params.margin ?? 0;
    this.seed = params.seed ?? 1;
    if (this.baseName === "fallback") throw new Error("the fallback router cannot wrap itself");
  }

  fit(data: TrainingSet): void {
    const n = data.queries.length;
    const c = data.candidates.length;
    const fold = stratifiedFolds(
      data.queries.map((q) => q.task),
      this.folds,
      new Rng(this.seed),
    );
    const oof: Record<Policy, Prediction> = {
      router: { performance: new Float64Array(n * c), cost: new Float64Array(n * c) },
      "task-best": { performance: new Float64Array(n * c), cost: new Float64Array(n * c) },
      "best-single": { performance: new Float64Array(n * c), cost: new Float64Array(n * c) },
    };
    for (let f = 0; f < this.folds; f++) {
      const inRows: number[] = [];
      const outRows: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? outRows : inRows).push(i);
      if (!outRows.length || !inRows.length) continue;
      const part = subset(data, inRows);
      const router = this.create(this.baseName, this.baseParams);
      router.fit(part);
      const pred = router.predict(outRows.map((i) => data.queries[i]));
      const priors = Priors.fit(part);
      outRows.forEach((i, r) => {
        const task = data.queries[i].task;
        oof.router.performance.set(pred.performance.subarray(r * c, (r + 1) * c), i * c);
        oof.router.cost.set(pred.cost.subarray(r * c, (r + 1) * c), i * c);
        oof["task-best"].performance.set(priors.perfRow(task), i * c);
        oof["best-single"].performance.set(priors.globalPerf, i * c);
        for (const p of ["task-best", "best-single"] as const) oof[p].cost.set(priors.costRow(task), i * c);
      });
    }
    const byTask = rowsByTask(data.queries.map((q) => q.task));
    byTask.delete(""); // a query without a task gets the policy for unseen tasks
    const pick = (rows: number[], options: Policy[]): Policy => {
      let best: Policy = options[0];
      let bestScore = -Infinity;
      for (const p of options) {
        const s =
          realisedScore(pickRows(oof[p], rows, c), data, rows, DEFAULT_KNOB) - (p === "router" ? this.margin : 0);
        // Options are listed fallback-first, so the fallback keeps ties.
        if (s > bestScore + 1e-12) {
          best = p;
          bestScore = s;
        }
      }
      return best;
    };
    this.perTask = {};
    for (const [task, rows] of [...byTask].sort((a, b) => a[0].localeCompare(b[0])))
      this.perTask[task] = pick(rows, ["task-best", "best-single", "router"]);
    this.unseen = pick(
      data.queries.map((_, i) => i),
      ["best-single", "router"],
    );
    this.priors = Priors.fit(data);
    this.base = this.create(this.baseName, this.baseParams);
    this.base.fit(data);
  }

  /** The policy for a task: what the router decided per task, or for unseen tasks. */
  policy(task: string | null | undefined): Policy {
    return (task ? this.perTask[task] : undefined) ?? this.unseen;
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    if (!this.base || !this.priors) throw new Error("fallback router used before fit/restore");
    const c = this.priors.nCandidates;
    const pred = this.base.predict(queries, opts);
    const reasons: string[] | undefined = opts?.explain ? [] : undefined;
    queries.forEach((q, i) => {
      const p = this.policy(q.task);
      const priors = this.priors as Priors;
      if (p === "task-best") pred.performance.set(priors.perfRow(q.task), i * c);
      if (p === "best-single") pred.performance.set(priors.globalPerf, i * c);
      pred.cost.set(priors.costRow(q.task), i * c);
      if (reasons)
        for (let j = 0; j < c; j++)
          reasons.push(
            p === "router"
              ? `${this.baseName} (it beat the fallbacks on held-out ${q.task ?? "queries"}): ${pred.reasons?.[i * c + j] ?? ""}`
              : `fallback to ${p === "task-best" ? `the best model of task "${q.task}"` : "the best single model"} (${this.baseName} did not beat it out of sample)`,
          );
    });
    if (reasons) pred.reasons = reasons;
    return pred;
  }

  state(): FallbackState {
    if (!this.base || !this.priors) throw new Error("fallback router used before fit/restore");
    return {
      base: this.baseName,
      baseParams: this.baseParams,
      baseState: this.base.state(),
      perTask: this.perTask,
      unseen: this.unseen,
      priors: this.priors.state(),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as FallbackState;
    if (!s || typeof s.base !== "string") throw new Error('artifact field "state.base": expected a router name');
    this.baseName = s.base;
    this.baseParams = s.baseParams ?? {};
    this.base = this.create(s.base, this.baseParams);
    this.base.restore(s.baseState, candidates);
    this.perTask = s.perTask;
    this.unseen = s.unseen;
    this.priors = Priors.restore(s.priors, candidates.length);
  }
}

/** The rows of a batch prediction, in the given order. */
function pickRows(pred: Prediction, rows: readonly number[], c: number): Prediction {
  const performance = new Float64Array(rows.length * c);
  const cost = new Float64Array(rows.length * c);
  rows.forEach((r, i) => {
    performance.set(pred.performance.subarray(r * c, (r + 1) * c), i * c);
    cost.set(pred.cost.subarray(r * c, (r + 1) * c), i * c);
  });
  return { performance, cost };
}
