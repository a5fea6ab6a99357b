import type { Store } from "../data/store.ts";

/** SQLite limits bound parameters per statement; look hashes up in chunks below it. */
const LOOKUP_CHUNK = 500;

export function vectorToBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function blobToVector(b: Buffer, dim: number, where: string): Float32Array {
  if (b.byteLength !== dim * 4)
    throw new Error(
      `embedding cache row ${where} has ${b.byteLength} bytes, expected ${dim * 4} for ${dim} dimensions`,
    );
  // Copy: a Buffer from SQLite need not be 4-byte aligned.
  const v = new Float32Array(dim);
  new Uint8Array(v.buffer).set(b);
  return v;
}

/** The `embeddings` table of a store: vectors by (embedder name, SHA-256 of the text). */
export class EmbeddingCache {
  readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /** Cached vectors for these hashes (missing ones absent from the map). */
  get(embedder: string, hashes: string[]): Map<string, Float32Array> {
    const found = new Map<string, Float32Array>();
    const unique = [...new Set(hashes)];
    for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
      const chunk = unique.slice(i, i + LOOKUP_CHUNK);
      const rows = this.store.db
        .prepare<unknown[], { text_hash: string; dim: number; vector: Buffer }>(
          `SELECT text_hash, dim, vector FROM embeddings WHERE embedder = ? AND text_hash IN (${chunk.map(() => "?").join(",")})`,
        )
        .all(embedder, ...chunk);
      for (const r of rows) found.set(r.text_hash, blobToVector(r.vector, r.dim, `(${embedder}, ${r.text_hash})`));
    }
    return found;
  }

  /** Store vectors in one transaction; an existing row is kept (same embedder + text ⇒ same vector). */
  put(embedder: string, entries: Iterable<[hash: string, vector: Float32Array]>): number {
    const ins = this.store.db.prepare(
      "INSERT OR IGNORE INTO embeddings (embedder, text_hash, dim, vector) VALUES (?, ?, ?, ?)",
    );
    let added = 0;
    this.store.db.transaction(() => {
      for (const [h, v] of entries) added += ins.run(embedder, h, v.length, vectorToBlob(v)).changes;
    })();
    return added;
  }

  count(embedder?: string): number {
    const row = embedder
      ? this.store.db
          .prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM embeddings WHERE embedder = ?")
          .get(embedder)
      : this.store.db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM embeddings").get();
    return row?.n ?? 0;
  }
}
