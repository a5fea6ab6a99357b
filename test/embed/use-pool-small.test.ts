import assert from "node:assert/strict";
import { test } from "node:test";
import { dot } from "../../src/embed/embedder.ts";
import { UseEmbedder } from "../../src/embed/use.ts";
import { useModelLoadedHere } from "../../src/embed/use-model.ts";

// Its own file, so its own process: nothing here has loaded the model in the main thread before.
test("once the pool is up, a small USE call goes to it instead of loading the model in this thread", async () => {
  const use = new UseEmbedder(undefined, { threads: 2 });
  const many = Array.from({ length: 40 }, (_, i) => `What is ${i} times ${i + 1}?`);
  const vectors = await use.embed(many);
  assert.equal(useModelLoadedHere(), false, "a call of 40 texts ran on the workers only");
  const [one] = await use.embed([many[3]]);
  assert.equal(useModelLoadedHere(), false, "the small call after it too");
  assert.deepEqual([...one], [...vectors[3]]);
  assert.ok(Math.abs(dot(one, one) - 1) < 1e-5);
});
