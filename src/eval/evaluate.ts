import type { Query } from "../data/types.ts";
import { meanFinite } from "../routing/math.ts";
import {
  choose,
  type Knob,
  lambdaGrid,
  learnScales,
  SCENARIOS,
  type ScalesState,
  type Scenario,
} from "../routing/objective.ts";
import type { Prediction, Router, TrainingSet } from "../routing/router.ts";
import { progress } from "../util/progress.ts";
import {
  bestWithinBudget,
  COST_RATIO_TARGET,
  type CostMatchSummary,
  cheapestMatch,
  costMatchSummary,
  type MatchPoint,
  refineLambdas,
} from "./cost-match.ts";
import type { CvResult } from "./cv.ts";
import {
  aiq,
  apgr,
  type CallCurve,
  choiceMeans,
  compareTasks,
  cpt,
  gapClosed,
  meanReward,
  type PerfCost,
  perTaskMeans,
  strongWeak,
  taskRanges,
  twoModelCurve,
} from "./metrics.ts";
import {
  DEFAULT_CALL_LATENCY_MS,
  evaluatePolicy,
  isPolicyData,
  type PolicyEntry,
  type PolicyFigures,
} from "./policies.ts";
import { oracleChoices, taskStats } from "./stats.ts";

/**
 * Held-out evaluation of routers: fit on the train set (or take an already-fitted router from an artifact),
 * predict once on the test set, then choose under each scenario and along a λ sweep with the shared
 * ranking function (routing/objective.ts) and score the choices on the test outcomes.
 */

/** A router to evaluate: trained here from a fresh instance, or already fitted (loaded from an artifact). */
export type RouterEntry =
  | { name: string; create: () => Router }
  | { name: string; fitted: Router; scales: ScalesState; source?: string };

export interface FrontierPoint {
  lambda: number;
  cost: number;
  performance: number;
}

export interface RouterResult {
  name: string;
  scenario: Scenario;
  performance: number;
  cost: number;
  /** Mean FusionFactory reward α·perf′ − β·cost′ (per-task min–max normalised on the test outcomes). */
  reward: number;
  gapClosed: number;
  /** RouterBench AIQ of the λ sweep over the shared cost range (same for every scenario of a router). */
  aiq: number;
  frontier: FrontierPoint[];
  /**
   * Cheapest point of the λ sweep (refined grid, in hindsight on this split) whose performance is at least
   * the best single model's, with cost ÷ best single's cost; null when no λ reaches it.
   */
  matchBestSingle: MatchPoint | null;
  /** Best point of the same sweep costing at most COST_RATIO_TARGET × the best single model's cost. */
  atBudget: FrontierPoint | null;
  /** This scenario's cost ÷ the best single model's cost. */
  costRatio: number;
  perTask: Record<string, PerfCost & { queries: number }>;
  beatsBestSingleOn: string[];
  losesOn: string[];
  tiesOn: string[];
  /** Share of queries sent to each candidate under this scenario. */
  usage: Record<string, number>;
  /** Two-candidate sets only (RouteLLM): strong-call share curve metrics. */
  apgr?: number;
  cpt50?: number;
  cpt80?: number;
  /** Two-candidate sets only: the strong-call share vs performance curve behind APGR and CPT. */
  strongCallCurve?: CallCurve;
  fitSeconds: number;
  predictSeconds: number;
  /** "trained" or the artifact it was loaded from. */
  source: string;
  /** Multi-call policies only: operating point, calls and stages per query, stage latency, stop reasons. */
  policy?: PolicyFigures;
  /**
   * Single-call routers: candidate index chosen for each scored query under this scenario (−1: none); stored
   * with eval runs. Absent for multi-call policies (their answer may come from several calls).
   */
  choices?: Int32Array;
}

export interface SingleResult extends PerfCost {
  model: string;
  perTask: Record<string, PerfCost>;
}

export interface EvalResult {
  split: string;
  queries: number;
  trainQueries: number;
  candidates: string[];
  tasks: string[];
  scenarios: Scenario[];
  routers: RouterResult[];
  bestSingle: SingleResult;
  oracle: PerfCost & { perTask: Record<string, PerfCost> };
  /** Every candidate used alone on the test set (points of the frontier plot). */
  singles: SingleResult[];
  /** Cost range shared by every AIQ (so AIQs compare). */
  costRange: { min: number; max: number };
  /** What matching the best single model costs at best: oracle bounds, cost floor, per task. */
  costMatch: CostMatchSummary;
  /** Two-candidate sets: which candidate is "strong" (higher train performance) and "weak". */
  pair?: { strong: string; weak: string };
  /** K-fold cross-validation on the train split (`eval --cv`), for the routers trained here. */
  cv?: CvResult;
}

export interface EvaluateOptions {
  scenarios: Scenario[];
  /** Multi-call policies to fit on train and replay on test's recorded responses (train and test must be PolicyData). */
  policies?: PolicyEntry[];
  /** Per-call latency for the policies' stage latency (ms; default 1000). */
  perCallLatencyMs?: number;
  split?: string;
  /** λ values for the frontier; default: objective.lambdaGrid over the train set's mean cost. */
  lambdas?: number[];
  /** Called with a line of status text (stderr in the CLI). */
  log?: (line: string) => void;
}

const NO_TASK = "(no task)";

export function evaluateRouters(
  train: TrainingSet,
  test: TrainingSet,
  entries: RouterEntry[],
  opts: EvaluateOptions,
): EvalResult {
  checkAligned(train, test);
  const c = test.candidates.length;
  const n = test.queries.length;
  if (n === 0) throw new Error("the test set has no queries");
  const keys = test.candidates.map((x) => x.key);
  const tasks = test.queries.map((q) => q.task ?? NO_TASK);
  const taskNames = [...new Set(tasks)].sort();
  const table = asTable(test, tasks);
  const all = [...Array(n).keys()];

  // Baselines straight from the stats module, so `eval` and `stats` can never disagree.
  const st = taskStats(table, all);
  const singles: SingleResult[] = st.candidates
    .filter((s) => s.n > 0)
    .map((s) => {
      const j = keys.indexOf(s.candidate);
      return { model: s.candidate, performance: s.performance, cost: s.cost, perTask: singlePerTask(test, j, tasks) };
    });
  const bestSingle = singles.find((s) => s.model === st.bestSingle.model) as SingleResult;
  const oracle = oracleChoices(table, all);
  const oraclePerTask: Record<string, PerfCost> = {};
  for (const [t, v] of Object.entries(perTaskMeans(test, oracle, tasks)))
    oraclePerTask[t] = { performance: v.performance, cost: v.cost };

  const scales = learnScales(
    train.queries.map((q) => q.task ?? NO_TASK),
    train.performance,
    train.cost,
    train.candidates.length,
  );
  const lambdas = opts.lambdas ?? lambdaGrid(meanFinite(train.cost));
  const fineLambdas = refineLambdas(lambdas);
  const ranges = taskRanges(test, tasks);
  const judgeRanges = test.judge ? taskRanges(test, tasks, test.judge) : null;
  const pair = c === 2 ? strongWeak(train) : undefined;

  const bar = progress("evaluating routers", entries.length);
  const perRouter: Array<Omit<RouterResult, "aiq"> & { aiqPoints: FrontierPoint[] }> = [];
  entries.forEach((entry, r) => {
    let router: Router;
    let routerScales: ScalesState;
    let fitSeconds = 0;
    let source = "trained";
    if ("create" in entry) {
      opts.log?.(`training ${entry.name} on ${train.queries.length} queries…`);
      router = entry.create();
      const t0 = performance.now();
      router.fit(train);
      fitSeconds = (performance.now() - t0) / 1000;
      routerScales = scales;
    } else {
      router = entry.fitted;
      routerScales = entry.scales;
      source = entry.source ?? "artifact";
    }
    const t1 = performance.now();
    const pred = maskUnknown(router.predict(test.queries), test);
    const predictSeconds = (performance.now() - t1) / 1000;
    opts.log?.(
      `${entry.name}: ${fitSeconds ? `trained in ${fitSeconds.toFixed(2)} s, ` : ""}predicted ${n} queries in ${predictSeconds.toFixed(2)} s`,
    );

    // A router whose predictor depends on the objective (auto) predicts once and recombines per knob.
    const under = (knob: Knob): Prediction => (pred.underKnob ? maskUnknown(pred.underKnob(knob), test) : pred);
    const frontier = lambdas.map((lambda) => {
      const m = choiceMeans(test, choose(under({ lambda }), c, { lambda }, routerScales, tasks));
      return { lambda, cost: m.cost, performance: m.performance };
    });
    const twoModel = pair ? twoModelMetrics(test, pred, pair) : undefined;
    const fine = fineLambdas.map((lambda) => ({
      lambda,
      ...choiceMeans(test, choose(under({ lambda }), c, { lambda }, routerScales, tasks)),
    }));
    const matchBestSingle = cheapestMatch(fine, bestSingle);
    const atBudget = bestWithinBudget(fine, COST_RATIO_TARGET * bestSingle.cost);

    for (const scenario of opts.scenarios) {
      const knob: Knob = { scenario };
      const choices = choose(under(knob), c, knob, routerScales, tasks);
      const m = choiceMeans(test, choices);
      const { alpha, beta } = SCENARIOS[scenario];
      const judged = scenario === "llm-judge" && test.judge && judgeRanges;
      const reward = judged
        ? meanReward(test, choices, judgeRanges, alpha, beta, undefined, test.judge ?? undefined)
        : meanReward(test, choices, ranges, alpha, beta);
      const perTask = perTaskMeans(test, choices, tasks);
      const cmp = compareTasks(perTask, bestSingle.perTask);
      perRouter.push({
        name: entry.name,
        scenario,
        performance: m.performance,
        cost: m.cost,
        reward,
        gapClosed: gapClosed(m.performance, bestSingle.performance, st.oracle.performance),
        frontier,
        matchBestSingle,
        atBudget,
        costRatio: m.cost / bestSingle.cost,
        aiqPoints: frontier,
        perTask,
        beatsBestSingleOn: cmp.beats,
        losesOn: cmp.loses,
        tiesOn: cmp.ties,
        usage: usage(choices, keys),
        ...(twoModel ?? {}),
        fitSeconds,
        predictSeconds,
        source,
        choices,
      });
    }
    bar.update(r + 1);
  });
  bar.stop();
  if (opts.policies?.length) {
    if (!isPolicyData(train) || !isPolicyData(test))
      throw new Error("multi-call policies need the recorded answers of train and test (PolicyData)");
    for (const entry of opts.policies) {
      opts.log?.(
        `policy ${entry.name}: fitting on ${train.queries.length} queries, replaying ${n} recorded test queries…`,
      );
      perRouter.push(
        ...evaluatePolicy(train, test, entry, {
          scenarios: opts.scenarios,
          tasks,
          ranges,
          bestSingle,
          oraclePerformance: st.oracle.performance,
          keys,
          perCallLatencyMs: opts.perCallLatencyMs ?? DEFAULT_CALL_LATENCY_MS,
        }),
      );
    }
  }

  // One cost range for every AIQ: all single models and every router's sweep.
  const costs = [...singles.map((s) => s.cost), ...perRouter.flatMap((r) => r.frontier.map((p) => p.cost))].filter(
    Number.isFinite,
  );
  const costRange = { min: Math.min(...costs), max: Math.max(...costs) };
  const routers = perRouter.map(({ aiqPoints, ...r }) => ({ ...r, aiq: aiq(aiqPoints, costRange.min, costRange.max) }));

  return {
    split: opts.split ?? "test",
    queries: n,
    trainQueries: train.queries.length,
    candidates: keys,
    tasks: taskNames,
    scenarios: opts.scenarios,
    routers,
    bestSingle,
    oracle: { ...st.oracle, perTask: oraclePerTask },
    singles,
    costRange,
    costMatch: costMatchSummary(test, tasks, bestSingle, keys, {
      m: train,
      tasks: train.queries.map((q) => q.task ?? NO_TASK),
    }),
    ...(pair ? { pair: { strong: keys[pair.strong] as string, weak: keys[pair.weak] as string } } : {}),
  };
}

/** Train and test must list the same candidates in the same order (the router's columns). */
function checkAligned(train: TrainingSet, test: TrainingSet): void {
  const a = train.candidates.map((x) => x.key).join("\n");
  const b = test.candidates.map((x) => x.key).join("\n");
  if (a !== b)
    throw new Error(
      `train and test sets have different candidates (train: ${train.candidates.map((x) => x.key).join(", ")}; test: ${test.candidates.map((x) => x.key).join(", ")})`,
    );
}

/**
 * A router may predict a candidate for which the test data holds no outcome; such a choice cannot be
 * scored, so those predictions are hidden (NaN) and the router chooses among the candidates that were run.
 */
function maskUnknown(pred: Prediction, test: TrainingSet): Prediction {
  const expected = test.queries.length * test.candidates.length;
  if (pred.performance.length !== expected || pred.cost.length !== expected)
    throw new Error(`router predicted ${pred.performance.length} values, expected ${expected} (queries × candidates)`);
  let holes = false;
  for (let k = 0; k < expected; k++) if (Number.isNaN(test.performance[k] as number)) holes = true;
  if (!holes) return pred;
  const performance = Float64Array.from(pred.performance);
  const cost = Float64Array.from(pred.cost);
  for (let k = 0; k < expected; k++)
    if (Number.isNaN(test.performance[k] as number)) {
      performance[k] = Number.NaN;
      cost[k] = Number.NaN;
    }
  return { ...pred, performance, cost };
}

/** The test set as the RoutingTable shape stats.ts reads (it uses candidates, matrices and tasks). */
function asTable(test: TrainingSet, tasks: string[]) {
  const queries: Query[] = test.queries.map((q, i) => ({
    id: String(i),
    dataset: "",
    task: tasks[i] as string,
    text: q.text,
  }));
  return { queries, candidates: test.candidates, performance: test.performance, cost: test.cost };
}

function singlePerTask(test: TrainingSet, j: number, tasks: string[]): Record<string, PerfCost> {
  const c = test.candidates.length;
  const sums = new Map<string, { p: number; k: number; n: number }>();
  tasks.forEach((t, i) => {
    const p = test.performance[i * c + j] as number;
    if (Number.isNaN(p)) return;
    const s = sums.get(t) ?? { p: 0, k: 0, n: 0 };
    s.p += p;
    s.k += test.cost[i * c + j] as number;
    s.n++;
    sums.set(t, s);
  });
  const out: Record<string, PerfCost> = {};
  for (const t of [...sums.keys()].sort()) {
    const s = sums.get(t) as { p: number; k: number; n: number };
    out[t] = { performance: s.p / s.n, cost: s.k / s.n };
  }
  return out;
}

function usage(choices: Int32Array, keys: string[]): Record<string, number> {
  const counts = new Array<number>(keys.length).fill(0);
  for (const j of choices) if (j >= 0) counts[j] = (counts[j] as number) + 1;
  const out: Record<string, number> = {};
  keys.forEach((k, j) => {
    if (counts[j]) out[k] = (counts[j] as number) / choices.length;
  });
  return out;
}

/**
 * RouteLLM's view of a two-model router: the score of a query is the predicted performance gain of the
 * strong model over the weak one (from the router's ranking scores when it gives them); the threshold
 * sweep over it gives APGR and CPT. Queries where either model has no outcome are left out.
 */
function twoModelMetrics(
  test: TrainingSet,
  pred: Prediction,
  pair: { strong: number; weak: number },
): { apgr: number; cpt50: number; cpt80: number; strongCallCurve: CallCurve } | undefined {
  const curve = twoModelCurve(test, pred.rankingScore ?? pred.performance, pair);
  if (!curve) return undefined;
  return { apgr: apgr(curve), cpt50: cpt(curve, 0.5), cpt80: cpt(curve, 0.8), strongCallCurve: curve };
}
