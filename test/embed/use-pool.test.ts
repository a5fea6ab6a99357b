import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { USE_MAX_CHARS, UseEmbedder } from "../../src/embed/use.ts";
import { useBatches } from "../../src/embed/use-model.ts";
import { eta } from "../../src/util/progress.ts";
import { REPO } from "../helpers.ts";
import { LibraryUse } from "../support/library-use.ts";

/** Real LLMRouter queries of every length (every 60th train query), plus an empty text. */
function realTexts(): string[] {
  const items = JSON.parse(readFileSync(`${REPO}/data/llmrouter/dcrouter_preprocessed/train.json`, "utf8")) as {
    question: string;
  }[];
  return [...items.filter((_, i) => i % 60 === 0).map((x) => x.question), ""];
}

test("USE on worker threads and in this thread: bit-identical to @energetic-ai/embeddings' own embed", async () => {
  const texts = realTexts();
  assert.ok(texts.some((t) => t.length > USE_MAX_CHARS) && texts.some((t) => t.length < 60), "short and long texts");
  const single = await new UseEmbedder(undefined, { threads: 1 }).embed(texts);
  const pooled = await new UseEmbedder(undefined, { threads: 2 }).embed(texts);

  // What the encoder computed before the pool and the in-place tokenizer (the cache and trained artifacts
  // hold these numbers).
  const reference = await new LibraryUse().embed(texts);
  assert.equal(pooled.length, texts.length);
  for (let i = 0; i < texts.length; i++) {
    assert.equal(single[i].length, 512);
    assert.deepEqual([...single[i]], [...reference[i]], `text ${i}, this thread`);
    assert.deepEqual([...pooled[i]], [...reference[i]], `text ${i}, worker threads`);
  }
  assert.throws(() => new UseEmbedder(undefined, { threads: 0 }), /threads must be a positive integer/);
});

test("USE batches: length-sorted, under the padding budget, every text once, most padded first", () => {
  const lens = [5, 900, 40, 40, 2500, 10, 300, 41, 39, 1200];
  const inputs = lens.map((n) => "x".repeat(n));
  const batches = useBatches(inputs);
  assert.deepEqual(
    batches.flat().sort((a, b) => a - b),
    lens.map((_, i) => i),
  );
  const padded = batches.map((b) => b.length * Math.max(...b.map((i) => lens[i])));
  for (const [k, b] of batches.entries()) {
    for (let j = 1; j < b.length; j++) assert.ok(lens[b[j - 1]] <= lens[b[j]], "ascending within a batch");
    // A text longer than the budget goes alone; otherwise the batch fits the 2,000-character budget.
    assert.ok(b.length === 1 || padded[k] <= 2000, `batch ${k} pads to ${padded[k]}`);
    if (k > 0) assert.ok(padded[k - 1] >= padded[k], "most padded first");
  }
  // The four ~40-character texts and the 5- and 10-character ones share batches instead of going alone.
  assert.ok(batches.length < lens.length);
});

test("progress ETA from the rate so far", () => {
  // 25 of 100 done in 10 s → 75 left at 2.5/s → 30 s
  assert.equal(eta(25, 100, 10_000), ", eta 30s");
  // 10 of 100 in 10 s → 90 s → 1m30s
  assert.equal(eta(10, 100, 10_000), ", eta 1m30s");
  assert.equal(eta(0, 100, 5_000), "");
  assert.equal(eta(100, 100, 5_000), "");
});
