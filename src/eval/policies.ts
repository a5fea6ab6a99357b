import { runRecorded } from "../routing/cascade.ts";
import { SCENARIOS, type Scenario } from "../routing/objective.ts";
import { type Policy, type PolicyData, type PolicyPoint, recordedView, type StopReason } from "../routing/policy.ts";
import type { TrainingSet } from "../routing/router.ts";
import { subset } from "../routing/tuning.ts";
import { bestWithinBudget, COST_RATIO_TARGET, cheapestMatch } from "./cost-match.ts";
import type { FrontierPoint, RouterResult } from "./evaluate.ts";
import { compareTasks, gapClosed, groupRows, minMax, type PerfCost, type RowRanges } from "./metrics.ts";

/**
 * Evaluation of multi-call policies from recorded responses, in the same terms as routers (one
 * RouterResult per scenario): the accepted answer's recorded performance, the cost of every call made,
 * the frontier over the policy's λ grid. Scenarios map to the policy's operating points, each chosen by
 * cross-validation inside train: performance-first → the best out-of-fold performance, balance → the best
 * at no more than the train best single model's cost, cost-first → the cheapest matching that model.
 */

export const POINT_OF_SCENARIO: Record<Scenario, PolicyPoint> = {
  "performance-first": "max-performance",
  balance: "within-cost",
  "cost-first": "match-best",
  "llm-judge": "max-performance",
};

/** Figures only a multi-call policy has. */
export interface PolicyFigures {
  /** The operating point the scenario maps to, and its λ. */
  point: PolicyPoint;
  lambda: number;
  /** Mean calls per query and mean sequential stages per query. */
  meanCalls: number;
  meanStages: number;
  /** Mean wall time per query when every call takes `perCallLatencyMs` (stages run one after another). */
  stageLatencyMs: number;
  perCallLatencyMs: number;
  /** Share of queries by why the answer was accepted. */
  stopReasons: Partial<Record<StopReason, number>>;
}

/** Stage latency is reported for this per-call latency unless told otherwise (a typical LLM answer). */
export const DEFAULT_CALL_LATENCY_MS = 1000;

export function isPolicyData(d: TrainingSet): d is PolicyData {
  return "agreement" in d && (d as PolicyData).agreement !== undefined;
}

export interface PolicyEntry {
  name: string;
  create: () => Policy;
}

/** A PolicyData restricted to some rows (agreement rows follow). */
export function policySubset(data: PolicyData, rows: readonly number[]): PolicyData {
  const c = data.candidates.length;
  const cc = c * c;
  const similarity = new Float32Array(rows.length * cc);
  rows.forEach((r, i) => {
    similarity.set(data.agreement.similarity.subarray(r * cc, (r + 1) * cc), i * cc);
  });
  return {
    ...subset(data, rows),
    agreement: {
      kinds: rows.map((r) => data.agreement.kinds[r] as PolicyData["agreement"]["kinds"][number]),
      similarity,
    },
  };
}

interface Replay {
  performance: Float64Array;
  cost: Float64Array;
  accepted: Int32Array;
  calls: number;
  stages: number;
  reasons: Map<StopReason, number>;
}

/** Run a fitted policy at λ index k on every recorded test row. */
export function replayPolicy(policy: Policy, test: PolicyData, k: number): Replay {
  const n = test.queries.length;
  const c = test.candidates.length;
  const out: Replay = {
    performance: new Float64Array(n),
    cost: new Float64Array(n),
    accepted: new Int32Array(n),
    calls: 0,
    stages: 0,
    reasons: new Map(),
  };
  policy.plans(test.queries, k).forEach(({ plan, weights }, i) => {
    const view = recordedView(test.agreement, c, i);
    const has = (j: number) => !Number.isNaN(test.performance[i * c + j] as number);
    const r = runRecorded(plan, view, weights, has, test.performance, test.cost, i, c);
    out.performance[i] = r.performance;
    out.cost[i] = r.cost;
    out.accepted[i] = r.accepted;
    out.calls += r.calls;
    out.stages += r.stages;
    if (r.reason) out.reasons.set(r.reason, (out.reasons.get(r.reason) ?? 0) + 1);
  });
  return out;
}

function mean(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x;
  return v.length ? s / v.length : Number.NaN;
}

export interface PolicyEvalContext {
  scenarios: Scenario[];
  tasks: string[];
  ranges: RowRanges;
  bestSingle: PerfCost & { perTask: Record<string, PerfCost> };
  oraclePerformance: number;
  keys: string[];
  perCallLatencyMs: number;
}

/** Fit a policy on train and score it on test: one result per scenario, plus the points for its AIQ. */
export function evaluatePolicy(
  train: PolicyData,
  test: PolicyData,
  entry: PolicyEntry,
  ctx: PolicyEvalContext,
): Array<Omit<RouterResult, "aiq"> & { aiqPoints: FrontierPoint[]; policy: PolicyFigures }> {
  const policy = entry.create();
  const t0 = performance.now();
  policy.fit(train);
  const fitSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const lambdas = policy.lambdas();
  const replays = lambdas.map((_, k) => replayPolicy(policy, test, k));
  const predictSeconds = (performance.now() - t1) / 1000;
  const frontier: FrontierPoint[] = replays.map((r, k) => ({
    lambda: lambdas[k] as number,
    cost: mean(r.cost),
    performance: mean(r.performance),
  }));
  const matchBestSingle = cheapestMatch(frontier, ctx.bestSingle);
  const atBudget = bestWithinBudget(frontier, COST_RATIO_TARGET * ctx.bestSingle.cost);
  const n = test.queries.length;
  return ctx.scenarios.map((scenario) => {
    const point = POINT_OF_SCENARIO[scenario];
    const k = policy.point(point);
    const r = replays[k] as Replay;
    const perf = mean(r.performance);
    const cost = mean(r.cost);
    const perTask: Record<string, PerfCost & { queries: number }> = {};
    for (const [task, rows] of groupRows(ctx.tasks)) {
      let p = 0;
      let q = 0;
      for (const i of rows) {
        p += r.performance[i] as number;
        q += r.cost[i] as number;
      }
      perTask[task] = { performance: p / rows.length, cost: q / rows.length, queries: rows.length };
    }
    const cmp = compareTasks(perTask, ctx.bestSingle.perTask);
    const { alpha, beta } = SCENARIOS[scenario];
    let reward = 0;
    for (let i = 0; i < n; i++)
      reward +=
        alpha * minMax(r.performance[i] as number, ctx.ranges.perfMin[i] as number, ctx.ranges.perfMax[i] as number) -
        beta * minMax(r.cost[i] as number, ctx.ranges.costMin[i] as number, ctx.ranges.costMax[i] as number);
    const usage: Record<string, number> = {};
    for (const j of r.accepted) if (j >= 0) usage[ctx.keys[j] as string] = (usage[ctx.keys[j] as string] ?? 0) + 1 / n;
    const meanStages = r.stages / n;
    return {
      name: entry.name,
      scenario,
      performance: perf,
      cost,
      reward: reward / n,
      gapClosed: gapClosed(perf, ctx.bestSingle.performance, ctx.oraclePerformance),
      frontier,
      matchBestSingle,
      atBudget,
      costRatio: cost / ctx.bestSingle.cost,
      aiqPoints: frontier,
      perTask,
      beatsBestSingleOn: cmp.beats,
      losesOn: cmp.loses,
      tiesOn: cmp.ties,
      usage,
      fitSeconds,
      predictSeconds,
      source: "trained",
      policy: {
        point,
        lambda: lambdas[k] as number,
        meanCalls: r.calls / n,
        meanStages,
        stageLatencyMs: meanStages * ctx.perCallLatencyMs,
        perCallLatencyMs: ctx.perCallLatencyMs,
        stopReasons: Object.fromEntries([...r.reasons].map(([why, count]) => [why, count / n])),
      },
    };
  });
}
