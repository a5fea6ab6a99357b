import assert from "node:assert/strict";
import { test } from "node:test";
import { Store } from "../../src/data/store.ts";
import { CachedEmbedder } from "../../src/embed/cache.ts";
import { EmbeddingCache } from "../../src/embed/cache-table.ts";
import type { Embedder } from "../../src/embed/embedder.ts";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { tempDb } from "../helpers.ts";

/** The real hash embedder, counting what reaches it. */
class Counting implements Embedder {
  readonly inner = new HashEmbedder(64);
  readonly name = this.inner.name;
  readonly dim = this.inner.dim;
  calls = 0;
  texts: string[] = [];
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls++;
    this.texts.push(...texts);
    return this.inner.embed(texts);
  }
}

test("cached embedder: the second run embeds nothing and returns identical vectors", async () => {
  const db = tempDb();
  const texts = ["alpha beta", "gamma delta", "alpha beta", "epsilon"];
  const first = new Counting();
  let store = new Store(db);
  const a = await new CachedEmbedder(first, store).embed(texts);
  // Each distinct text is embedded once, even when repeated in the input.
  assert.deepEqual(first.texts.sort(), ["alpha beta", "epsilon", "gamma delta"]);
  assert.equal(new EmbeddingCache(store).count("hash-64"), 3);
  store.close();

  // A new process-like start: reopen the store file.
  store = new Store(db);
  const second = new Counting();
  const b = await new CachedEmbedder(second, store).embed(texts);
  assert.equal(second.calls, 0);
  assert.equal(b.length, 4);
  for (let i = 0; i < 4; i++) assert.deepEqual([...b[i]], [...a[i]]);

  // Only the new text reaches the inner embedder.
  const third = new Counting();
  const cachedThird = new CachedEmbedder(third, store);
  await cachedThird.embed(["epsilon", "zeta"]);
  assert.deepEqual(third.texts, ["zeta"]);
  assert.equal(cachedThird.embedded, 1);
  store.close();
});

test("cache entries are per embedder: another embedder name does not hit", async () => {
  const store = new Store(tempDb());
  await new CachedEmbedder(new HashEmbedder(64), store).embed(["same text"]);
  const other = new Counting();
  // Different name (hash-64 vs a renamed one) → a miss.
  const renamed: Embedder = { name: "hash-64-other", dim: 64, embed: (t) => other.embed(t) };
  await new CachedEmbedder(renamed, store).embed(["same text"]);
  assert.equal(other.calls, 1);
  store.close();
});

test("a corrupt cache row is reported with its embedder and hash", async () => {
  const store = new Store(tempDb());
  const cache = new EmbeddingCache(store);
  store.db
    .prepare("INSERT INTO embeddings (embedder, text_hash, dim, vector) VALUES (?, ?, ?, ?)")
    .run("hash-64", "abc", 64, Buffer.alloc(10));
  assert.throws(() => cache.get("hash-64", ["abc"]), /\(hash-64, abc\) has 10 bytes, expected 256/);
  store.close();
});

/** The real hash embedder behind a delay, recording when each call starts and ends; fails on request. */
class Slow implements Embedder {
  readonly inner = new HashEmbedder(64);
  readonly name = this.inner.name;
  readonly dim = this.inner.dim;
  readonly events: string[] = [];
  private calls = 0;
  constructor(private readonly failCall = -1) {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    const call = this.calls++;
    this.events.push(`start ${call}`);
    await new Promise((r) => setTimeout(r, 30));
    this.events.push(`end ${call}`);
    if (call === this.failCall) throw new Error(`embedding call ${call} failed`);
    return this.inner.embed(texts);
  }
}

test("cached embedder: the next chunk embeds while the previous one is written; vectors in input order", async () => {
  const store = new Store(tempDb());
  const texts = Array.from({ length: 700 }, (_, i) => `query number ${i} about topic ${i % 13}`);
  const slow = new Slow();
  const cachedSlow = new CachedEmbedder(slow, store);
  const got = await cachedSlow.embed(texts);
  // 700 texts = chunks of 256, 256, 188; the second starts before the first has come back.
  assert.deepEqual(slow.events.slice(0, 3), ["start 0", "start 1", "end 0"]);
  assert.equal(slow.events.filter((e) => e.startsWith("start")).length, 3);
  assert.equal(cachedSlow.embedded, 700);
  const direct = await new HashEmbedder(64).embed(texts);
  for (let i = 0; i < texts.length; i++) assert.deepEqual([...got[i]], [...direct[i]], `text ${i}`);
  assert.equal(new EmbeddingCache(store).count("hash-64"), 700);
  store.close();
});

test("cached embedder: a failed chunk fails the call, the chunks before it stay cached", async () => {
  const store = new Store(tempDb());
  const texts = Array.from({ length: 700 }, (_, i) => `another query ${i}`);
  await assert.rejects(new CachedEmbedder(new Slow(1), store).embed(texts), /embedding call 1 failed/);
  assert.equal(new EmbeddingCache(store).count("hash-64"), 256, "the first chunk was written");
  // A rerun embeds only what is missing.
  const again = new Slow();
  const cachedAgain = new CachedEmbedder(again, store);
  await cachedAgain.embed(texts);
  assert.equal(cachedAgain.embedded, 444);
  store.close();
});
