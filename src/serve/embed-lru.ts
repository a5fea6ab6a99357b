import type { Embedder } from "../embed/embedder.ts";
import { Lru } from "./lru.ts";

/**
 * An in-memory LRU of routing-text embeddings in front of an embedder, so a repeated query (a retry, a
 * regenerate, the same system prompt + question) costs a map lookup instead of a sentence-encoder pass.
 * Size 0 embeds every request.
 */
export class EmbeddingLru {
  readonly inner: Embedder;
  readonly cache: Lru<Float32Array>;

  constructor(inner: Embedder, max = 10_000) {
    this.inner = inner;
    this.cache = new Lru(max);
  }

  async embed(text: string): Promise<Float32Array> {
    const hit = this.cache.get(text);
    if (hit) return hit;
    const [e] = await this.inner.embed([text]);
    this.cache.set(text, e);
    return e;
  }
}
