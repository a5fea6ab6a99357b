import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { GATEWAY_DATASET, resolveDataset } from "../data/datasets.ts";
import { Store } from "../data/store.ts";
import {
  artifactEmbedder,
  type LoadedArtifact,
  loadRouter,
  loadRouterFromStore,
  saveRouterToStore,
  toArtifact,
  trainRouter,
} from "../routing/artifacts.ts";
import { buildMergedTrainingSet } from "../routing/dataset.ts";
import { type Knob, rank, rowsUnderKnob, scaleFor } from "../routing/objective.ts";
import type { RouteQuery } from "../routing/router.ts";
import { subset } from "../routing/tuning.ts";
import { decide, type HeldOutRow, retrainRows, scoreHeldOut } from "./heldout.ts";
import { type RetrainRecord, recordRetrain, retrainRecords } from "./retrains.ts";

/**
 * One background retrain of a served router (run in a worker thread by retrainer.ts, so requests never wait
 * for it): train the live router's kind, parameters and knob on its training data merged with the gateway's
 * labelled traffic — the same training set as `fusionkit train --dataset <data>,gateway` — except the
 * held-back share, score the retrained and the live router on that share, and record the decision; a swap
 * also saves the retrained artifact in the store under a new id.
 */
export interface RetrainJob {
  /** The SQLite store: routing data, labelled traffic (dataset "gateway"), saved routers, the decision table. */
  db: string;
  /** The router as the gateway's settings name it (file or store id). */
  base: string;
  /** The artifact serving in its place now (base, or the latest swap). */
  live: string;
  /** The knob fusionkit/auto routes with (null: the live artifact's own): the objective both routers are scored by. */
  knob: Knob | null;
  /** Models the gateway serves (the providers'): routers rank only these. */
  served: string[];
  /** Share of labelled queries held back from training, for the comparison. */
  holdout: number;
  /** Labelled exchanges in the store now. */
  labels: number;
}

export async function runRetrain(job: RetrainJob): Promise<RetrainRecord> {
  const t0 = performance.now();
  const store = new Store(job.db);
  try {
    const live = existsSync(job.live) ? loadRouter(job.live) : loadRouterFromStore(store, job.live);
    const datasets = [...trainingDatasets(store, job), GATEWAY_DATASET];
    if (!store.datasets().includes(GATEWAY_DATASET))
      throw new Error("no labelled gateway traffic in the store yet (POST /v1/feedback labels exchanges)");
    const knob = job.knob ?? live.knob;
    const embedder = artifactEmbedder(live);
    // The training set of `fusionkit train --dataset <data>,gateway`.
    const merged = await buildMergedTrainingSet(store, datasets, { split: "train", embedder });
    const gatewayIds = new Set(store.queries({ dataset: GATEWAY_DATASET }).map((q) => q.id));
    const { trainRows, heldRows } = retrainRows(
      merged.queryIds.map((id, i) => ({ id, text: (merged.queries[i] as RouteQuery).text })),
      gatewayIds,
      job.holdout,
    );
    const candidate = trainRouter(live.name, subset(merged, trainRows), {
      params: live.params,
      knob: live.knob,
      embedder: merged.embedder,
    });
    const held = heldRows.map((i) => merged.queries[i]);
    const c = merged.candidates.length;
    const rows: HeldOutRow[] = heldRows.map((i) => ({
      performance: merged.performance.subarray(i * c, (i + 1) * c),
      cost: merged.cost.subarray(i * c, (i + 1) * c),
    }));
    const column = new Map(merged.candidates.map((k, j) => [k.key, j]));
    const served = new Set(job.served);
    const scores = scoreHeldOut(
      rows,
      gatewayChoices(live, held, knob, served, column),
      gatewayChoices(candidate, held, knob, served, column),
      knob,
      scaleFor(live.scales, null),
    );
    const verdict = decide(scores);
    const json = JSON.stringify(toArtifact(candidate));
    const sha = createHash("sha256").update(json).digest("hex");
    const id = verdict.swap ? retrainedId(store, job.base, datasets, live.name) : null;
    const record: RetrainRecord = {
      at: new Date().toISOString(),
      base: job.base,
      live: job.live,
      router: live.name,
      datasets: datasets.join(","),
      decision: verdict.swap ? "swap" : "keep",
      reason: verdict.reason,
      labels: job.labels,
      trainQueries: trainRows.length,
      heldoutQueries: scores.queries,
      compared: scores.compared,
      liveScore: scores.live,
      candidateScore: scores.candidate,
      artifact: id,
      artifactSha256: sha,
      seconds: (performance.now() - t0) / 1000,
    };
    // The artifact and its decision are written together: a swap is never recorded without its router.
    store.db.transaction(() => {
      if (id) saveRouterToStore(store, id, candidate);
      recordRetrain(store.db, record);
    })();
    return record;
  } finally {
    store.close();
  }
}

/**
 * The datasets the live router learned from, besides the gateway's labels: named by its store id
 * (`fusionkit train` saves `<a>+<b>/<router>`; a retrain `<a>+gateway/<router>@retrain-<n>`), else the
 * store's default dataset (the first imported).
 */
function trainingDatasets(store: Store, job: RetrainJob): string[] {
  const have = new Set(store.datasets());
  for (const spec of [job.live, job.base]) {
    const slash = spec.indexOf("/");
    if (slash <= 0 || existsSync(spec)) continue;
    const named = spec
      .slice(0, slash)
      .split("+")
      .filter((d) => d !== GATEWAY_DATASET);
    if (named.length && named.every((d) => have.has(d))) return named;
  }
  return [resolveDataset(store, undefined)];
}

/** A new store id per swap, so every router that ever served stays loadable: `<datasets>/<router>@retrain-<n>`. */
function retrainedId(store: Store, base: string, datasets: string[], router: string): string {
  const n = retrainRecords(store.db, base).length + 1;
  return `${datasets.join("+")}/${router}@retrain-${n}`;
}

/**
 * The column each query goes to as the gateway would route it (no task given, only configured models, the
 * router's own ranking of its predictions under the knob: rowsUnderKnob, as virtual.ts), in the held-back
 * set's columns; −1 when none is scorable.
 */
export function gatewayChoices(
  art: LoadedArtifact,
  queries: RouteQuery[],
  knob: Knob,
  served: ReadonlySet<string>,
  column: ReadonlyMap<string, number>,
): Int32Array {
  const out = new Int32Array(queries.length).fill(-1);
  if (!queries.length) return out;
  const pred = art.router.predict(
    queries.map((q) => ({ text: q.text, embedding: q.embedding, task: null, domain: null })),
  );
  const scale = scaleFor(art.scales, null);
  rowsUnderKnob(pred, knob, art.candidateInfo.length).forEach((row, i) => {
    const top = rank(row, art.candidateInfo, knob, scale).find((r) => served.has(r.model));
    out[i] = top ? (column.get(top.key) ?? -1) : -1;
  });
  return out;
}
