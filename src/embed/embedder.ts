import { createHash } from "node:crypto";

/**
 * A sentence embedder: texts in, unit-length vectors out. `name` identifies the embedder *and* its
 * settings (model, dimension, truncation), because it is the cache key and is written into router
 * artifacts: two embedders with the same name must return the same vectors.
 */
export interface Embedder {
  /** Stable id, e.g. "use-512", "hash-1024", "openai:<model>@<baseURL>". */
  readonly name: string;
  readonly dim: number;
  /** One unit-normalised vector per text, in input order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** Scale a vector to unit L2 length in place; an all-zero vector (e.g. empty text) stays zero. */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}

/** Dot product; equals cosine similarity for unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Cache key of a text: SHA-256 of its UTF-8 bytes, hex. Hashes the full text, before any truncation. */
export function textHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
