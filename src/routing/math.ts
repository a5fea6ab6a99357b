import type { Rng } from "../util/prng.ts";

/** Small numeric helpers shared by the learned routers (plain loops over typed arrays). */

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** logit with the probability clipped to [eps, 1 − eps] so 0 and 1 stay finite. */
export function logit(p: number, eps = 1e-3): number {
  const q = Math.min(1 - eps, Math.max(eps, p));
  return Math.log(q / (1 - q));
}

/** Glorot-uniform initialisation, deterministic for the given Rng. */
export function glorot(rows: number, cols: number, rng: Rng): Float64Array {
  const a = Math.sqrt(6 / (rows + cols));
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * a;
  return w;
}

/**
 * Adam over a list of parameter arrays (Kingma & Ba), with decoupled weight decay (AdamW) on the
 * arrays flagged in `decay` (weights, not biases).
 */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(
    private readonly params: Float64Array[],
    private readonly lr: number,
    private readonly weightDecay = 0,
    private readonly decay: boolean[] = params.map(() => true),
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }
  step(grads: Float64Array[]): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      const wd = this.decay[k] ? this.weightDecay * this.lr : 0;
      for (let i = 0; i < p.length; i++) {
        m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
        v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
        p[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8) + wd * p[i];
      }
    }
  }
}

/**
 * Solve A x = b for symmetric positive-definite A (n × n, row-major; overwritten by its Cholesky
 * factor). Several right-hand sides at once: B is n × m, overwritten by X.
 */
export function choleskySolve(A: Float64Array, n: number, B: Float64Array, m: number): void {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) throw new Error("matrix is not positive definite (raise the ridge penalty)");
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
  }
  for (let col = 0; col < m; col++) {
    for (let i = 0; i < n; i++) {
      let s = B[i * m + col];
      for (let k = 0; k < i; k++) s -= A[i * n + k] * B[k * m + col];
      B[i * m + col] = s / A[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = B[i * m + col];
      for (let k = i + 1; k < n; k++) s -= A[k * n + i] * B[k * m + col];
      B[i * m + col] = s / A[i * n + i];
    }
  }
}

/** Row indices grouped by task (rows without one together, under ""), in row order within each task. */
export function rowsByTask(tasks: readonly (string | null | undefined)[]): Map<string, number[]> {
  const byTask = new Map<string, number[]>();
  tasks.forEach((t, i) => {
    const key = t ?? "";
    const rows = byTask.get(key) ?? [];
    rows.push(i);
    byTask.set(key, rows);
  });
  return byTask;
}

/** Row indices split into a training part and a held-out part of about `fraction`, stratified by task. */
export function holdoutSplit(
  tasks: readonly (string | null | undefined)[],
  fraction: number,
  rng: Rng,
): { fit: number[]; held: number[] } {
  const byTask = rowsByTask(tasks);
  const fit: number[] = [];
  const held: number[] = [];
  for (const key of [...byTask.keys()].sort()) {
    const rows = rng.shuffle(byTask.get(key) as number[]);
    const h = rows.length >= 2 ? Math.max(1, Math.round(rows.length * fraction)) : 0;
    held.push(...rows.slice(0, h));
    fit.push(...rows.slice(h));
  }
  return { fit: fit.sort((a, b) => a - b), held: held.sort((a, b) => a - b) };
}

/**
 * K-fold assignment stratified by task: each task's rows are shuffled and dealt round-robin, starting
 * where the previous task stopped, so every fold gets its share of every task and fold sizes differ by
 * at most one. Returns each row's fold in [0, k).
 */
export function stratifiedFolds(tasks: readonly (string | null | undefined)[], k: number, rng: Rng): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new Error(`folds must be an integer ≥ 2, got ${k}`);
  const byTask = rowsByTask(tasks);
  const fold = new Int32Array(tasks.length);
  let next = 0;
  for (const key of [...byTask.keys()].sort())
    for (const r of rng.shuffle(byTask.get(key) as number[])) {
      fold[r] = next;
      next = (next + 1) % k;
    }
  return fold;
}

/** Mean of the finite values (NaN when none), e.g. the typical cost a λ grid is scaled by. */
export function meanFinite(v: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (Number.isFinite(x)) {
      s += x;
      n++;
    }
  }
  return n ? s / n : Number.NaN;
}
