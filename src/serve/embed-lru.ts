import type { Embedder } from "../embed/embedder.ts";
import { Lru } from "./lru.ts";

/** Texts gathered in one event-loop turn and sent to the embedder as one batch. */
interface PendingBatch {
  texts: string[];
  settle: { resolve: (e: Float32Array) => void; reject: (err: unknown) => void }[];
}

/** Largest batch sent at once (the sentence encoder pads a batch to its longest text). */
const MAX_BATCH = 64;

/**
 * An in-memory LRU of routing-text embeddings in front of an embedder, so a repeated query (a retry, a
 * regenerate, the same system prompt + question) costs a map lookup instead of a sentence-encoder pass.
 * Size 0 embeds every request.
 *
 * Misses are coalesced: concurrent requests for one text share a single embedding (when many clients send the
 * same prompt to a fresh gateway, the cache is empty for all of them and each would run the encoder), and the
 * distinct texts of one event-loop turn go to the embedder as one batch, which the encoder's worker threads run
 * faster than one call per text. (This is not what stalls first requests at 200 new connections in
 * bench/gateway-scale.ts: that bench warms the cache at 1 connection first, and the stall stays.)
 */
export class EmbeddingLru {
  readonly inner: Embedder;
  readonly cache: Lru<Float32Array>;
  private readonly inFlight = new Map<string, Promise<Float32Array>>();
  private batch: PendingBatch | null = null;

  constructor(inner: Embedder, max = 10_000) {
    this.inner = inner;
    this.cache = new Lru(max);
  }

  async embed(text: string): Promise<Float32Array> {
    const hit = this.cache.get(text);
    if (hit) return hit;
    const shared = this.inFlight.get(text);
    if (shared) return shared;
    const mine = this.enqueue(text);
    this.inFlight.set(text, mine);
    try {
      const e = await mine;
      this.cache.set(text, e);
      return e;
    } finally {
      this.inFlight.delete(text);
    }
  }

  private enqueue(text: string): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      if (!this.batch || this.batch.texts.length >= MAX_BATCH) {
        const batch: PendingBatch = { texts: [], settle: [] };
        this.batch = batch;
        setImmediate(() => this.flush(batch));
      }
      this.batch.texts.push(text);
      this.batch.settle.push({ resolve, reject });
    });
  }

  private flush(batch: PendingBatch): void {
    if (this.batch === batch) this.batch = null;
    // Through a promise, so an embedder that throws instead of rejecting fails these requests, not the process.
    Promise.resolve()
      .then(() => this.inner.embed(batch.texts))
      .then(
        (embeddings) => {
          batch.settle.forEach((s, i) => {
            const e = embeddings[i];
            if (e) s.resolve(e);
            else
              s.reject(new Error(`embedder returned ${embeddings.length} embeddings for ${batch.texts.length} texts`));
          });
        },
        (err: unknown) => {
          for (const s of batch.settle) s.reject(err);
        },
      );
  }
}
