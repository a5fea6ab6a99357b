import type { Embedder } from "../embed/embedder.ts";

/**
 * An in-memory LRU of routing-text embeddings in front of an embedder, so a repeated query (a retry, a
 * regenerate, the same system prompt + question) costs a map lookup instead of a sentence-encoder pass.
 */
export class EmbeddingLru {
  private readonly map = new Map<string, Float32Array>();
  readonly inner: Embedder;
  private readonly max: number;
  hits = 0;
  misses = 0;

  constructor(inner: Embedder, max = 10_000) {
    this.inner = inner;
    this.max = max;
  }

  async embed(text: string): Promise<Float32Array> {
    if (this.max === 0) {
      this.misses++;
      return (await this.inner.embed([text]))[0];
    }
    const v = this.map.get(text);
    if (v) {
      this.hits++;
      // Refresh recency only occasionally would be cheaper, but delete+set is O(1) and keeps it a true LRU.
      this.map.delete(text);
      this.map.set(text, v);
      return v;
    }
    this.misses++;
    const [e] = await this.inner.embed([text]);
    this.map.set(text, e);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    return e;
  }
}
