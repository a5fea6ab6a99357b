import { Rng } from "../util/prng.ts";
import { stratifiedFolds } from "./math.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { realisedScore, subset } from "./tuning.ts";

export interface ClusterParams {
  /** Cluster counts tried; the one with the best cross-validated train performance is kept. */
  ks?: number[];
  /** Folds of that choice. */
  folds?: number;
  /** Pseudo-queries with which a cluster's candidate means are shrunk toward the candidate's overall mean. */
  shrink?: number;
  iterations?: number;
  seed?: number;
}

interface ClusterState {
  k: number;
  dim: number;
  centroids: number[];
  /** k × candidates mean performance (shrunk). */
  perf: number[];
  priors: PriorsState;
}

/**
 * Avengers-Pro's clustering router: k-means over query embeddings, each cluster scores every candidate by
 * its mean performance on the train queries of that cluster, and a query takes its nearest cluster's
 * scores. Avengers-Pro's performance–cost weight α is the shared knob (objective.ts: the balance and
 * cost-first scenarios, or λ), applied to these predictions and the task's mean costs.
 */
export class ClusterRouter implements Router {
  readonly name = "cluster";
  private readonly ks: number[];
  private readonly folds: number;
  private readonly shrink: number;
  private readonly iterations: number;
  private readonly seed: number;
  private s: { k: number; dim: number; centroids: Float64Array; perf: Float64Array; priors: Priors } | null = null;

  constructor(params: ClusterParams = {}) {
    this.ks = params.ks ?? [4, 8, 16];
    this.folds = params.folds ?? 3;
    this.shrink = params.shrink ?? 5;
    this.iterations = params.iterations ?? 15;
    this.seed = params.seed ?? 1;
  }

  fit(data: TrainingSet): void {
    const n = data.queries.length;
    const usable = this.ks.filter((k) => k >= 1 && k <= n);
    let k = usable[0] ?? 1;
    if (usable.length > 1 && n >= 2 * this.folds) {
      const fold = stratifiedFolds(
        data.queries.map((q) => q.task),
        this.folds,
        new Rng(this.seed),
      );
      let best = Number.NEGATIVE_INFINITY;
      for (const kk of usable) {
        let sum = 0;
        let m = 0;
        for (let f = 0; f < this.folds; f++) {
          const fit: number[] = [];
          const held: number[] = [];
          for (let i = 0; i < n; i++) (fold[i] === f ? held : fit).push(i);
          if (!held.length || fit.length < kk) continue;
          const inner = this.train(subset(data, fit), kk);
          const pred = this.predictWith(
            inner,
            held.map((i) => data.queries[i] as RouteQuery),
          );
          sum += realisedScore(pred, data, held) * held.length;
          m += held.length;
        }
        const score = m ? sum / m : Number.NEGATIVE_INFINITY;
        if (score > best + 1e-12) {
          best = score;
          k = kk;
        }
      }
    }
    this.s = this.train(data, k);
  }

  private train(data: TrainingSet, k: number) {
    const n = data.queries.length;
    const c = data.candidates.length;
    const dim = data.queries[0]?.embedding.length ?? 0;
    const centroids = kMeans(
      data.queries.map((q) => q.embedding),
      Math.min(k, n),
      this.iterations,
      new Rng(this.seed),
    );
    const kk = centroids.length / Math.max(dim, 1);
    const priors = Priors.fit(data);
    const sum = new Float64Array(kk * c);
    const cnt = new Float64Array(kk * c);
    data.queries.forEach((q, i) => {
      const z = nearest(centroids, dim, q.embedding);
      for (let j = 0; j < c; j++) {
        const p = data.performance[i * c + j] as number;
        if (Number.isNaN(p)) continue;
        sum[z * c + j] += p;
        cnt[z * c + j]++;
      }
    });
    const perf = new Float64Array(kk * c);
    for (let z = 0; z < kk; z++)
      for (let j = 0; j < c; j++) {
        const g = priors.globalPerf[j] as number;
        perf[z * c + j] = (sum[z * c + j] + this.shrink * g) / (cnt[z * c + j] + this.shrink);
      }
    return { k: kk, dim, centroids, perf, priors };
  }

  private predictWith(s: NonNullable<ClusterRouter["s"]>, queries: RouteQuery[]): Prediction {
    const c = s.priors.nCandidates;
    const performance = new Float64Array(queries.length * c);
    const cost = new Float64Array(queries.length * c);
    queries.forEach((q, i) => {
      const z = nearest(s.centroids, s.dim, q.embedding);
      performance.set(s.perf.subarray(z * c, (z + 1) * c), i * c);
      cost.set(s.priors.costRow(q.task), i * c);
    });
    return { performance, cost };
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    if (!this.s) throw new Error("cluster router used before fit/restore");
    const s = this.s;
    const pred = this.predictWith(s, queries);
    if (opts?.explain) {
      const c = s.priors.nCandidates;
      pred.reasons = queries.flatMap((q) => {
        const z = nearest(s.centroids, s.dim, q.embedding);
        return Array.from({ length: c }, () => `mean performance in cluster ${z + 1} of ${s.k}`);
      });
    }
    return pred;
  }

  state(): ClusterState {
    if (!this.s) throw new Error("cluster router used before fit/restore");
    return {
      k: this.s.k,
      dim: this.s.dim,
      centroids: [...this.s.centroids],
      perf: [...this.s.perf],
      priors: this.s.priors.state(),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as ClusterState;
    if (!s || !Array.isArray(s.centroids) || !Array.isArray(s.perf))
      throw new Error('artifact field "state": expected cluster centroids and per-cluster performance');
    this.s = {
      k: s.k,
      dim: s.dim,
      centroids: Float64Array.from(s.centroids),
      perf: Float64Array.from(s.perf),
      priors: Priors.restore(s.priors, candidates.length),
    };
  }
}

/** Index of the centroid nearest to v (squared Euclidean; for unit vectors the same order as cosine). */
export function nearest(centroids: Float64Array, dim: number, v: Float32Array): number {
  const k = dim ? centroids.length / dim : 0;
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let z = 0; z < k; z++) {
    let d = 0;
    for (let x = 0; x < dim; x++) {
      const e = (centroids[z * dim + x] as number) - (v[x] as number);
      d += e * e;
    }
    if (d < bestD) {
      bestD = d;
      best = z;
    }
  }
  return best;
}

/** Lloyd's k-means with k-means++ seeding; returns k × dim centroids (row-major). */
export function kMeans(points: readonly Float32Array[], k: number, iterations: number, rng: Rng): Float64Array {
  const n = points.length;
  const dim = points[0]?.length ?? 0;
  const centroids = new Float64Array(k * dim);
  if (n === 0 || k === 0) return centroids;
  const d2 = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  let pick = rng.int(n);
  for (let z = 0; z < k; z++) {
    centroids.set(points[pick] as Float32Array, z * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let x = 0; x < dim; x++) {
        const e = ((points[i] as Float32Array)[x] as number) - (centroids[z * dim + x] as number);
        d += e * e;
      }
      if (d < (d2[i] as number)) d2[i] = d;
      total += d2[i] as number;
    }
    // Next seed: drawn with probability proportional to squared distance from the seeds so far.
    let r = rng.next() * total;
    pick = 0;
    for (let i = 0; i < n; i++) {
      r -= d2[i] as number;
      if (r <= 0) {
        pick = i;
        break;
      }
    }
  }
  const assign = new Int32Array(n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const z = nearest(centroids, dim, points[i] as Float32Array);
      if (z !== assign[i]) {
        assign[i] = z;
        moved++;
      }
    }
    const sums = new Float64Array(k * dim);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const z = assign[i] as number;
      counts[z]++;
      const p = points[i] as Float32Array;
      for (let x = 0; x < dim; x++) sums[z * dim + x] += p[x] as number;
    }
    for (let z = 0; z < k; z++)
      if (counts[z])
        for (let x = 0; x < dim; x++) centroids[z * dim + x] = (sums[z * dim + x] as number) / (counts[z] as number);
    if (moved === 0) break;
  }
  return centroids;
}
