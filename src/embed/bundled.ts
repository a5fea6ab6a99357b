import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Store } from "../data/store.ts";
import { EmbeddingCache } from "./cache-table.ts";
import { normalize } from "./embedder.ts";

/**
 * Precomputed embeddings shipped with the bundled data (data/embeddings/<embedder>.bin), so the demo does
 * not spend minutes running the encoder on 2 cores. Compact format, little-endian:
 *
 *   "FKEMB001"                 8 bytes magic
 *   header length H            uint32
 *   header                     H bytes of JSON {embedder, dim, count, quantization: "int8-absmax", hash: "sha256", ...}
 *   text hashes                count × 32 bytes (SHA-256 of the full text, as the cache keys it)
 *   scales                     count × float32 (per vector: max |component| / 127)
 *   vectors                    count × dim int8
 *
 * Per-vector int8 quantisation keeps cosine similarity to ~1e-4 of the float32 vectors at a quarter of the
 * size. Regenerate with `node --import tsx src/embed/precompute-bundled.ts` (see data/embeddings/README.md).
 */
export const BUNDLED_DIR = resolve(import.meta.dirname, "../../data/embeddings");
const MAGIC = "FKEMB001";

export interface BundledHeader {
  embedder: string;
  dim: number;
  count: number;
  quantization: "int8-absmax";
  hash: "sha256";
  [extra: string]: unknown;
}

export function bundledPath(embedder: string, dir: string = BUNDLED_DIR): string {
  return join(dir, `${embedder.replace(/[^A-Za-z0-9._-]/g, "_")}.bin`);
}

export function writeBundled(
  file: string,
  embedder: string,
  entries: Array<[hash: string, vector: Float32Array]>,
  extra: Record<string, unknown> = {},
): void {
  const dim = entries[0]?.[1].length ?? 0;
  const header = Buffer.from(
    JSON.stringify({ embedder, dim, count: entries.length, quantization: "int8-absmax", hash: "sha256", ...extra }),
  );
  const n = entries.length;
  const buf = Buffer.alloc(8 + 4 + header.length + n * 32 + n * 4 + n * dim);
  let off = buf.write(MAGIC, 0, "latin1");
  off = buf.writeUInt32LE(header.length, off);
  off += header.copy(buf, off);
  for (const [h] of entries) off += Buffer.from(h, "hex").copy(buf, off);
  const scales = entries.map(([, v]) => {
    let m = 0;
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
    return m / 127;
  });
  for (const s of scales) off = buf.writeFloatLE(s, off);
  entries.forEach(([, v], r) => {
    if (v.length !== dim) throw new Error(`vector ${r} has ${v.length} dimensions, expected ${dim}`);
    const s = scales[r];
    for (let i = 0; i < dim; i++) buf.writeInt8(s > 0 ? Math.round(v[i] / s) : 0, off + i);
    off += dim;
  });
  writeFileSync(file, buf);
}

/** Read a bundled file: header and dequantised, re-normalised vectors keyed by text hash. */
export function readBundled(file: string): { header: BundledHeader; vectors: Map<string, Float32Array> } {
  const buf = readFileSync(file);
  const bad = (why: string) => new Error(`${file}: not a valid FusionKit embeddings file (${why})`);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== MAGIC) throw bad("bad magic");
  const hlen = buf.readUInt32LE(8);
  let header: BundledHeader;
  try {
    header = JSON.parse(buf.toString("utf8", 12, 12 + hlen)) as BundledHeader;
  } catch {
    throw bad("unreadable header");
  }
  const { dim, count } = header;
  const start = 12 + hlen;
  if (header.quantization !== "int8-absmax" || !(dim > 0) || !(count >= 0)) throw bad("unknown header fields");
  if (buf.length !== start + count * (32 + 4 + dim)) throw bad(`size ${buf.length} does not match ${count}×${dim}`);
  const vectors = new Map<string, Float32Array>();
  const scaleAt = start + count * 32;
  const vecAt = scaleAt + count * 4;
  for (let r = 0; r < count; r++) {
    const hash = buf.toString("hex", start + r * 32, start + (r + 1) * 32);
    const s = buf.readFloatLE(scaleAt + r * 4);
    const v = new Float32Array(dim);
    const base = vecAt + r * dim;
    for (let i = 0; i < dim; i++) v[i] = buf.readInt8(base + i) * s;
    vectors.set(hash, normalize(v));
  }
  return { header, vectors };
}

export interface SeedResult {
  /** Whether a bundled file exists for this embedder. */
  available: boolean;
  /** Rows newly written to the store's cache. */
  added: number;
}

const loaded = new Map<string, Map<string, Float32Array> | null>();

/** The bundled vectors of an embedder, read once per process; null when none are shipped. */
export function bundledVectors(embedderName: string, dir: string = BUNDLED_DIR): Map<string, Float32Array> | null {
  const file = bundledPath(embedderName, dir);
  if (!loaded.has(file)) {
    if (!existsSync(file)) loaded.set(file, null);
    else {
      const { header, vectors } = readBundled(file);
      if (header.embedder !== embedderName)
        throw new Error(`${file} holds embeddings of "${header.embedder}", not "${embedderName}"`);
      loaded.set(file, vectors);
    }
  }
  return loaded.get(file) ?? null;
}

/**
 * Copy the bundled embeddings of `embedderName` into the store's cache (only rows it lacks; only
 * `onlyHashes` when given). Idempotent; a no-op when nothing is bundled for that embedder.
 */
export function seedEmbeddingCache(
  store: Store,
  embedderName: string,
  opts: { onlyHashes?: Iterable<string>; dir?: string } = {},
): SeedResult {
  const vectors = bundledVectors(embedderName, opts.dir);
  if (!vectors) return { available: false, added: 0 };
  const cache = new EmbeddingCache(store);
  const entries: Array<[string, Float32Array]> = [];
  if (opts.onlyHashes)
    for (const h of new Set(opts.onlyHashes)) {
      const v = vectors.get(h);
      if (v) entries.push([h, v]);
    }
  else entries.push(...vectors);
  return { available: true, added: cache.put(embedderName, entries) };
}
