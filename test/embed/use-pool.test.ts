import assert from "node:assert/strict";
import { test } from "node:test";
import { UseEmbedder } from "../../src/embed/use.ts";
import { eta } from "../../src/util/progress.ts";

test("USE on worker threads: the same vectors, in input order, as this thread", async () => {
  // Mixed lengths (and an empty text) so the length-sorted dealing across threads is exercised.
  const texts = Array.from({ length: 40 }, (_, i) =>
    i === 7 ? "" : `${"Why is the sky blue? ".repeat(1 + (i % 5))}question ${i}`,
  );
  const single = await new UseEmbedder(undefined, { threads: 1 }).embed(texts);
  const pooled = await new UseEmbedder(undefined, { threads: 2 }).embed(texts);
  assert.equal(pooled.length, texts.length);
  for (let i = 0; i < texts.length; i++) {
    assert.equal(pooled[i]?.length, 512);
    let worst = 0;
    for (let k = 0; k < 512; k++) worst = Math.max(worst, Math.abs((pooled[i]?.[k] ?? 0) - (single[i]?.[k] ?? 0)));
    assert.ok(worst < 1e-5, `text ${i}: worst difference ${worst}`);
  }
  assert.throws(() => new UseEmbedder(undefined, { threads: 0 }), /threads must be a positive integer/);
});

test("progress ETA from the rate so far", () => {
  // 25 of 100 done in 10 s → 75 left at 2.5/s → 30 s
  assert.equal(eta(25, 100, 10_000), ", eta 30s");
  // 10 of 100 in 10 s → 90 s → 1m30s
  assert.equal(eta(10, 100, 10_000), ", eta 1m30s");
  assert.equal(eta(0, 100, 5_000), "");
  assert.equal(eta(100, 100, 5_000), "");
});
