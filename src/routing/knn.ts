import { Rng } from "../util/prng.ts";
import { exactTopK, ProjectedIndex } from "./ann.ts";
import { decodeF32, decodeF64, decodeI32, type EncodedArray, encodeArray } from "./codec.ts";
import { holdoutSplit } from "./math.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { realisedScore, subset } from "./tuning.ts";

export interface KnnParams {
  /** Neighbours; 0 = tune on a held-out slice of train over K_GRID. */
  k?: number;
  /** Pseudo-count of the task prior each prediction is shrunk toward; −1 = tune with k. */
  shrink?: number;
  /** Search only the query's own task when it is known (falls back to all rows for unseen tasks). */
  sameTask?: boolean;
  /** Weight 1/(1 − cos + eps): a near-duplicate (cos ≈ 1) gets ~1/eps, a far neighbour ~1. */
  eps?: number;
  seed?: number;
  /**
   * Search pools of at least this many rows through a projected index (pruned, still exact: same
   * neighbours and similarities as the plain scan, only faster); Infinity = always scan. Built at fit and
   * restore when the training set is this large; a speed setting only, so not saved in the artifact.
   */
  projectMinRows?: number;
}

const PROJECT_MIN_ROWS = 2048;

const K_GRID = [5, 10, 20, 40, 80];
const SHRINK_GRID = [0.5, 2, 8];

interface KnnState {
  k: number;
  shrink: number;
  sameTask: boolean;
  eps: number;
  dim: number;
  embeddings: EncodedArray;
  performance: EncodedArray;
  taskOf: EncodedArray;
  priors: PriorsState;
}

/**
 * k-nearest-neighbour router: cosine similarity over unit embeddings, distance-weighted votes of the
 * neighbours' per-candidate outcomes, shrunk toward the task's mean (a Bayesian average, so few or far
 * neighbours lean on the task prior). Searching within the query's task is both faster and better.
 */
export class KnnRouter implements Router {
  readonly name = "knn";
  k: number;
  shrink: number;
  sameTask: boolean;
  eps: number;
  private readonly seed: number;
  private readonly projectMinRows: number;
  private dim = 0;
  private emb: Float32Array = new Float32Array(0);
  private perf: Float64Array = new Float64Array(0);
  private taskOf: Int32Array = new Int32Array(0);
  /** Rows of each task index (and all rows at the end). */
  private rowsOfTask: Int32Array[] = [];
  private priors: Priors | null = null;
  private projected: ProjectedIndex | null = null;

  constructor(params: KnnParams = {}) {
    this.k = params.k ?? 0;
    this.shrink = params.shrink ?? -1;
    this.sameTask = params.sameTask ?? true;
    this.eps = params.eps ?? 1e-3;
    this.seed = params.seed ?? 1;
    this.projectMinRows = params.projectMinRows ?? PROJECT_MIN_ROWS;
  }

  fit(data: TrainingSet): void {
    if (this.k <= 0 || this.shrink < 0) this.tune(data);
    this.load(data);
  }

  /** Pick k and shrink on a 20% held-out slice (stratified by task), then train on everything. */
  private tune(data: TrainingSet): void {
    const { fit, held } = holdoutSplit(
      data.queries.map((q) => q.task),
      0.2,
      new Rng(this.seed),
    );
    // Held-out queries have known tasks, so a same-task inner router never scans all rows: no index.
    const inner = new KnnRouter({
      sameTask: this.sameTask,
      eps: this.eps,
      k: 1,
      shrink: 0,
      projectMinRows: this.sameTask ? Number.POSITIVE_INFINITY : this.projectMinRows,
    });
    inner.load(subset(data, fit));
    const priors = inner.priors as Priors;
    const c = data.candidates.length;
    const ks = this.k > 0 ? [this.k] : K_GRID;
    const shrinks = this.shrink >= 0 ? [this.shrink] : SHRINK_GRID;
    // One neighbour search per held-out query at the largest k; smaller k reuse its prefix.
    const nbs = held.map((r) => inner.neighbours(data.queries[r], Math.max(...ks)));
    let best = { score: -Infinity, k: ks[0], shrink: shrinks[0] };
    for (const k of ks)
      for (const shrink of shrinks) {
        const performance = new Float64Array(held.length * c);
        held.forEach((r, i) => {
          const out = performance.subarray(i * c, (i + 1) * c);
          inner.aggregate(nbs[i], k, shrink, priors.perfRow(data.queries[r].task), out);
        });
        const cost = new Float64Array(held.length * c);
        held.forEach((r, i) => {
          cost.set(priors.costRow(data.queries[r].task), i * c);
        });
        const score = realisedScore({ performance, cost }, data, held);
        if (score > best.score + 1e-12) best = { score, k, shrink };
      }
    this.k = best.k;
    this.shrink = best.shrink;
  }

  private load(data: TrainingSet): void {
    const n = data.queries.length;
    this.dim = data.queries[0]?.embedding.length ?? 0;
    this.emb = new Float32Array(n * this.dim);
    data.queries.forEach((q, i) => {
      this.emb.set(q.embedding, i * this.dim);
    });
    this.perf = data.performance.slice();
    this.priors = Priors.fit(data);
    this.taskOf = new Int32Array(data.queries.map((q) => this.priors?.taskIndex(q.task) ?? -1));
    this.index();
  }

  private index(): void {
    const T = this.priors?.tasks.length ?? 0;
    const lists: number[][] = Array.from({ length: T }, () => []);
    this.taskOf.forEach((t, i) => {
      if (t >= 0) lists[t].push(i);
    });
    this.rowsOfTask = [...lists.map((l) => Int32Array.from(l)), Int32Array.from(this.taskOf, (_, i) => i)];
    this.projected = this.taskOf.length >= this.projectMinRows ? ProjectedIndex.build(this.emb, this.dim) : null;
  }

  /**
   * The k most similar training rows of q (same task when known and sameTask), best first; equal
   * similarities go to the earlier row. Large pools go through the projected index, which returns exactly
   * what the plain scan would.
   */
  neighbours(q: RouteQuery, k: number): { rows: Int32Array; sims: Float64Array } {
    const priors = this.priors;
    if (!priors) throw new Error("knn router used before fit/restore");
    const d = this.dim;
    if (q.embedding.length !== d)
      throw new Error(`query embedding has ${q.embedding.length} dimensions, the router expects ${d}`);
    const t = priors.taskIndex(q.task);
    const everyRow = !(this.sameTask && t >= 0);
    const pool = everyRow ? this.rowsOfTask[this.rowsOfTask.length - 1] : this.rowsOfTask[t];
    if (this.projected && pool.length >= this.projectMinRows)
      return this.projected.search(q.embedding, this.emb, everyRow ? null : pool, k);
    return exactTopK(q.embedding, this.emb, d, pool, k);
  }

  /** Memory of the projected index in bytes (0 when the training set is too small to have one). */
  indexBytes(): number {
    return this.projected?.bytes ?? 0;
  }

  /** The stored outcome of training row `row` for candidate j (NaN when unknown). */
  outcome(row: number, j: number): number {
    return this.perf[row * (this.priors?.nCandidates ?? 0) + j];
  }

  /** Shrunk, distance-weighted average of the first k neighbours' outcomes, into out (length c). */
  private aggregate(
    nb: { rows: Int32Array; sims: Float64Array },
    k: number,
    shrink: number,
    prior: Float64Array,
    out: Float64Array,
    solved?: Float64Array,
  ): void {
    const c = out.length;
    const num = new Float64Array(c);
    const den = new Float64Array(c);
    const m = Math.min(k, nb.rows.length);
    for (let a = 0; a < m; a++) {
      const w = 1 / (1 - nb.sims[a] + this.eps);
      const base = nb.rows[a] * c;
      for (let j = 0; j < c; j++) {
        const y = this.perf[base + j];
        if (Number.isNaN(y)) continue;
        num[j] += w * y;
        den[j] += w;
        if (solved && y >= 0.5) solved[j]++;
      }
    }
    for (let j = 0; j < c; j++) {
      const p = Number.isNaN(prior[j]) ? 0 : prior[j];
      out[j] = (num[j] + shrink * p) / (den[j] + shrink || 1);
    }
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    return this.predictWith(queries, this.k, this.shrink, opts?.explain ?? false);
  }

  private predictWith(queries: RouteQuery[], k: number, shrink: number, explain: boolean): Prediction {
    const priors = this.priors;
    if (!priors) throw new Error("knn router used before fit/restore");
    const c = priors.nCandidates;
    const performance = new Float64Array(queries.length * c);
    const cost = new Float64Array(queries.length * c);
    const reasons: string[] | undefined = explain ? [] : undefined;
    const solved = new Float64Array(c);
    queries.forEach((q, qi) => {
      const nb = this.neighbours(q, k);
      solved.fill(0);
      this.aggregate(nb, k, shrink, priors.perfRow(q.task), performance.subarray(qi * c, (qi + 1) * c), solved);
      cost.set(priors.costRow(q.task), qi * c);
      if (reasons) {
        const scope = this.sameTask && priors.taskIndex(q.task) >= 0 ? "same-task " : "";
        const top = nb.sims.length ? nb.sims[0].toFixed(2) : "?";
        for (let j = 0; j < c; j++)
          reasons.push(`${solved[j]} of ${nb.rows.length} nearest ${scope}neighbours (top cos ${top}) scored ≥ 0.5`);
      }
    });
    return { performance, cost, reasons };
  }

  state(): KnnState {
    if (!this.priors) throw new Error("knn router used before fit/restore");
    return {
      k: this.k,
      shrink: this.shrink,
      sameTask: this.sameTask,
      eps: this.eps,
      dim: this.dim,
      embeddings: encodeArray(this.emb),
      performance: encodeArray(this.perf),
      taskOf: encodeArray(this.taskOf),
      priors: this.priors.state(),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as KnnState;
    this.k = s.k;
    this.shrink = s.shrink;
    this.sameTask = s.sameTask;
    this.eps = s.eps;
    this.dim = s.dim;
    this.emb = decodeF32(s.embeddings, "state.embeddings");
    this.perf = decodeF64(s.performance, "state.performance");
    this.taskOf = decodeI32(s.taskOf, "state.taskOf");
    this.priors = Priors.restore(s.priors, candidates.length);
    this.index();
  }
}
