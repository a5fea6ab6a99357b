import { Rng } from "../util/prng.ts";
import { dot64, principalBasis } from "./projection.ts";

/** e · emb[base .. base + d) with four accumulators (independent adds pipeline better than one chain). */
export function dotRow(e: Float32Array, emb: Float32Array, base: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let x = 0;
  for (; x + 3 < d; x += 4) {
    s0 += e[x] * emb[base + x];
    s1 += e[x + 1] * emb[base + x + 1];
    s2 += e[x + 2] * emb[base + x + 2];
    s3 += e[x + 3] * emb[base + x + 3];
  }
  for (; x < d; x++) s0 += e[x] * emb[base + x];
  return s0 + s1 + s2 + s3;
}

/**
 * The k best (score, row) pairs seen, best first: higher score wins, an equal score goes to the lower row
 * (so the result does not depend on the order rows are offered in). Insertion into a small sorted buffer.
 */
export class TopK {
  readonly scores: Float64Array;
  readonly rows: Int32Array;
  filled = 0;
  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.rows = new Int32Array(k);
  }
  /** Whether (s, row) would enter the buffer. */
  admits(s: number, row: number): boolean {
    if (this.filled < this.k) return true;
    const w = this.scores[this.k - 1];
    return s > w || (s === w && row < this.rows[this.k - 1]);
  }
  push(s: number, row: number): void {
    if (!this.admits(s, row)) return;
    let pos = this.filled < this.k ? this.filled++ : this.k - 1;
    while (pos > 0 && (this.scores[pos - 1] < s || (this.scores[pos - 1] === s && this.rows[pos - 1] > row))) {
      this.scores[pos] = this.scores[pos - 1];
      this.rows[pos] = this.rows[pos - 1];
      pos--;
    }
    this.scores[pos] = s;
    this.rows[pos] = row;
  }
  /** The k-th best score so far (−∞ until k rows are in). */
  floor(): number {
    return this.filled < this.k ? -Infinity : this.scores[this.k - 1];
  }
}

/** Exact top-k by full inner products over the pool (rows ascending), best first. */
export function exactTopK(
  e: Float32Array,
  emb: Float32Array,
  d: number,
  pool: Int32Array,
  k: number,
): { rows: Int32Array; sims: Float64Array } {
  const top = new TopK(Math.max(0, Math.min(k, pool.length)));
  if (top.k === 0) return { rows: new Int32Array(0), sims: new Float64Array(0) };
  for (let p = 0; p < pool.length; p++) {
    const row = pool[p];
    const s = dotRow(e, emb, row * d, d);
    if (top.admits(s, row)) top.push(s, row);
  }
  return { rows: top.rows, sims: top.scores };
}

/**
 * Dimensions of each projection level: a first pass over every row, then refinements of the survivors.
 * Measured on 10,000 LLMRouter USE vectors (bench/routing.ts): a 32-d first pass beats 64-d (half the
 * work per row; the extra survivors are cheap to refine), and 128 dimensions in all leave ~1% of rows
 * for an exact product.
 */
export const LEVELS = [32, 32, 64] as const;

/**
 * Exact maximum-inner-product search, pruned by a PCA projection (branch and bound).
 *
 * Each row x is stored as its coordinates in an orthonormal basis V split into levels (x₁ = V₁x, x₂ = V₂x,
 * …) plus, per level, the norm of what the levels so far miss, ρ_ℓ(x) = ‖x − V₁..ℓᵀV₁..ℓx‖. For a query
 * q, Cauchy–Schwarz on the missed parts gives q·x ≤ q₁·x₁ + … + q_ℓ·x_ℓ + ρ_ℓ(q)·ρ_ℓ(x). So:
 *   1. score every row on level 1 (32 of 512 dimensions) and keep its upper bound;
 *   2. compute exact scores for the best few by that approximate score: the k-th of those is a floor;
 *   3. visit every row whose bound reaches the floor; tighten its bound level by level while it still
 *      reaches the floor, and compute the exact score only if it does after the last level (the floor
 *      rises as better rows are found).
 * A row skipped has a bound below the final k-th exact score, so it cannot be among the k best: the
 * answer is the exact scan's, rows, ties and sims alike (the exact scores come from the same dotRow). A
 * margin covers the float32 rounding of the stored coordinates.
 */
export class ProjectedIndex {
  private readonly d: number;
  private readonly dims: number[];
  /** Basis rows (sum of dims) × d. */
  private readonly basis: Float64Array;
  /** Per level: n × dims[ℓ] coordinates (float32 halves memory traffic of the first pass). */
  private readonly coords: Float32Array[];
  /** Per level: n residual norms after that level's prefix. */
  private readonly residual: Float64Array[];
  private readonly maxNorm: number;
  /** Scratch per row, reused across searches: level-1 approximate score and upper bound. */
  private readonly approx: Float64Array;
  private readonly bound: Float64Array;
  private readonly q: Float64Array;
  private readonly x: Float64Array;

  private constructor(
    d: number,
    dims: number[],
    basis: Float64Array,
    coords: Float32Array[],
    residual: Float64Array[],
    maxNorm: number,
  ) {
    this.d = d;
    this.dims = dims;
    this.basis = basis;
    this.coords = coords;
    this.residual = residual;
    this.maxNorm = maxNorm;
    const n = residual[0]?.length ?? 0;
    this.approx = new Float64Array(n);
    this.bound = new Float64Array(n);
    this.q = new Float64Array(basis.length / Math.max(1, d));
    this.x = new Float64Array(d);
  }

  /** Memory held by the index (coordinates, bounds, basis, per-search scratch), in bytes. */
  get bytes(): number {
    const arrays = [...this.coords, ...this.residual, this.basis, this.approx, this.bound, this.q, this.x];
    return arrays.reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** Build over n = emb.length / d rows; deterministic for a given seed. */
  static build(emb: Float32Array, d: number, seed = 1, levels: readonly number[] = LEVELS): ProjectedIndex {
    const n = d > 0 ? emb.length / d : 0;
    // Never more basis vectors than dimensions; a level that would be empty is dropped.
    const dims: number[] = [];
    let left = d;
    for (const m of levels) {
      const take = Math.min(m, left);
      if (take > 0) dims.push(take);
      left -= take;
    }
    const total = dims.reduce((a, b) => a + b, 0);
    const basis = principalBasis(emb, d, total, new Rng(seed), { sample: 1024, iterations: 3 });
    const coords = dims.map((m) => new Float32Array(n * m));
    const residual = dims.map(() => new Float64Array(n));
    const p = new Float64Array(total);
    const x = new Float64Array(d);
    let maxNorm = 0;
    for (let r = 0; r < n; r++) {
      for (let a = 0; a < d; a++) x[a] = emb[r * d + a];
      const norm2 = dot64(x, 0, x, 0, d);
      maxNorm = Math.max(maxNorm, Math.sqrt(norm2));
      project(basis, x, p, total, d);
      // ‖x‖² − ‖prefix coordinates‖² = squared residual (V orthonormal), clamped against rounding.
      let kept = 0;
      let j = 0;
      dims.forEach((m, l) => {
        for (let i = 0; i < m; i++, j++) {
          coords[l][r * m + i] = p[j];
          kept += p[j] * p[j];
        }
        residual[l][r] = Math.sqrt(Math.max(0, norm2 - kept));
      });
    }
    return new ProjectedIndex(d, dims, basis, coords, residual, maxNorm);
  }

  /**
   * The k rows of the pool (ascending row indices, or all rows) with the largest e · emb[row], best first,
   * equal scores to the lower row — identical to exactTopK. `emb` is the matrix the index was built on.
   */
  search(
    e: Float32Array,
    emb: Float32Array,
    pool: Int32Array | null,
    k: number,
    stats?: { refined: number; exact: number },
  ): { rows: Int32Array; sims: Float64Array } {
    const d = this.d;
    const size = pool ? pool.length : this.approx.length;
    const top = new TopK(Math.max(0, Math.min(k, size)));
    if (top.k === 0) return { rows: new Int32Array(0), sims: new Float64Array(0) };
    // Query coordinates and residual norms per level.
    const q = this.q;
    const x = this.x;
    x.set(e);
    const qNorm2 = dot64(x, 0, x, 0, d);
    const qRes: number[] = [];
    let kept = 0;
    let j = 0;
    for (const m of this.dims) {
      for (let i = 0; i < m; i++, j++) {
        q[j] = dot64(this.basis, j * d, x, 0, d);
        kept += q[j] * q[j];
      }
      qRes.push(Math.sqrt(Math.max(0, qNorm2 - kept)));
    }
    // float32 coordinates are each within 2⁻²⁴ relative, so an approximate score is within
    // 2⁻²⁴·‖q‖·‖x‖ of the real one; the margin is 100× that (f64 rounding elsewhere is far smaller).
    const margin = 1e-5 * Math.sqrt(qNorm2) * this.maxNorm + 1e-12;

    // 1. Level-1 approximate scores and bounds for every row; the best few by approximate score.
    const m1 = this.dims[0];
    const c1 = this.coords[0];
    const r1 = this.residual[0];
    const q1 = qRes[0];
    const approx = this.approx;
    const bound = this.bound;
    const seeds = new TopK(Math.min(size, Math.max(4 * top.k, 32)));
    for (let p = 0; p < size; p++) {
      const row = pool ? pool[p] : p;
      const b = row * m1;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let i = 0;
      for (; i + 3 < m1; i += 4) {
        s0 += q[i] * c1[b + i];
        s1 += q[i + 1] * c1[b + i + 1];
        s2 += q[i + 2] * c1[b + i + 2];
        s3 += q[i + 3] * c1[b + i + 3];
      }
      for (; i < m1; i++) s0 += q[i] * c1[b + i];
      const s = s0 + s1 + s2 + s3;
      approx[p] = s;
      bound[p] = s + q1 * r1[row];
      // Seeds are kept by pool position (ascending with row, so ties break the same way).
      if (seeds.admits(s, p)) seeds.push(s, p);
    }
    // 2. Exact scores of the seeds give a floor under the true k-th score.
    for (let i = 0; i < seeds.filled; i++) {
      const p = seeds.rows[i];
      const row = pool ? pool[p] : p;
      top.push(dotRow(e, emb, row * d, d), row);
      bound[p] = Number.NEGATIVE_INFINITY; // scored already
    }
    // 3. Every row whose bound reaches the floor: refine level by level, then score exactly.
    let refined = 0;
    let exact = 0;
    let floor = top.floor() - margin;
    const { dims, coords, residual } = this;
    for (let p = 0; p < size; p++) {
      if (bound[p] < floor) continue;
      const row = pool ? pool[p] : p;
      let s = approx[p];
      let ub = bound[p];
      let off = m1;
      for (let l = 1; l < dims.length && ub >= floor; l++) {
        const m = dims[l];
        const c = coords[l];
        const b = row * m;
        for (let i = 0; i < m; i++) s += q[off + i] * c[b + i];
        off += m;
        ub = s + qRes[l] * residual[l][row];
        refined++;
      }
      if (ub < floor) continue;
      exact++;
      top.push(dotRow(e, emb, row * d, d), row);
      floor = top.floor() - margin;
    }
    if (stats) {
      stats.refined += refined;
      stats.exact += exact + seeds.filled;
    }
    return { rows: top.rows, sims: top.scores };
  }
}

/** p = V·x for V of m rows × d; four rows at a time, so each x[a] is loaded once per four products. */
function project(V: Float64Array, x: Float64Array, p: Float64Array, m: number, d: number): void {
  let j = 0;
  for (; j + 3 < m; j += 4) {
    const o0 = j * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let a = 0; a < d; a++) {
      const xa = x[a];
      s0 += V[o0 + a] * xa;
      s1 += V[o1 + a] * xa;
      s2 += V[o2 + a] * xa;
      s3 += V[o3 + a] * xa;
    }
    p[j] = s0;
    p[j + 1] = s1;
    p[j + 2] = s2;
    p[j + 3] = s3;
  }
  for (; j < m; j++) p[j] = dot64(V, j * d, x, 0, d);
}
