import { stratifiedFolds } from "../routing/math.ts";
import type { Scenario } from "../routing/objective.ts";
import type { Router, TrainingSet } from "../routing/router.ts";
import { subset } from "../routing/tuning.ts";
import { Rng } from "../util/prng.ts";
import { evaluateRouters } from "./evaluate.ts";
import { type PerfCost, pooledMeans } from "./metrics.ts";
import { isPolicyData, type PolicyEntry, policySubset } from "./policies.ts";

/**
 * K-fold cross-validation on the train split: the one loop every held-out comparison inside train uses
 * (`fusionkit eval --cv`, and any evaluator of routers or multi-call policies). Folds are stratified by
 * task and seeded. Whatever a router tunes happens inside its `fit` on the training folds only, so a
 * router's CV score is nested by construction: the held fold never informs a setting.
 */

export const DEFAULT_CV_FOLDS = 5;
export const DEFAULT_CV_SEED = 42;

export interface CvOptions {
  folds: number;
  seed: number;
}

/** One fold: rows of the full set it trains on and the rows it holds out. */
export interface Fold {
  index: number;
  trainRows: number[];
  heldRows: number[];
}

/** The K folds of a training set (stratified by task, seeded). */
export function cvFolds(data: TrainingSet, o: CvOptions): Fold[] {
  const n = data.queries.length;
  if (n < o.folds) throw new Error(`${o.folds}-fold cross-validation needs at least ${o.folds} queries, got ${n}`);
  const fold = stratifiedFolds(
    data.queries.map((q) => q.task),
    o.folds,
    new Rng(o.seed),
  );
  return Array.from({ length: o.folds }, (_, f) => {
    const trainRows: number[] = [];
    const heldRows: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? heldRows : trainRows).push(i);
    return { index: f, trainRows, heldRows };
  });
}

/** Run `run` once per fold on (training folds, held fold) and return its results in fold order. */
export function crossValidate<T>(
  data: TrainingSet,
  o: CvOptions,
  run: (train: TrainingSet, held: TrainingSet, fold: Fold) => T,
): T[] {
  // Recorded answers (multi-call policies) follow their rows.
  const select = isPolicyData(data)
    ? (rows: number[]) => policySubset(data, rows)
    : (rows: number[]) => subset(data, rows);
  return cvFolds(data, o).map((f) => run(select(f.trainRows), select(f.heldRows), f));
}

/** A figure over folds: mean, sample standard deviation and the per-fold values (NaN folds skipped). */
export interface Spread {
  mean: number;
  sd: number;
  folds: number[];
}

export function spread(values: readonly number[]): Spread {
  const ok = values.filter((v) => Number.isFinite(v));
  const mean = ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : Number.NaN;
  const sd = ok.length > 1 ? Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1)) : Number.NaN;
  return { mean, sd, folds: [...values] };
}

/** The headline figures of one (router, scenario) over the folds. */
export interface CvRouterResult {
  name: string;
  scenario: Scenario;
  performance: Spread;
  cost: Spread;
  reward: Spread;
  gapClosed: Spread;
  aiq: Spread;
  /** Seconds each fold's fit took (wall clock, on the training folds). */
  fitSeconds: Spread;
  /** Over all held-out queries together (fold means weighted by fold size). */
  pooled: { performance: number; cost: number };
  apgr?: Spread;
  cpt50?: Spread;
  cpt80?: Spread;
}

export interface CvResult {
  folds: number;
  seed: number;
  /** Train queries cross-validated (each is held out exactly once). */
  queries: number;
  routers: CvRouterResult[];
  bestSingle: Spread;
  /** The best single model of each held-out fold, over all held-out queries together. */
  pooledBestSingle: { performance: number; cost: number };
  oracle: Spread;
}

export interface CvEntry {
  name: string;
  create: () => Router;
}

/**
 * Cross-validate routers on a training set: per fold, every router is fitted on the training folds and
 * scored on the held fold with the same evaluation as the test split (evaluate.ts); the figures are
 * then summarised as mean ± sd over folds.
 */
export function crossValidateRouters(
  data: TrainingSet,
  entries: CvEntry[],
  o: CvOptions & {
    scenarios: Scenario[];
    log?: (line: string) => void;
    policies?: PolicyEntry[];
    perCallLatencyMs?: number;
  },
): CvResult {
  const perFold = crossValidate(data, o, (train, held, fold) => {
    o.log?.(
      `cross-validation fold ${fold.index + 1}/${o.folds}: train ${train.queries.length}, held out ${held.queries.length}`,
    );
    return evaluateRouters(train, held, entries, {
      scenarios: o.scenarios,
      split: `fold ${fold.index + 1}`,
      policies: o.policies,
      perCallLatencyMs: o.perCallLatencyMs,
    });
  });
  const first = perFold[0];
  if (!first) throw new Error("cross-validation ran no fold");
  const sizes = perFold.map((f) => f.queries);
  const routers = first.routers.map((r, k): CvRouterResult => {
    const rows = perFold.map((f) => f.routers[k]);
    const figure = (get: (x: (typeof rows)[number]) => number | undefined) =>
      spread(rows.map((x) => get(x) ?? Number.NaN));
    const two = r.apgr !== undefined;
    return {
      name: r.name,
      scenario: r.scenario,
      performance: figure((x) => x.performance),
      cost: figure((x) => x.cost),
      reward: figure((x) => x.reward),
      gapClosed: figure((x) => x.gapClosed),
      aiq: figure((x) => x.aiq),
      fitSeconds: figure((x) => x.fitSeconds),
      pooled: pooledMeans(rows.map((x, f) => ({ ...(x as PerfCost), n: sizes[f] as number }))),
      ...(two ? { apgr: figure((x) => x.apgr), cpt50: figure((x) => x.cpt50), cpt80: figure((x) => x.cpt80) } : {}),
    };
  });
  return {
    folds: o.folds,
    seed: o.seed,
    queries: data.queries.length,
    routers,
    bestSingle: spread(perFold.map((f) => f.bestSingle.performance)),
    pooledBestSingle: pooledMeans(perFold.map((f) => ({ ...f.bestSingle, n: f.queries }))),
    oracle: spread(perFold.map((f) => f.oracle.performance)),
  };
}
