import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { DataError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import { candidateKey } from "../data/types.ts";
import type { Embedder } from "../embed/embedder.ts";
import { createEmbedder } from "../embed/registry.ts";
import { DEFAULT_KNOB, type Knob, learnScales, SCENARIOS, type Scale, type ScalesState } from "./objective.ts";
import { createRouter, type RouterParams } from "./registry.ts";
import type { CandidateInfo, Prediction, Router, RouterArtifact, TrainingSet } from "./router.ts";

/** A fitted router with everything needed to use it: what `loadArtifactRouter` returns. */
export interface LoadedArtifact {
  router: Router;
  /** Registry name the router was created with. */
  name: string;
  params: RouterParams;
  scales: ScalesState;
  knob: Knob;
  embedder: string;
  /** Candidate keys in column order. */
  candidates: string[];
  candidateInfo: CandidateInfo[];
  trainedAt: string;
  /** Where it came from (file path or store id), for messages. */
  source: string;
}

export interface TrainOptions {
  params?: RouterParams;
  knob?: Knob;
  /** Name of the embedder the training set's query embeddings came from. */
  embedder: string;
}

/** Create a router by name, fit it on the training set, learn the objective's scales: a ready artifact. */
export function trainRouter(name: string, data: TrainingSet, o: TrainOptions): LoadedArtifact {
  if (data.queries.length === 0) throw new DataError(null, null, "the training set has no queries");
  const router = createRouter(name, o.params ?? {});
  router.fit(data);
  return fittedArtifact(name, router, data, o);
}

/** The artifact of a router already fitted on `data` (e.g. by an evaluation): its scales learned from the same data. */
export function fittedArtifact(name: string, router: Router, data: TrainingSet, o: TrainOptions): LoadedArtifact {
  return {
    router,
    name,
    params: o.params ?? {},
    scales: learnScales(
      data.queries.map((q) => q.task),
      data.performance,
      data.cost,
      data.candidates.length,
    ),
    knob: o.knob ?? DEFAULT_KNOB,
    embedder: o.embedder,
    candidates: data.candidates.map((c) => c.key),
    candidateInfo: data.candidates,
    trainedAt: new Date().toISOString(),
    source: `trained ${name}`,
  };
}

export function toArtifact(l: LoadedArtifact): RouterArtifact {
  return {
    format: "fusionkit-router",
    version: 1,
    router: l.name,
    params: l.params,
    embedder: l.embedder,
    candidates: l.candidateInfo,
    knob: l.knob,
    scales: l.scales,
    state: l.router.state(),
    trainedAt: l.trainedAt,
  };
}

/** Write atomically (temp file + rename): an interrupted save never leaves a half-written artifact. */
export function saveRouter(l: LoadedArtifact, path: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(toArtifact(l)));
  renameSync(tmp, path);
}

function fail(source: string, field: string | null, problem: string): never {
  throw new DataError({ file: source, line: 1 }, field, problem);
}

function validKnob(k: unknown): k is Knob {
  if (!k || typeof k !== "object") return false;
  if ("lambda" in k) return typeof k.lambda === "number" && Number.isFinite(k.lambda) && k.lambda >= 0;
  return "scenario" in k && typeof k.scenario === "string" && k.scenario in SCENARIOS;
}

/** Candidates are distinct, each key is its model and mode under FusionBench's naming, prices are ≥ 0 or absent. */
function checkCandidates(candidates: readonly CandidateInfo[], source: string): void {
  const seen = new Set<string>();
  candidates.forEach((c, i) => {
    const field = `candidates[${i}]`;
    if (typeof c.model !== "string" || (c.mode !== "direct" && c.mode !== "think"))
      fail(source, field, 'expected {key, model, mode: "direct"|"think"}');
    if (c.key !== candidateKey(c.model, c.mode))
      fail(source, `${field}.key`, `"${c.key}" is not the key of model "${c.model}" in mode ${c.mode}`);
    if (seen.has(c.key)) fail(source, `${field}.key`, `candidate "${c.key}" is listed twice`);
    seen.add(c.key);
    for (const price of ["inputPrice", "outputPrice"] as const) {
      const v = c[price];
      if (v !== null && v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0))
        fail(source, `${field}.${price}`, `expected a price ≥ 0 in USD per 1M tokens or null, got ${String(v)}`);
    }
  });
  if (candidates.length === 0) fail(source, "candidates", "the artifact lists no candidates");
}

/** Every min–max range is finite and ordered (an inverted or NaN range would turn the objective into noise). */
function checkScales(scales: unknown, source: string): asserts scales is ScalesState {
  const s = scales as Partial<ScalesState> | null;
  if (!s || typeof s !== "object" || !s.global || typeof s.perTask !== "object" || s.perTask === null)
    fail(source, "scales", "expected {global, perTask} min–max scales");
  const check = (scale: Scale, field: string) => {
    for (const [lo, hi] of [
      ["perfMin", "perfMax"],
      ["costMin", "costMax"],
    ] as const) {
      const a = scale?.[lo];
      const b = scale?.[hi];
      if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || !Number.isFinite(b) || a > b)
        fail(source, `${field}.${lo}`, `expected finite ${lo} ≤ ${hi}, got ${String(a)} and ${String(b)}`);
    }
  };
  check(s.global, "scales.global");
  for (const [task, scale] of Object.entries(s.perTask)) check(scale, `scales.perTask.${task}`);
}

/**
 * Predict once for a unit query vector of the embedder's dimension: a state fitted with another embedder or for
 * another candidate list fails here, at load, instead of on every routed request. Skipped when the embedder's
 * dimension is only known after its first call (an OpenAI-compatible endpoint).
 */
function probe(router: Router, embedder: Embedder, nCandidates: number, source: string): void {
  if (embedder.dim === 0) return;
  const embedding = new Float32Array(embedder.dim);
  embedding[0] = 1;
  let pred: Prediction;
  try {
    pred = router.predict([{ text: "", embedding, task: null, domain: null }]);
  } catch (e) {
    fail(
      source,
      "embedder",
      `the router state does not fit embedder "${embedder.name}" (${embedder.dim} dimensions): ${(e as Error).message}`,
    );
  }
  if (pred.performance.length !== nCandidates || pred.cost.length !== nCandidates)
    fail(
      source,
      "candidates",
      `the router state predicts ${pred.performance.length} candidates, the artifact lists ${nCandidates}`,
    );
}

function knownEmbedder(spec: string): Embedder | null {
  try {
    return createEmbedder(spec);
  } catch {
    return null;
  }
}

/** The embedder a loaded artifact was trained with; an unknown one is an error naming the artifact and field. */
export function artifactEmbedder(l: LoadedArtifact): Embedder {
  try {
    return createEmbedder(l.embedder);
  } catch (e) {
    fail(l.source, "embedder", (e as Error).message);
  }
}

/** Check an artifact's envelope and restore its router; errors name the source and the field. */
export function fromArtifact(raw: unknown, source: string): LoadedArtifact {
  const a = raw as Partial<RouterArtifact> | null;
  if (!a || typeof a !== "object" || a.format !== "fusionkit-router")
    fail(source, "format", 'not a FusionKit router artifact (expected format "fusionkit-router")');
  if (a.version !== 1)
    fail(source, "version", `unsupported artifact version ${String(a.version)} (this build reads 1)`);
  if (typeof a.router !== "string") fail(source, "router", "missing router name");
  if (typeof a.embedder !== "string") fail(source, "embedder", "missing embedder name");
  if (!Array.isArray(a.candidates) || a.candidates.some((c) => typeof c?.key !== "string"))
    fail(source, "candidates", "expected a list of candidates with keys");
  checkCandidates(a.candidates, source);
  if (!validKnob(a.knob)) fail(source, "knob", "expected {scenario} or {lambda ≥ 0}");
  checkScales(a.scales, source);
  const params = (a.params ?? {}) as RouterParams;
  let router: Router;
  try {
    router = createRouter(a.router, params);
  } catch (e) {
    fail(source, "router", (e as Error).message);
  }
  try {
    router.restore(a.state, a.candidates);
  } catch (e) {
    fail(source, "state", (e as Error).message);
  }
  // An embedder this build cannot create (e.g. a test's own) cannot be probed; using it fails in artifactEmbedder.
  const embedder = knownEmbedder(a.embedder);
  if (embedder) probe(router, embedder, a.candidates.length, source);
  return {
    router,
    name: a.router,
    params,
    scales: a.scales,
    knob: a.knob,
    embedder: a.embedder,
    candidates: a.candidates.map((c) => c.key),
    candidateInfo: a.candidates,
    trainedAt: a.trainedAt ?? "",
    source,
  };
}

/** Load a router artifact file written by `saveRouter` (in this or any other process). */
export function loadRouter(path: string): LoadedArtifact {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DataError({ file: path, line: 1 }, null, `cannot read router artifact: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(path, null, `not valid JSON (${(e as Error).message})`);
  }
  return fromArtifact(raw, path);
}

/** The name the evaluation and gateway code use. */
export const loadArtifactRouter = loadRouter;

/** Keep a copy of an artifact in the store under an id (replacing an older one with the same id). */
export function saveRouterToStore(store: Store, id: string, l: LoadedArtifact): void {
  store.db
    .prepare(
      "INSERT OR REPLACE INTO router_artifacts (id, router, embedder, trained_at, artifact) VALUES (?, ?, ?, ?, ?)",
    )
    .run(id, l.name, l.embedder, l.trainedAt, JSON.stringify(toArtifact(l)));
}

/** Ids of the artifacts kept in the store, optionally only those of one router. */
export function storedRouterIds(store: Store, router?: string): string[] {
  const rows = store.db
    .prepare<[], { id: string; router: string }>("SELECT id, router FROM router_artifacts ORDER BY id")
    .all();
  return rows.filter((r) => router === undefined || r.router === router).map((r) => r.id);
}

export function loadRouterFromStore(store: Store, id: string): LoadedArtifact {
  const row = store.db
    .prepare<[string], { artifact: string }>("SELECT artifact FROM router_artifacts WHERE id = ?")
    .get(id);
  const source = `${store.path}#router_artifacts/${id}`;
  if (!row) throw new DataError(null, null, `no router artifact "${id}" in ${store.path}`);
  return fromArtifact(JSON.parse(row.artifact), source);
}

/** Ids of the routers saved in the store, newest first (`fusionkit train` saves `<dataset>/<router>`). */
export function savedRouterIds(store: Store): string[] {
  return store.db
    .prepare<[], { id: string }>("SELECT id FROM router_artifacts ORDER BY trained_at DESC, id")
    .all()
    .map((r) => r.id);
}
