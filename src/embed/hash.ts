import { type Embedder, normalize } from "./embedder.ts";

export const DEFAULT_HASH_DIM = 1024;

/** 32-bit FNV-1a over UTF-16 code units, finished with MurmurHash3's fmix32 so low bits mix well. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Word unigrams + bigrams and char 3–5-grams inside space-padded words (scikit-learn's "char_wb"). */
function featureCounts(text: string): { words: Map<string, number>; chars: Map<string, number> } {
  const tokens = text.toLowerCase().match(WORD) ?? [];
  const words = new Map<string, number>();
  const chars = new Map<string, number>();
  const add = (m: Map<string, number>, f: string) => m.set(f, (m.get(f) ?? 0) + 1);
  for (let i = 0; i < tokens.length; i++) {
    add(words, `w\u0001${tokens[i]}`);
    if (i > 0) add(words, `b\u0001${tokens[i - 1]}\u0002${tokens[i]}`);
    const padded = ` ${tokens[i]} `;
    for (let n = 3; n <= 5; n++)
      for (let s = 0; s + n <= padded.length; s++) add(chars, `c\u0001${padded.slice(s, s + n)}`);
  }
  return { words, chars };
}

/** Signed feature hashing with sublinear tf (1 + ln tf), L2-normalised. */
function hashInto(counts: Map<string, number>, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (const [feature, tf] of counts) {
    const h = hash32(feature);
    // Bucket from the low bits, sign from the top bit: collisions cancel in expectation instead of piling up.
    const sign = h & 0x80000000 ? -1 : 1;
    v[h % dim] += sign * (1 + Math.log(tf));
  }
  return normalize(v);
}

/**
 * Hashed word + char n-gram embedder: no weights, no network, deterministic, ~0.1 ms per short text.
 * The word part (lexical topic) and the char part (morphology, numbers, typos) are each normalised and
 * weighted equally, so neither dominates long texts. For tests and for data too big for a neural encoder.
 */
export class HashEmbedder implements Embedder {
  readonly name: string;
  readonly dim: number;

  constructor(dim: number = DEFAULT_HASH_DIM) {
    if (!Number.isInteger(dim) || dim < 8 || dim > 1 << 20)
      throw new RangeError(`hash embedder dimension must be an integer in [8, 1048576], got ${dim}`);
    this.dim = dim;
    this.name = `hash-${dim}`;
  }

  embedOne(text: string): Float32Array {
    const { words, chars } = featureCounts(text);
    const w = hashInto(words, this.dim);
    const c = hashInto(chars, this.dim);
    for (let i = 0; i < this.dim; i++) w[i] += c[i];
    return normalize(w);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }
}
