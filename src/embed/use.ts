import { availableParallelism } from "node:os";
import type { Embedder } from "./embedder.ts";
import { embedUseBatch, USE_DIM, useBatches } from "./use-model.ts";
import { existingPool, usePool } from "./use-pool.ts";

/**
 * Characters kept of a long prompt. USE-lite's cost grows with length (~100 ms for 2,000 characters,
 * ~10 ms for a short question on this machine) while its meaning saturates: the median LLMRouter query
 * is ~110 characters and 90% are under ~920, so 1,000 keeps nearly every query whole.
 */
export const USE_MAX_CHARS = 1000;

/**
 * Shorten a text to at most `maxChars` characters, keeping its head and its tail (60% / 40%): long
 * prompts tend to put context first and the actual question or answer options last.
 */
export function truncateForEmbedding(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const head = Math.ceil(maxChars * 0.6);
  const tail = maxChars - head;
  return `${text.slice(0, head)} … ${tail > 0 ? text.slice(-tail) : ""}`;
}

/** The text the model sees: truncated (unless `maxChars` is 0), and never empty. */
export function prepareForUse(text: string, maxChars: number): string {
  const cut = maxChars > 0 ? truncateForEmbedding(text, maxChars) : text;
  // The tokenizer yields no ids for an empty string and the model then fails; embed a space instead.
  return cut.trim() === "" ? " " : cut;
}

/** Fewer texts than this are embedded in this thread (starting a pool is not worth it for one query). */
const POOL_MIN_TEXTS = 32;

/** Worker threads used by default: FUSIONKIT_EMBED_THREADS, else one per core. */
export function defaultEmbedThreads(): number {
  const env = Number(process.env.FUSIONKIT_EMBED_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : availableParallelism();
}

/** Universal Sentence Encoder (lite, 512-d, Apache-2.0), running offline on TensorFlow.js' WASM backend. */
export class UseEmbedder implements Embedder {
  readonly name: string;
  readonly dim = USE_DIM;
  readonly maxChars: number;
  /** Threads a large call is spread over (1 = this thread only). */
  readonly threads: number;

  /**
   * `maxChars` 0 disables truncation (used by the benchmark to measure what truncation saves); `threads`
   * spreads calls of many texts over that many worker threads (default: one per core).
   */
  constructor(maxChars: number = USE_MAX_CHARS, opts: { threads?: number } = {}) {
    if (!Number.isInteger(maxChars) || maxChars < 0)
      throw new RangeError(`USE max characters must be a non-negative integer, got ${maxChars}`);
    this.maxChars = maxChars;
    this.threads = opts.threads ?? defaultEmbedThreads();
    if (!Number.isInteger(this.threads) || this.threads < 1)
      throw new RangeError(`USE threads must be a positive integer, got ${this.threads}`);
    // The truncation limit changes the vectors, so a non-default one is part of the name (cache key).
    // The thread count does not: every thread runs the same model code on the same batches.
    this.name = maxChars === USE_MAX_CHARS ? "use-512" : `use-512:${maxChars === 0 ? "full" : maxChars}`;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const inputs = texts.map((t) => prepareForUse(t, this.maxChars));
    const batches = useBatches(inputs);
    const out: Float32Array[] = new Array(inputs.length);
    const place = (batch: number[], rows: Float32Array) => {
      batch.forEach((i, k) => {
        out[i] = rows.subarray(k * USE_DIM, (k + 1) * USE_DIM);
      });
    };
    // A small call runs in this thread, unless this process's pool is already up: then it saves loading
    // one more copy of the model here (an evaluation embeds its few model descriptions after the queries).
    if (this.threads < 2 || (inputs.length < POOL_MIN_TEXTS && !existingPool(this.threads)?.started)) {
      for (const b of batches) place(b, await embedUseBatch(b.map((i) => inputs[i])));
      return out;
    }
    // Every batch is queued at once, most padded first; whichever worker is free takes the next.
    const pool = usePool(this.threads);
    await Promise.all(batches.map((b) => pool.embedBatch(b.map((i) => inputs[i])).then((rows) => place(b, rows))));
    return out;
  }
}
