import type { Rng } from "../util/prng.ts";

/**
 * An orthonormal basis (m rows of length d, row-major Float64Array) of the top-m principal directions of
 * the rows' second-moment matrix XᵀX (uncentred: inner products, not variances, are what it must keep),
 * ordered by how much of that moment each captures.
 *
 * Estimated cheaply — on at most `sample` rows and with a few rounds of subspace iteration — because
 * callers only use it to prune a search whose final answer is exact whatever the basis; a better basis
 * just prunes more. Deterministic for a given Rng.
 */
export function principalBasis(
  rows: Float32Array,
  d: number,
  m: number,
  rng: Rng,
  opts: { sample?: number; iterations?: number } = {},
): Float64Array {
  const n = d > 0 ? Math.floor(rows.length / d) : 0;
  const dims = Math.min(m, d);
  const picked = sampleRows(n, opts.sample ?? 2048, rng);
  const C = secondMoment(rows, d, picked);
  const V = new Float64Array(dims * d);
  for (let i = 0; i < V.length; i++) V[i] = rng.normal();
  orthonormalise(V, dims, d, rng);
  const W = new Float64Array(dims * d);
  for (let it = 0; it < (opts.iterations ?? 4); it++) {
    multiplyRows(C, V, W, dims, d);
    V.set(W);
    orthonormalise(V, dims, d, rng);
  }
  // Order by captured moment vᵀCv, largest first, so a prefix of the basis is the best prefix.
  multiplyRows(C, V, W, dims, d);
  const moment = Array.from({ length: dims }, (_, j) => {
    let s = 0;
    for (let a = 0; a < d; a++) s += V[j * d + a] * W[j * d + a];
    return s;
  });
  const order = moment.map((_, j) => j).sort((a, b) => moment[b] - moment[a] || a - b);
  const sorted = new Float64Array(dims * d);
  order.forEach((j, i) => {
    sorted.set(V.subarray(j * d, (j + 1) * d), i * d);
  });
  return sorted;
}

/** Up to `max` distinct row indices, ascending (all rows when there are no more than max). */
function sampleRows(n: number, max: number, rng: Rng): Int32Array {
  if (n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  const all = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  return Int32Array.from(all.slice(0, max)).sort();
}

/** XᵀX over the picked rows (d × d, symmetric), via the transposed sample so each entry is one long dot. */
function secondMoment(rows: Float32Array, d: number, picked: Int32Array): Float64Array {
  const s = picked.length;
  const T = new Float64Array(d * s);
  picked.forEach((r, i) => {
    for (let a = 0; a < d; a++) T[a * s + i] = rows[r * d + a];
  });
  const C = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    const oa = a * s;
    for (let b = a; b < d; b++) {
      const ob = b * s;
      const v = dot64(T, oa, T, ob, s);
      C[a * d + b] = v;
      C[b * d + a] = v;
    }
  }
  return C;
}

/** W = V·C for V of m rows (C symmetric, so each row of W is C times that row of V). */
function multiplyRows(C: Float64Array, V: Float64Array, W: Float64Array, m: number, d: number): void {
  for (let j = 0; j < m; j++) {
    const oj = j * d;
    for (let a = 0; a < d; a++) W[oj + a] = dot64(C, a * d, V, oj, d);
  }
}

/**
 * Modified Gram–Schmidt over the m rows of V, twice ("twice is enough" for orthogonality to working
 * precision). A row that (nearly) collapses onto the earlier ones — rank-deficient data, or fewer rows
 * than dimensions — is replaced by a fresh random direction.
 */
export function orthonormalise(V: Float64Array, m: number, d: number, rng: Rng): void {
  for (let j = 0; j < m; j++) {
    const oj = j * d;
    for (let attempt = 0; ; attempt++) {
      let before = 0;
      for (let a = 0; a < d; a++) before += V[oj + a] * V[oj + a];
      for (let pass = 0; pass < 2; pass++)
        for (let p = 0; p < j; p++) {
          const op = p * d;
          let dot = 0;
          for (let a = 0; a < d; a++) dot += V[oj + a] * V[op + a];
          for (let a = 0; a < d; a++) V[oj + a] -= dot * V[op + a];
        }
      let norm = 0;
      for (let a = 0; a < d; a++) norm += V[oj + a] * V[oj + a];
      norm = Math.sqrt(norm);
      if (norm > 1e-6 * Math.sqrt(before) || attempt >= 8) {
        for (let a = 0; a < d; a++) V[oj + a] /= norm;
        break;
      }
      for (let a = 0; a < d; a++) V[oj + a] = rng.normal();
    }
  }
}

/** x[xo .. xo + len) · y[yo .. yo + len) with four accumulators. */
export function dot64(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    s0 += x[xo + i] * y[yo + i];
    s1 += x[xo + i + 1] * y[yo + i + 1];
    s2 += x[xo + i + 2] * y[yo + i + 2];
    s3 += x[xo + i + 3] * y[yo + i + 3];
  }
  for (; i < len; i++) s0 += x[xo + i] * y[yo + i];
  return s0 + s1 + s2 + s3;
}
