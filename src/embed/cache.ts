import type { Store } from "../data/store.ts";
import { progress } from "../util/progress.ts";
import { seedEmbeddingCache } from "./bundled.ts";
import { EmbeddingCache } from "./cache-table.ts";
import { type Embedder, textHash } from "./embedder.ts";

/** Texts embedded (and written) per step: a crash keeps what was done, and the progress bar moves. */
const WRITE_CHUNK = 256;
/** Below this many missing texts no progress bar is shown. */
const PROGRESS_MIN = 200;

export interface CachedEmbedderOptions {
  /** Label of the progress bar shown when many texts are missing. */
  label?: string;
  /**
   * On a miss, first copy this embedder's precomputed vectors for the missing texts from data/embeddings/
   * (when shipped for this embedder) into the cache, and embed only what is still missing. Default true.
   */
  seedBundled?: boolean;
}

/**
 * An embedder that answers from the store first and embeds only texts it has not seen (each distinct
 * text once), writing them back as it goes. A second training run on the same data embeds nothing.
 */
export class CachedEmbedder implements Embedder {
  readonly inner: Embedder;
  readonly cache: EmbeddingCache;
  private readonly label: string;
  private readonly seedBundled: boolean;
  /** Texts actually sent to the inner embedder by this instance (for reports and tests). */
  embedded = 0;

  constructor(inner: Embedder, store: Store, opts: CachedEmbedderOptions = {}) {
    this.inner = inner;
    this.cache = new EmbeddingCache(store);
    this.label = opts.label ?? `embedding (${inner.name})`;
    this.seedBundled = opts.seedBundled ?? true;
  }

  get name(): string {
    return this.inner.name;
  }

  get dim(): number {
    return this.inner.dim;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const hashes = texts.map(textHash);
    let found = this.cache.get(this.name, hashes);
    if (this.seedBundled && found.size < new Set(hashes).size) {
      const seeded = seedEmbeddingCache(this.cache.store, this.name, {
        onlyHashes: hashes.filter((h) => !found.has(h)),
      });
      if (seeded.added > 0) found = this.cache.get(this.name, hashes);
    }
    const missing = new Map<string, string>();
    hashes.forEach((h, i) => {
      if (!found.has(h) && !missing.has(h)) missing.set(h, texts[i]);
    });
    if (missing.size > 0) {
      const todo = [...missing];
      const bar = todo.length >= PROGRESS_MIN ? progress(this.label, todo.length) : null;
      const chunks: [string, string][][] = [];
      for (let i = 0; i < todo.length; i += WRITE_CHUNK) chunks.push(todo.slice(i, i + WRITE_CHUNK));
      const started: Promise<Float32Array[]>[] = [];
      const start = (c: number) => {
        if (c >= chunks.length) return;
        const p = this.inner.embed(chunks[c].map(([, t]) => t));
        p.catch(() => {}); // awaited in turn below; not an unhandled rejection while earlier chunks finish
        started[c] = p;
      };
      try {
        // Two chunks in flight: while one is written to the store (and while its slowest batch finishes)
        // the next is already embedding, so a pooled embedder's threads do not wait between chunks.
        start(0);
        start(1);
        let done = 0;
        for (let c = 0; c < chunks.length; c++) {
          const vectors = await started[c];
          start(c + 2);
          const chunk = chunks[c];
          this.embedded += chunk.length;
          const entries = chunk.map(([h], k): [string, Float32Array] => [h, vectors[k]]);
          this.cache.put(this.name, entries);
          for (const [h, v] of entries) found.set(h, v);
          done += chunk.length;
          bar?.update(done);
        }
      } finally {
        bar?.stop();
      }
    }
    return hashes.map((h) => found.get(h) as Float32Array);
  }
}

/** Wrap an embedder with the store's cache unless it already is cached. */
export function cached(embedder: Embedder, store: Store): CachedEmbedder {
  return embedder instanceof CachedEmbedder && embedder.cache.store === store
    ? embedder
    : new CachedEmbedder(embedder, store);
}
