import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachConcurrently } from "../../src/util/concurrent.ts";

const tick = () => new Promise((r) => setImmediate(r));

test("forEachConcurrently: every item once, in start order, never more than `concurrency` in flight", async () => {
  const started: number[] = [];
  let inFlight = 0;
  let most = 0;
  await forEachConcurrently([10, 11, 12, 13, 14, 15, 16], 3, async (item, i) => {
    assert.equal(item, 10 + i);
    started.push(i);
    most = Math.max(most, ++inFlight);
    await tick();
    inFlight--;
  });
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(most, 3);
});

test("forEachConcurrently: after a call throws no item is started, and the error is thrown once the others end", async () => {
  const started: number[] = [];
  let ended = 0;
  await assert.rejects(
    forEachConcurrently([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await tick();
      if (i === 1) throw new Error("item 1 failed");
      await tick();
      ended++;
    }),
    /item 1 failed/,
  );
  // Item 1 fails while item 0 is in flight: item 0 still ends, and no later item starts.
  assert.deepEqual(started, [0, 1]);
  assert.equal(ended, 1);
});

test("forEachConcurrently: an aborted signal starts nothing more; no items, or concurrency < 1, still works", async () => {
  const ac = new AbortController();
  const started: number[] = [];
  await forEachConcurrently(
    [0, 1, 2, 3],
    1,
    async (i) => {
      started.push(i);
      if (i === 1) ac.abort();
    },
    ac.signal,
  );
  assert.deepEqual(started, [0, 1]);
  await forEachConcurrently([], 4, async () => assert.fail("no item to run"));
  const seen: number[] = [];
  await forEachConcurrently([7, 8], 0, async (x) => {
    seen.push(x);
  });
  assert.deepEqual(seen, [7, 8]);
});
