import assert from "node:assert/strict";
import { test } from "node:test";
import type { Outcome } from "../../src/data/types.ts";
import { failingResponses, rankOutcomes, selectTop } from "../../src/distill/rank.ts";

const o = (model: string, performance: number, cost: number, judge: number | null = null, response = `by ${model}`) =>
  ({ queryId: "q", model, mode: "direct", performance, cost, judge, response }) as Outcome;

test("performance ranking: higher performance first, ties by lower cost, then by name", () => {
  const ranked = rankOutcomes([o("a", 1, 3), o("b", 0.5, 1), o("c", 1, 2), o("d", 1, 2)], "performance");
  assert.deepEqual(
    ranked.map((x) => x.model),
    ["c", "d", "a", "b"],
  );
});

test("judge ranking: higher judge first, unjudged last, ties by lower cost", () => {
  const ranked = rankOutcomes([o("a", 1, 1, null), o("b", 0, 5, 0.8), o("c", 1, 2, 0.8), o("d", 1, 9, 1)], "judge");
  assert.deepEqual(
    ranked.map((x) => x.model),
    ["d", "c", "b", "a"],
  );
});

test("hybrid: top 5 by performance (then cost), re-ranked by judge (then cost), top 3 taken", () => {
  const all = [
    o("p1", 1, 1, 0.3),
    o("p2", 1, 2, 1.0),
    o("p3", 1, 3, 0.6),
    o("p4", 0.9, 1, 1.0),
    o("p5", 0.8, 1, 0.6),
    // Sixth by performance: outside the pool despite the best judge score.
    o("p6", 0.7, 0.1, 1.0),
  ];
  const pick = selectTop(all, { by: "hybrid", k: 3 });
  // Pool p1..p5; by judge: p4 (1.0, cost 1) before p2 (1.0, cost 2); then p5 (0.6, cost 1) before p3 (0.6, cost 3).
  assert.deepEqual(
    pick.selected.map((x) => x.model),
    ["p4", "p2", "p5"],
  );
  assert.equal(pick.stoppedAtZero, false);
});

test("hybrid pool holds only successful responses, so a well-judged failure is never chosen", () => {
  const pick = selectTop([o("ok", 1, 1, 0.2), o("bad", 0, 1, 1.0), o("meh", 0.5, 1, 0.4)], { by: "hybrid", k: 3 });
  assert.deepEqual(
    pick.selected.map((x) => x.model),
    ["meh", "ok"],
  );
  assert.equal(pick.stoppedAtZero, true);
});

test("selection stops at the first response with performance 0", () => {
  const pick = selectTop([o("a", 1, 1), o("b", 0, 0.1), o("c", 0.5, 1)], { by: "performance", k: 5 });
  assert.deepEqual(
    pick.selected.map((x) => x.model),
    ["a", "c"],
  );
  assert.equal(pick.stoppedAtZero, true);
  // Under judge ranking a failing response can come first: then nothing is taken.
  const byJudge = selectTop([o("a", 1, 1, 0.5), o("b", 0, 1, 0.9)], { by: "judge", k: 2 });
  assert.deepEqual(byJudge.selected, []);
  assert.equal(byJudge.stoppedAtZero, true);
});

test("top-k caps the selection and responses without text are passed over", () => {
  const pick = selectTop([o("a", 1, 1), o("b", 1, 2, null, "  "), o("c", 1, 3), o("d", 1, 4)], {
    by: "performance",
    k: 2,
  });
  assert.deepEqual(
    pick.selected.map((x) => x.model),
    ["a", "c"],
  );
  assert.equal(pick.withoutText, 1);
  assert.throws(() => selectTop([], { by: "performance", k: 0 }), /positive integer/);
});

test("failing responses in ranking order are the DPO rejections", () => {
  const fails = failingResponses([o("a", 0, 3), o("b", 1, 1), o("c", 0, 1), o("d", 0, 2, null, "")], "performance");
  assert.deepEqual(
    fails.map((x) => x.model),
    ["c", "a"],
  );
});
