import assert from "node:assert/strict";
import { test } from "node:test";
import type { Embedder } from "../../src/embed/embedder.ts";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { EmbeddingLru } from "../../src/serve/embed-lru.ts";

/** The real hash embedder, recording each batch it is asked for. */
class RecordingEmbedder implements Embedder {
  readonly inner = new HashEmbedder(64);
  readonly name = "recording";
  readonly dim = 64;
  readonly batches: string[][] = [];
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.batches.push([...texts]);
    return this.inner.embed(texts);
  }
}

test("200 concurrent misses of one text embed it once (the cold-start stampede)", async () => {
  const rec = new RecordingEmbedder();
  const lru = new EmbeddingLru(rec);
  const all = await Promise.all(Array.from({ length: 200 }, () => lru.embed("what is 2 + 2?")));
  assert.deepEqual(rec.batches, [["what is 2 + 2?"]]);
  const [expected] = await rec.inner.embed(["what is 2 + 2?"]);
  for (const e of all) assert.deepEqual(e, expected);
  await lru.embed("what is 2 + 2?");
  assert.equal(rec.batches.length, 1, "then served from the cache");
});

test("distinct texts of one turn go as one batch, each request gets its own vector", async () => {
  const rec = new RecordingEmbedder();
  const lru = new EmbeddingLru(rec);
  const texts = ["alpha", "beta", "gamma", "beta"];
  const got = await Promise.all(texts.map((t) => lru.embed(t)));
  assert.deepEqual(rec.batches, [["alpha", "beta", "gamma"]]);
  const direct = await rec.inner.embed(texts);
  assert.deepEqual(got, direct);
  assert.notDeepEqual(got[0], got[1]);
});

test("batches are capped at 64 texts", async () => {
  const rec = new RecordingEmbedder();
  const lru = new EmbeddingLru(rec);
  await Promise.all(Array.from({ length: 130 }, (_, i) => lru.embed(`query ${i}`)));
  assert.deepEqual(
    rec.batches.map((b) => b.length),
    [64, 64, 2],
  );
});

test("a failing embedder fails the requests of its batch, caches nothing, and the next call tries again", async () => {
  let fail = true;
  const flaky: Embedder = {
    name: "flaky",
    dim: 64,
    embed(texts: string[]): Promise<Float32Array[]> {
      // Throws instead of rejecting: must still surface as rejected requests, never an uncaught exception.
      if (fail) throw new Error("encoder down");
      return new HashEmbedder(64).embed(texts);
    },
  };
  const lru = new EmbeddingLru(flaky);
  const results = await Promise.allSettled([lru.embed("a"), lru.embed("a"), lru.embed("b")]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["rejected", "rejected", "rejected"],
  );
  assert.equal(lru.cache.size, 0);
  fail = false;
  assert.equal((await lru.embed("a")).length, 64);
  assert.equal(lru.cache.size, 1);
});
