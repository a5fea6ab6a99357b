import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import type { Split } from "../data/types.ts";
import type { Embedder } from "../embed/embedder.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../routing/dataset.ts";
import type { ScalesState, Scenario } from "../routing/objective.ts";
import type { Policy } from "../routing/policy.ts";
import { buildPolicyData } from "../routing/policy-data.ts";
import type { Router } from "../routing/router.ts";
import { type CvOptions, crossValidateRouters } from "./cv.ts";
import { evaluateRouters, type RouterEntry } from "./evaluate.ts";
import type { PolicyEntry } from "./policies.ts";
import type { EvalRun } from "./runs.ts";

/** A router loaded from an artifact: fitted, with the scales and embedder it was trained with. */
export interface LoadedRouter {
  /** Registry name the router was created with. */
  name: string;
  router: Router;
  scales: ScalesState;
  embedder: string;
  candidates: string[];
  source: string;
}

export interface RunEvaluationOptions {
  store: Store;
  dataset: string;
  /** Split scored (routers always train on "train"). */
  split: Split;
  embedder: Embedder;
  /** Router names to train, each made by `create`. */
  routers: string[];
  create: (name: string) => Router;
  /** Already-fitted routers (from artifacts) to score as they are. */
  loaded?: LoadedRouter[];
  scenarios: Scenario[];
  /** Multi-call policies to fit on train and replay on the split's recorded responses. */
  policies?: string[];
  createPolicy?: (name: string) => Policy;
  /** Per-call latency (ms) for the policies' stage latency. */
  perCallLatencyMs?: number;
  /** Also cross-validate the trained routers on the train split (K folds) before scoring the split once. */
  cv?: CvOptions;
  log?: (line: string) => void;
}

/**
 * Load the train and evaluation splits of a dataset from the store (same candidate columns, embeddings
 * from the store's cache) and evaluate the routers: the one path both `fusionkit eval` and the demo take.
 */
export async function runEvaluation(o: RunEvaluationOptions): Promise<EvalRun> {
  const candidates = datasetCandidateKeys(o.store, o.dataset);
  for (const l of o.loaded ?? []) {
    if (l.embedder !== o.embedder.name)
      throw new UsageError(
        `${l.source} was trained with embedder "${l.embedder}" but the evaluation embeds with "${o.embedder.name}"; pass --embedder ${l.embedder}`,
      );
    if (l.candidates.join("\n") !== candidates.join("\n"))
      throw new UsageError(
        `${l.source} routes between ${l.candidates.join(", ")}, but dataset "${o.dataset}" has ${candidates.join(", ")}`,
      );
  }
  const entries: RouterEntry[] = [
    ...o.routers.map((name) => ({ name, create: () => o.create(name) })),
    ...(o.loaded ?? []).map((l) => ({ name: l.name, fitted: l.router, scales: l.scales, source: l.source })),
  ];
  const policyNames = o.policies ?? [];
  const makePolicy = o.createPolicy;
  if (policyNames.length && !makePolicy) throw new Error("runEvaluation: policies named without createPolicy");
  const policies: PolicyEntry[] = policyNames.map((name) => ({
    name,
    create: () => (makePolicy as (n: string) => Policy)(name),
  }));
  if (entries.length === 0 && policies.length === 0) throw new UsageError("no routers to evaluate");
  for (const split of new Set<Split>(["train", o.split]))
    if (o.store.queries({ dataset: o.dataset, split }).length === 0)
      throw new UsageError(
        `dataset "${o.dataset}" has no ${split} queries in ${o.store.path}; assign a split with "fusionkit split --dataset ${o.dataset}"`,
      );
  o.log?.(`${o.dataset}: loading train and ${o.split} splits (embedder ${o.embedder.name})…`);
  const train = await buildTrainingSet(o.store, {
    dataset: o.dataset,
    split: "train",
    embedder: o.embedder,
    candidates,
  });
  const test = await buildTrainingSet(o.store, {
    dataset: o.dataset,
    split: o.split,
    embedder: o.embedder,
    candidates,
  });
  // Policies read the recorded answers: extract and compare them once per split.
  const withAnswers = policies.length > 0;
  if (withAnswers) {
    const answered = o.store.db
      .prepare<[string], { n: number }>(
        "SELECT COUNT(*) AS n FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE q.dataset = ? AND o.response IS NOT NULL AND o.response <> ''",
      )
      .get(o.dataset);
    if (!answered?.n)
      throw new UsageError(
        `--policies: dataset "${o.dataset}" has no recorded responses; multi-call policies are evaluated by replaying the answers models gave (import data with responses, e.g. RouteProfile, NQ or RouterBench)`,
      );
  }
  const trainSet = withAnswers ? await buildPolicyData(o.store, train, { dataset: o.dataset, split: "train" }) : train;
  const testSet = withAnswers ? await buildPolicyData(o.store, test, { dataset: o.dataset, split: o.split }) : test;
  const cv = o.cv
    ? crossValidateRouters(
        trainSet,
        o.routers.map((name) => ({ name, create: () => o.create(name) })),
        { ...o.cv, scenarios: o.scenarios, log: o.log, policies, perCallLatencyMs: o.perCallLatencyMs },
      )
    : undefined;
  const result = evaluateRouters(trainSet, testSet, entries, {
    scenarios: o.scenarios,
    split: o.split,
    log: o.log,
    policies,
    perCallLatencyMs: o.perCallLatencyMs,
  });
  return { ...result, ...(cv ? { cv } : {}), queryIds: test.queryIds };
}
