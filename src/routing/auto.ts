import { apgr, strongWeak, twoModelCurve } from "../eval/metrics.ts";
import { Rng } from "../util/prng.ts";
import { meanFinite, rowsByTask, stratifiedFolds } from "./math.ts";
import { QueryMemory, type QueryMemoryState, type Recall } from "./memory.ts";
import {
  DEFAULT_KNOB,
  type Knob,
  lambdaGrid,
  learnScales,
  SCENARIOS,
  type ScalesState,
  type Scenario,
  scaleFor,
} from "./objective.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { applyStack, checkStackWeights, fitStack, type StackWeights } from "./stack.ts";
import { realisedRows, subset } from "./tuning.ts";

export interface AutoParams {
  /** Base routers stacked (registry names). */
  bases?: string[];
  /** Parameters per base router, by name. */
  baseParams?: Record<string, Record<string, unknown>>;
  /**
   * Cross-fitting folds for the out-of-fold predictions; default 5, and 3 on training sets of at least
   * LARGE_SET queries (see `innerFolds`).
   */
  folds?: number;
  /**
   * A policy replaces the fallback of a task only when its out-of-fold gain over the fallback exceeds
   * z standard errors of the paired per-query difference (and is positive): selection noise across
   * many policies must not pass for skill.
   */
  z?: number;
  /**
   * Exact-match memory (default true): a query whose text (whitespace-normalised) is in the training data
   * is routed by the performance and cost observed on it there; of candidates observed equally good the
   * cheaper goes first, and the chosen policy's prediction orders those equally cheap too (memory.ts,
   * `remembered` in predict). A rule without parameters: nothing is tuned, so nothing is chosen on held-out
   * data.
   */
  memory?: boolean;
  seed?: number;
}

/**
 * Weight of the policy's prediction beside a remembered outcome where a score must carry both (the
 * strong/weak ranking score, and every prediction of an artifact whose memory kept no costs): small enough
 * never to reverse an observed difference (outcomes differ by far more than 1e-6 × a prediction in [0, 1]),
 * so it only orders what was observed to do equally well.
 */
export const MEMORY_TIE_BREAK = 1e-6;

/**
 * The learned routers stacked by default. graph (about as fast alone) doubles auto's fit, as it is fitted
 * in every inner fold, for a gain inside the noise in cross-validation and a loss under some objectives;
 * cluster likewise (≤ 2.1 standard errors on any set, a loss under balance on two, 2.5–4.4× the fit);
 * mlp is below best-per-task in cross-validation on LLMRouter (README, bench/auto-bases.ts).
 */
export const AUTO_DEFAULT_BASES = ["knn", "logistic", "irt"];

/**
 * A policy: a baseline, a base router by name, "mean" (the average of every base's predictions) or
 * "stack" (a logistic blend of the bases and the task prior, weights fitted out of fold: stack.ts).
 */
type Policy = string;
const TASK_BEST = "task-best";
const BEST_SINGLE = "best-single";
const MEAN = "mean";
const STACK = "stack";
const RESERVED = new Set(["auto", TASK_BEST, BEST_SINGLE, MEAN, STACK]);
/**
 * "only:<candidate key>": always that candidate (its prediction is the task prior for it and −∞ for the
 * others, so the ranking picks nothing else: onlyColumn). An option under the scenarios that min–max normalise, where
 * the candidate with the best realised reward need not be task-best's pick (see `chooseFor` in fit).
 */
const ONLY = "only:";

/**
 * From this many training queries on, auto cross-fits with 3 folds instead of 5: each row still gets one
 * out-of-fold prediction (so the comparison's standard errors are unchanged), the bases are fitted on
 * twice instead of four times the data, and they see 2/3 instead of 4/5 of it, a difference the learning
 * curve no longer shows at this size. `bench/auto-fit.ts` prints both fit times in one run.
 */
export const LARGE_SET = 4000;

/** Inner cross-fitting folds: the given number, else 5 (3 from LARGE_SET queries on), at most n. */
export function innerFolds(n: number, folds?: number): number {
  return Math.min(folds ?? (n >= LARGE_SET ? 3 : 5), Math.max(2, n));
}

/** The scenarios auto chooses its policies for (llm-judge ranks like performance-first, by its judge head). */
const CHOSEN_SCENARIOS: Scenario[] = ["balance", "cost-first"];

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

/** The per-task choices for one objective, and the choice for unseen tasks. */
export interface KnobChoices {
  perTask: Record<string, PolicyChoice>;
  unseen: PolicyChoice;
}

interface AutoState {
  bases: string[];
  baseParams: Record<string, Record<string, unknown>>;
  /** States of the base routers the choices use (fitted on the whole training set). */
  baseStates: Record<string, unknown>;
  /** Performance-first choices (also llm-judge, and every knob of an artifact without the fields below). */
  perTask: Record<string, PolicyChoice>;
  unseen: PolicyChoice;
  /** Choices for the balance and cost-first scenarios. */
  byScenario?: Record<string, KnobChoices>;
  /** λ grid (willingness to pay) and the choices made for each of its points. */
  lambdas?: number[];
  byLambda?: KnobChoices[];
  /** Stacking weights (one row per candidate), when the bases are stacked. */
  stack?: StackWeights | null;
  /** Two-candidate data: the policy whose predicted strong − weak gain ranks queries best out of fold. */
  ranking?: Policy | null;
  /** Exact-match memory of the training queries (absent: none — also artifacts written before it existed). */
  memory?: QueryMemoryState | null;
  priors: PriorsState;
}

/**
 * Stacked router: out-of-fold predictions of every base router, of their mean, of their logistic stack and
 * of the two baselines (the task's best model, the best single model) are scored per train query; for each
 * objective served (performance-first, balance, cost-first, and every point of a λ grid), each task keeps
 * the policy with the best out-of-fold objective, but only if it beats the task's best model under that
 * objective by more than z standard errors — otherwise the task stays with that model. So by construction,
 * on held-out train data, `auto` is never below best-per-task in any task for the objective it serves;
 * tasks unseen in training choose the same way against the best single model over all queries. On
 * two-candidate data the policy whose strong − weak gain ranks held-out queries best (out-of-fold APGR)
 * gives the scores of a strong/weak threshold sweep. Only the bases that some choice uses are refitted on
 * the whole training set and saved in the artifact. A query whose exact text is in the training data is
 * routed by what was observed on it there (`memory`, on by default; memory.ts).
 */
export class AutoRouter implements Router {
  readonly name = "auto";
  private bases: string[];
  private baseParams: Record<string, Record<string, unknown>>;
  private readonly folds: number | undefined;
  private readonly z: number;
  private readonly seed: number;
  private fitted = new Map<string, Router>();
  private priors: Priors | null = null;
  private perTask: Record<string, PolicyChoice> = {};
  private unseen: PolicyChoice | null = null;
  private byScenario: Record<string, KnobChoices> = {};
  private lambdas: number[] = [];
  private byLambda: KnobChoices[] = [];
  private stack: StackWeights | null = null;
  private ranking: Policy | null = null;
  private readonly useMemory: boolean;
  private memory: QueryMemory | null = null;
  /** Candidate keys in column order (an "only:" policy names its candidate by key). */
  private candidateKeys: string[] = [];

  constructor(
    params: AutoParams,
    private readonly create: (name: string, params: Record<string, unknown>) => Router,
  ) {
    this.bases = params.bases ?? AUTO_DEFAULT_BASES;
    this.baseParams = params.baseParams ?? {};
    this.folds = params.folds;
    this.z = params.z ?? 1;
    this.seed = params.seed ?? 1;
    this.useMemory = params.memory ?? true;
    for (const b of this.bases)
      if (RESERVED.has(b)) throw new Error(`auto: "${b}" cannot be a base router (the baselines are always included)`);
    if (new Set(this.bases).size !== this.bases.length) throw new Error("auto: a base router is listed twice");
  }

  fit(data: TrainingSet): void {
    const n = data.queries.length;
    const c = data.candidates.length;
    this.candidateKeys = data.candidates.map((x) => x.key);
    const oof = new Map<Policy, Prediction>();
    const blank = (): Prediction => ({ performance: new Float64Array(n * c), cost: new Float64Array(n * c) });
    for (const p of [TASK_BEST, BEST_SINGLE, ...this.bases]) oof.set(p, blank());
    const k = innerFolds(n, this.folds);
    const fold = stratifiedFolds(
      data.queries.map((q) => q.task),
      k,
      new Rng(this.seed),
    );
    const foldRows = (f: number) => {
      const inRows: number[] = [];
      const outRows: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? outRows : inRows).push(i);
      return { inRows, outRows };
    };
    for (let f = 0; f < k; f++) {
      const { inRows, outRows } = foldRows(f);
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
    // The stack's own out-of-fold predictions: weights fitted on the other folds' out-of-fold rows.
    const stackInputs = [...this.bases, TASK_BEST].map((p) => (oof.get(p) as Prediction).performance);
    const stacked = blank();
    stacked.cost.set((oof.get(TASK_BEST) as Prediction).cost);
    for (let f = 0; f < k; f++) {
      const { inRows, outRows } = foldRows(f);
      if (!outRows.length || !inRows.length) continue;
      const w = fitStack(stackInputs, data.performance, c, inRows);
      const rowsOf = (m: Float64Array) =>
        Float64Array.from(outRows.flatMap((i) => [...m.subarray(i * c, (i + 1) * c)]));
      const pred = applyStack(w, stackInputs.map(rowsOf), outRows.length);
      outRows.forEach((i, r) => {
        stacked.performance.set(pred.subarray(r * c, (r + 1) * c), i * c);
      });
    }
    oof.set(STACK, stacked);
    const all = data.queries.map((_, i) => i);
    this.stack = fitStack(stackInputs, data.performance, c, all);

    const learned = [...this.bases, ...(this.bases.length > 1 ? [MEAN] : []), STACK];
    const byTask = rowsByTask(data.queries.map((q) => q.task));
    byTask.delete(""); // a query without a task counts only towards the policy for unseen tasks
    const tasks = [...byTask].sort((a, b) => a[0].localeCompare(b[0]));
    // Under a scenario that min–max normalises (balance, cost-first), evaluation scores a held-out set on that
    // set's own per-task ranges, while a router ranks on the train split's: cost has a long tail, so one
    // expensive query sets the range, and a smaller held-out set usually has a narrower one, weighing cost
    // more than the ranking did. task-best can then lose to always calling one other candidate (RouteLLM GSM8K
    // balance: the cheap model). So under those scenarios every policy's out-of-fold rows are scored on their
    // fold's own ranges, and always calling each single candidate is an option.
    const foldScales: ScalesState[] = Array.from({ length: k }, (_, f) => {
      const rows = foldRows(f).outRows;
      const part = subset(data, rows);
      return learnScales(
        part.queries.map((q) => q.task),
        part.performance,
        part.cost,
        c,
      );
    });
    const heldScale = (r: number) => scaleFor(foldScales[fold[r] as number] as ScalesState, data.queries[r].task);
    const only = data.candidates.map((cand, j) => {
      const name = `${ONLY}${cand.key}`;
      const task = oof.get(TASK_BEST) as Prediction;
      return { name, pred: { performance: onlyColumn(task.performance, c, j), cost: task.cost } };
    });
    const chooseFor = (knob: Knob): KnobChoices => {
      const normalised = "scenario" in knob && SCENARIOS[knob.scenario].beta > 0;
      const realised = new Map<Policy, Float64Array>();
      const score = (pred: Prediction) => realisedRows(pred, data, all, knob, normalised ? heldScale : undefined);
      for (const [p, pred] of oof) realised.set(p, score(pred));
      if (normalised) for (const o of only) realised.set(o.name, score(o.pred));
      const fixed = normalised ? only.map((o) => o.name) : [];
      const perTask: Record<string, PolicyChoice> = {};
      for (const [task, rows] of tasks)
        perTask[task] = this.choose(realised, rows, TASK_BEST, [BEST_SINGLE, ...learned, ...fixed]);
      return { perTask, unseen: this.choose(realised, all, BEST_SINGLE, [...learned, ...fixed]) };
    };
    const perf = chooseFor(DEFAULT_KNOB);
    this.perTask = perf.perTask;
    this.unseen = perf.unseen;
    this.byScenario = Object.fromEntries(CHOSEN_SCENARIOS.map((s) => [s, chooseFor({ scenario: s })]));
    // The same grid evaluation sweeps for the frontier (objective.lambdaGrid over the mean train cost).
    this.lambdas = lambdaGrid(meanFinite(data.cost));
    this.byLambda = this.lambdas.map((lambda) => chooseFor({ lambda }));
    this.ranking = c === 2 ? bestRanking(oof, data, [TASK_BEST, ...learned]) : null;

    this.priors = Priors.fit(data);
    this.memory = this.useMemory ? QueryMemory.fit(data) : null;
    const used = new Set<string>();
    const use = (p: Policy | null) => {
      if (p === MEAN || p === STACK) for (const b of this.bases) used.add(b);
      else if (p && this.bases.includes(p)) used.add(p);
    };
    for (const set of this.allChoices()) for (const ch of [...Object.values(set.perTask), set.unseen]) use(ch.policy);
    use(this.ranking);
    this.fitted = new Map();
    for (const b of this.bases)
      if (used.has(b)) {
        const router = this.create(b, this.baseParams[b] ?? {});
        router.fit(data);
        this.fitted.set(b, router);
      }
  }

  private allChoices(): KnobChoices[] {
    if (!this.unseen) return [];
    return [{ perTask: this.perTask, unseen: this.unseen }, ...Object.values(this.byScenario), ...this.byLambda];
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

  /** The choices made for a knob: its scenario's, or the nearest point of the λ grid (log scale). */
  private choicesFor(knob: Knob): KnobChoices {
    if (!this.unseen) throw new Error("auto router used before fit/restore");
    const perf = { perTask: this.perTask, unseen: this.unseen };
    if ("scenario" in knob) return this.byScenario[knob.scenario] ?? perf;
    if (!this.byLambda.length) return perf;
    return this.byLambda[nearestLambda(this.lambdas, knob.lambda)] ?? perf;
  }

  /** The out-of-fold choice for a task (the unseen-task choice for a task not in training) under a knob. */
  choice(task: string | null | undefined, knob: Knob = DEFAULT_KNOB): PolicyChoice {
    const set = this.choicesFor(knob);
    return (task ? set.perTask[task] : undefined) ?? set.unseen;
  }

  /** Every task's choice, and the one for unseen tasks, under a knob (for reports and `route`). */
  choices(knob: Knob = DEFAULT_KNOB): KnobChoices {
    return this.choicesFor(knob);
  }

  /** The policy ranking strong/weak calls on two-candidate data (null otherwise). */
  rankingPolicy(): Policy | null {
    return this.ranking;
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    if (!this.priors || !this.unseen) throw new Error("auto router used before fit/restore");
    const priors = this.priors;
    const c = priors.nCandidates;
    const n = queries.length;
    const memory = this.memory;
    const recalled: (Recall | null)[] = queries.map((q) => (memory ? memory.recall(q.text) : null));
    // Predicted cost: the task's mean, or for a remembered query what each candidate was observed to cost.
    const cost = new Float64Array(n * c);
    queries.forEach((q, i) => {
      cost.set(priors.costRow(q.task), i * c);
      const seen = recalled[i]?.cost;
      if (seen) for (let j = 0; j < c; j++) if (!Number.isNaN(seen[j])) cost[i * c + j] = seen[j] as number;
    });
    // Each fitted base predicts the batch once, when a policy first needs it.
    const baseCache = new Map<string, Prediction>();
    const base = (b: string): Prediction => {
      let pred = baseCache.get(b);
      if (!pred) {
        const router = this.fitted.get(b);
        if (!router) throw new Error(`auto: base router "${b}" is not in the fitted state`);
        pred = router.predict(queries, opts);
        baseCache.set(b, pred);
      }
      return pred;
    };
    const prior = (): Float64Array => {
      const out = new Float64Array(n * c);
      queries.forEach((q, i) => {
        out.set(priors.perfRow(q.task), i * c);
      });
      return out;
    };
    const policyCache = new Map<Policy, Float64Array>();
    const rowsOf = (p: Policy): Float64Array => {
      let out = policyCache.get(p);
      if (out) return out;
      if (p === TASK_BEST) out = prior();
      else if (p.startsWith(ONLY)) {
        const j = this.candidateKeys.indexOf(p.slice(ONLY.length));
        if (j < 0) throw new Error(`auto: policy "${p}" names no candidate of this router`);
        out = onlyColumn(prior(), c, j);
      } else if (p === BEST_SINGLE) {
        out = new Float64Array(n * c);
        for (let i = 0; i < n; i++) out.set(priors.globalPerf, i * c);
      } else if (p === MEAN) {
        out = new Float64Array(n * c);
        for (const b of this.bases) {
          const v = base(b).performance;
          for (let k = 0; k < out.length; k++) out[k] += v[k] / this.bases.length;
        }
      } else if (p === STACK) {
        if (!this.stack) throw new Error("auto: the stack policy has no weights in the fitted state");
        out = applyStack(this.stack, [...this.bases.map((b) => base(b).performance), rowsOf(TASK_BEST)], n);
      } else out = base(p).performance;
      policyCache.set(p, out);
      return out;
    };
    // A remembered query's score where one number must carry both the observed outcome and the policy's
    // prediction (see MEMORY_TIE_BREAK), the prediction standing alone for candidates never observed on it.
    const withObserved = (rows: Float64Array): Float64Array => {
      if (!recalled.some(Boolean)) return rows;
      const out = Float64Array.from(rows);
      recalled.forEach((m, i) => {
        if (m)
          for (let j = 0; j < c; j++) out[i * c + j] = withMemory(m.observed[j] as number, rows[i * c + j] as number);
      });
      return out;
    };
    /**
     * A remembered query's predicted performance: what was observed, the policy's prediction standing in for
     * candidates never observed on it; the ranking (objective.ts) then puts the cheaper first among equally
     * good ones (its predicted cost is the observed cost), and the policy's prediction, as the tie-break
     * score, orders those equally cheap. A memory without costs (an older artifact) ranks as when it was
     * written: withObserved, the task's mean costs, no tie-break score.
     */
    const remembered = (rows: Float64Array): { performance: Float64Array; tieBreak?: Float64Array } => {
      if (!memory?.hasCosts) return { performance: withObserved(rows) };
      if (!recalled.some(Boolean)) return { performance: rows };
      const performance = Float64Array.from(rows);
      const tieBreak = new Float64Array(n * c).fill(Number.NaN);
      recalled.forEach((m, i) => {
        if (!m) return;
        for (let j = 0; j < c; j++) {
          const k = i * c + j;
          if (!Number.isNaN(m.observed[j] as number)) performance[k] = m.observed[j] as number;
          tieBreak[k] = rows[k] as number;
        }
      });
      return { performance, tieBreak };
    };
    const build = (knob: Knob): Prediction => {
      const performance = new Float64Array(n * c);
      const reasons: string[] | undefined = opts?.explain ? [] : undefined;
      queries.forEach((q, i) => {
        const ch = this.choice(q.task, knob);
        performance.set(rowsOf(ch.policy).subarray(i * c, (i + 1) * c), i * c);
        if (reasons) {
          const why = `auto: ${describe(ch, q.task)}`;
          const inner = this.fitted.has(ch.policy) ? base(ch.policy).reasons : undefined;
          const m = recalled[i];
          for (let j = 0; j < c; j++) {
            const r = inner?.[i * c + j];
            const policy = r ? `${why}; ${r}` : why;
            reasons.push(m ? `${recallReason(m, j, cost[i * c + j] as number)}; ${policy}` : policy);
          }
        }
      });
      return { ...remembered(performance), cost, ...(reasons ? { reasons } : {}) };
    };
    const main = build(DEFAULT_KNOB);
    return {
      ...main,
      underKnob: build,
      // The strong/weak ranking orders queries, not candidates: observed gain first, then the policy's.
      ...(this.ranking && c === 2 ? { rankingScore: withObserved(rowsOf(this.ranking)) } : {}),
    };
  }

  state(): AutoState {
    if (!this.priors || !this.unseen) throw new Error("auto router used before fit/restore");
    return {
      bases: this.bases,
      baseParams: this.baseParams,
      baseStates: Object.fromEntries([...this.fitted].map(([b, r]) => [b, r.state()])),
      perTask: this.perTask,
      unseen: this.unseen,
      byScenario: this.byScenario,
      lambdas: this.lambdas,
      byLambda: this.byLambda,
      stack: this.stack,
      ranking: this.ranking,
      memory: this.memory ? this.memory.state() : null,
      priors: this.priors.state(),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as AutoState;
    if (!s || !Array.isArray(s.bases) || typeof s.baseStates !== "object" || !s.unseen)
      throw new Error('artifact field "state": expected {bases, baseStates, perTask, unseen, priors}');
    this.bases = s.bases;
    this.baseParams = s.baseParams ?? {};
    this.candidateKeys = candidates.map((x) => x.key);
    this.fitted = new Map();
    for (const [b, st] of Object.entries(s.baseStates)) {
      const router = this.create(b, this.baseParams[b] ?? {});
      router.restore(st, candidates);
      this.fitted.set(b, router);
    }
    this.perTask = s.perTask ?? {};
    this.unseen = s.unseen;
    // Artifacts written before auto chose per objective use the performance-first choices for every knob.
    this.byScenario = s.byScenario ?? {};
    this.lambdas = s.lambdas ?? [];
    this.byLambda = s.byLambda ?? [];
    if (this.lambdas.length !== this.byLambda.length)
      throw new Error('artifact field "state.byLambda": expected one set of choices per λ of "state.lambdas"');
    this.stack = s.stack ? checkStackWeights(s.stack, candidates.length, this.bases.length + 1) : null;
    this.ranking = s.ranking ?? null;
    this.memory = this.useMemory && s.memory ? QueryMemory.restore(s.memory, candidates.length, "state.memory") : null;
    this.priors = Priors.restore(s.priors, candidates.length);
  }
}

/** Index of the grid point nearest to λ: 0 for λ = 0, else nearest on a log scale among positive points. */
export function nearestLambda(grid: readonly number[], lambda: number): number {
  let best = 0;
  let dist = Number.POSITIVE_INFINITY;
  grid.forEach((g, k) => {
    const d = lambda === 0 || g === 0 ? (lambda === g ? 0 : Number.POSITIVE_INFINITY) : Math.abs(Math.log(lambda / g));
    if (d < dist) {
      dist = d;
      best = k;
    }
  });
  return best;
}

/**
 * The policy whose predicted gain of the strong candidate over the weak one (strong: the better on
 * average) ranks the out-of-fold rows best, by APGR (RouteLLM's area under the strong-call curve).
 */
function bestRanking(oof: Map<Policy, Prediction>, data: TrainingSet, options: Policy[]): Policy | null {
  const pair = strongWeak(data);
  let best: Policy | null = null;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const p of options) {
    const curve = twoModelCurve(data, (oof.get(p) as Prediction).performance, pair);
    const a = curve ? apgr(curve) : Number.NaN;
    if (a > bestScore + 1e-12) {
      best = p;
      bestScore = a;
    }
  }
  return best;
}

/** A remembered outcome where one was observed, else the policy's prediction; see MEMORY_TIE_BREAK. */
export function withMemory(observed: number, predicted: number): number {
  return Number.isNaN(observed) ? predicted : observed + MEMORY_TIE_BREAK * predicted;
}

/** Why a remembered query's candidate is predicted as it is; `cost` is the predicted cost shown beside it. */
function recallReason(m: Recall, j: number, cost: number): string {
  const seen = `this exact query is in the routing data (${m.count} observation${m.count === 1 ? "" : "s"})`;
  const o = m.observed[j] as number;
  if (Number.isNaN(o)) return `auto: ${seen}, but this candidate was never scored on it, so the policy predicts`;
  if (!m.cost)
    return `auto: ${seen}: observed performance ${o.toFixed(3)} for this candidate (the policy below only breaks ties)`;
  const at = Number.isNaN(m.cost[j] as number)
    ? `its cost there unrecorded, so the task's mean $${cost.toExponential(2)}/query stands in`
    : `observed cost $${cost.toExponential(2)}/query`;
  return `auto: ${seen}: observed performance ${o.toFixed(3)} for this candidate, ${at} (of candidates observed equally good the cheaper goes first, then the one the policy below prefers)`;
}

function describe(ch: PolicyChoice, task: string | null | undefined): string {
  const where = task ? `task "${task}"` : "a query without a task";
  const what =
    ch.policy === MEAN
      ? "the mean of the base routers"
      : ch.policy === STACK
        ? "the logistic stack of the base routers and the task prior"
        : ch.policy.startsWith(ONLY)
          ? `always ${ch.policy.slice(ONLY.length)}`
          : ch.policy;
  if (ch.policy === ch.fallback)
    return `${where} uses ${what} (no router beat it out of fold on ${ch.queries} train queries)`;
  return `${where} uses ${what}: out-of-fold ${ch.score.toFixed(3)} vs ${ch.fallback} ${ch.fallbackScore.toFixed(3)} (±${ch.se.toFixed(3)}) on ${ch.queries} train queries`;
}

/**
 * Predictions (rows of c) keeping column j and putting every other at −∞, so the ranking chooses j under any
 * knob; where j is unknown (no outcome) the others tie at −∞ and the cheapest goes (not NaN: a row with
 * nothing known would choose nothing).
 */
function onlyColumn(rows: Float64Array, c: number, j: number): Float64Array {
  const out = new Float64Array(rows.length).fill(Number.NEGATIVE_INFINITY);
  for (let k = j; k < rows.length; k += c) out[k] = rows[k] as number;
  return out;
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
