import type { Store } from "../data/store.ts";
import { loadRoutingTable } from "../data/table.ts";
import { domainOfTask } from "../data/tasks.ts";
import { candidateKey, type Mode, parseCandidateKey, type Split } from "../data/types.ts";
import { cached } from "../embed/cache.ts";
import type { Embedder } from "../embed/embedder.ts";
import type { CandidateInfo, RouteQuery, TrainingSet } from "./router.ts";

export interface TrainingSetOptions {
  /** Dataset in the store; all data when omitted. */
  dataset?: string;
  /** Split to load; all queries when omitted. */
  split?: Split;
  /** Embedder for the query texts; wrapped with the store's embedding cache. */
  embedder: Embedder;
  /**
   * Candidate keys (columns) in order. Default: every candidate with an outcome anywhere in the dataset,
   * sorted, so the train and test sets of one dataset always have the same columns.
   */
  candidates?: string[];
}

/** A TrainingSet plus where its rows came from. */
export interface StoreTrainingSet extends TrainingSet {
  queryIds: string[];
  embedder: string;
  /** Embedding of each candidate's model description (same embedder), null where the store has none. */
  descriptionEmbeddings: (Float32Array | null)[];
}

/** Every (model, mode) with an outcome in the dataset, as sorted candidate keys. */
export function datasetCandidateKeys(store: Store, dataset?: string): string[] {
  const rows = store.db
    .prepare<unknown[], { model: string; mode: Mode }>(
      `SELECT DISTINCT o.model, o.mode FROM outcomes o JOIN queries q ON q.id = o.query_id ${dataset ? "WHERE q.dataset = ?" : ""}`,
    )
    .all(...(dataset ? [dataset] : []));
  return rows.map((r) => candidateKey(r.model, r.mode)).sort();
}

/** Only the outcomes that carry an LLM-judge score (most data has none: no need to read every outcome again). */
function judgeScores(
  store: Store,
  dataset: string | undefined,
  split: Split | undefined,
): Array<{ query_id: string; model: string; mode: Mode; judge: number }> {
  const where = ["o.judge IS NOT NULL"];
  const params: string[] = [];
  if (dataset) {
    where.push("q.dataset = ?");
    params.push(dataset);
  }
  if (split) {
    where.push("q.split = ?");
    params.push(split);
  }
  return store.db
    .prepare<string[], { query_id: string; model: string; mode: Mode; judge: number }>(
      `SELECT o.query_id, o.model, o.mode, o.judge FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE ${where.join(" AND ")}`,
    )
    .all(...params);
}

/** Candidate descriptions for routers: key, model, mode, prices and description from the store's models. */
export function candidateInfos(store: Store, keys: string[]): CandidateInfo[] {
  const models = new Map(store.models().map((m) => [m.name, m]));
  return keys.map((key) => {
    const { model, mode } = parseCandidateKey(key);
    const m = models.get(model);
    return {
      key,
      model,
      mode,
      inputPrice: m?.inputPrice ?? null,
      outputPrice: m?.outputPrice ?? null,
      description: m?.description ?? null,
    };
  });
}

/**
 * The routers' view of stored routing data: candidates with prices and descriptions, queries with their
 * (cached) embeddings, task, domain and task description, and dense queries × candidates matrices of
 * performance, cost and, when any outcome has one, LLM-judge score (NaN where unknown).
 */
export async function buildTrainingSet(store: Store, opts: TrainingSetOptions): Promise<StoreTrainingSet> {
  const filter = { dataset: opts.dataset, split: opts.split };
  const keys = opts.candidates ?? datasetCandidateKeys(store, opts.dataset);
  if (keys.length === 0)
    throw new Error(`no outcomes in ${store.path}${opts.dataset ? ` for dataset "${opts.dataset}"` : ""}`);
  const table = loadRoutingTable(store, filter, keys);
  if (table.queries.length === 0)
    throw new Error(
      `no queries in ${store.path}${opts.dataset ? ` for dataset "${opts.dataset}"` : ""}${opts.split ? ` in split "${opts.split}"` : ""}`,
    );

  const c = keys.length;
  const col = new Map(keys.map((k, j) => [k, j]));
  const row = new Map(table.queries.map((q, i) => [q.id, i]));
  const judge = new Float64Array(table.queries.length * c).fill(Number.NaN);
  let judged = 0;
  for (const o of judgeScores(store, opts.dataset, opts.split)) {
    const i = row.get(o.query_id);
    const j = col.get(candidateKey(o.model, o.mode));
    if (i === undefined || j === undefined) continue;
    judge[i * c + j] = o.judge;
    judged++;
  }

  const embedder = cached(opts.embedder, store);
  const embeddings = await embedder.embed(table.queries.map((q) => q.text));
  const queries: RouteQuery[] = table.queries.map((q, i) => ({
    text: q.text,
    embedding: embeddings[i],
    task: q.task,
    domain: q.domain ?? domainOfTask(q.task),
    taskDescription: q.taskDescription ?? null,
  }));

  const candidates = candidateInfos(store, keys);
  const described = candidates.filter((c) => c.description);
  const descVectors = await embedder.embed(described.map((c) => c.description as string));
  const descOf = new Map(described.map((c, k) => [c.key, descVectors[k]]));

  return {
    candidates,
    queries,
    performance: table.performance,
    cost: table.cost,
    judge: judged > 0 ? judge : null,
    queryIds: table.queries.map((q) => q.id),
    embedder: embedder.name,
    descriptionEmbeddings: candidates.map((c) => descOf.get(c.key) ?? null),
  };
}

export interface QueryMeta {
  task?: string | null;
  domain?: string | null;
  taskDescription?: string | null;
}

/**
 * One incoming query as a router sees it (for `fusionkit route` and the gateway). Pass
 * `cached(embedder, store)` to answer repeated texts from the store.
 */
export async function toRouteQuery(text: string, meta: QueryMeta, embedder: Embedder): Promise<RouteQuery> {
  const [embedding] = await embedder.embed([text]);
  const task = meta.task ?? null;
  return {
    text,
    embedding,
    task,
    domain: meta.domain ?? (task ? domainOfTask(task) : null),
    taskDescription: meta.taskDescription ?? null,
  };
}

/**
 * One training set from several datasets of the store (e.g. the router's data and the gateway's labelled
 * traffic): the candidates are every dataset's, in order of first appearance, and each query keeps the outcomes
 * its dataset has (NaN for candidates it never saw — routers skip unknown outcomes). So a router retrained
 * with the gateway's labels still knows every model, not only those that got traffic.
 */
export async function buildMergedTrainingSet(
  store: Store,
  datasets: string[],
  opts: Omit<TrainingSetOptions, "dataset" | "candidates">,
): Promise<StoreTrainingSet> {
  const keys = [...new Set(datasets.flatMap((d) => datasetCandidateKeys(store, d)))];
  const sets: StoreTrainingSet[] = [];
  for (const dataset of datasets) sets.push(await buildTrainingSet(store, { ...opts, dataset, candidates: keys }));
  const [first] = sets as [StoreTrainingSet];
  if (sets.length === 1) return first;
  const cat = (parts: Float64Array[]) => {
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const judged = sets.some((s) => s.judge);
  return {
    ...first,
    queries: sets.flatMap((s) => s.queries),
    queryIds: sets.flatMap((s) => s.queryIds),
    performance: cat(sets.map((s) => s.performance)),
    cost: cat(sets.map((s) => s.cost)),
    judge: judged ? cat(sets.map((s) => s.judge ?? new Float64Array(s.performance.length).fill(Number.NaN))) : null,
  };
}
