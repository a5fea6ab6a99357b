import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { policySubset, replayPolicy } from "../../src/eval/policies.ts";
import { CascadePolicy, chainPool, enumerateChains } from "../../src/routing/cascade.ts";
import {
  type AnswerView,
  type CallPlan,
  decideAfterStage,
  executePlan,
  type PolicyData,
  recordedView,
} from "../../src/routing/policy.ts";
import { loadPolicy, savePolicy, trainPolicy } from "../../src/routing/policy-artifacts.ts";
import { liveAnswerView } from "../../src/routing/policy-data.ts";
import { choosePoints, restrictPlan } from "../../src/routing/policy-fit.ts";
import type { CandidateInfo } from "../../src/routing/router.ts";
import { tempDir } from "../helpers.ts";

/** Answers by candidate ("" = none extractable); agreement = equal strings. */
function view(answers: string[]): AnswerView {
  return { answered: (j) => answers[j] !== "", similarity: (a, b) => (answers[a] === answers[b] ? 1 : 0) };
}

const W = { success: [0.5, 0.6, 0.9, 0.7], strength: [0.5, 0.6, 0.9, 0.7] };
const CASCADE: CallPlan = {
  stages: [[0, 1], [2]],
  stop: { agree: 2, support: Number.POSITIVE_INFINITY, similarity: 1 },
};

test("cascade decision: the cheap pair agrees → accepted after stage 1, the more confident of the two answers", () => {
  const e = executePlan(CASCADE, view(["x", "x", "y", ""]), W);
  assert.deepEqual(e, { accepted: 1, reason: "agree", calls: [0, 1], stages: 1 });
});

test("cascade decision: the pair disagrees → escalates; the strong answer wins the weighted vote", () => {
  const e = executePlan(CASCADE, view(["x", "z", "y", ""]), W);
  assert.deepEqual(e, { accepted: 2, reason: "vote", calls: [0, 1, 2], stages: 2 });
  // The strong model agrees with candidate 0: group {0, 2} (support 1.4) wins; its spokesman is 2.
  assert.equal(executePlan(CASCADE, view(["y", "z", "y", ""]), W).accepted, 2);
});

test("a stage without extractable answers escalates; nobody answering at the end falls to the strongest called", () => {
  assert.equal(decideAfterStage(CASCADE, 0, [0, 1], view(["", "", "y", ""]), W), null);
  const e = executePlan(CASCADE, view(["", "", "", ""]), W);
  assert.deepEqual(e, { accepted: 2, reason: "vote", calls: [0, 1, 2], stages: 2 });
});

test("confidence stop rule: summed predicted success of agreeing answers ≥ τ accepts a single answer", () => {
  const plan: CallPlan = { stages: [[3], [2]], stop: { agree: 2, support: 0.65, similarity: 1 } };
  assert.deepEqual(executePlan(plan, view(["", "", "y", "x"]), W), {
    accepted: 3,
    reason: "confident",
    calls: [3],
    stages: 1,
  });
  const strict: CallPlan = { stages: [[3], [2]], stop: { agree: 2, support: 0.75, similarity: 1 } };
  assert.equal(executePlan(strict, view(["", "", "y", "x"]), W).calls.length, 2);
});

test("vote of three: majority of answers, ties to the stronger candidate", () => {
  const vote: CallPlan = {
    stages: [[0, 1, 3]],
    stop: { agree: Number.POSITIVE_INFINITY, support: Number.POSITIVE_INFINITY, similarity: 1 },
  };
  // 0 and 1 agree (support 1.1) against 3 (0.7).
  assert.equal(executePlan(vote, view(["x", "x", "", "y"]), W).accepted, 1);
  // All differ: the highest weight (3, 0.7) wins.
  assert.equal(executePlan(vote, view(["x", "z", "", "y"]), W).accepted, 3);
  // Equal weights: the stronger candidate.
  const eq = { success: [0.5, 0.5, 0.5, 0.5], strength: [0.1, 0.2, 0.3, 0.4] };
  assert.equal(executePlan(vote, view(["x", "z", "", "y"]), eq).accepted, 3);
});

test("restrictPlan drops candidates that cannot be called and empty stages", () => {
  assert.deepEqual(
    restrictPlan(CASCADE, (j) => j !== 1),
    { stages: [[0], [2]], stop: CASCADE.stop },
  );
  assert.deepEqual(
    restrictPlan(CASCADE, (j) => j === 2),
    { stages: [[2]], stop: CASCADE.stop },
  );
  assert.equal(
    restrictPlan(CASCADE, () => false),
    null,
  );
});

test("chain pool: the cost–performance front and the cheapest; chains: singles, agree-or-escalate, three-stage, votes", () => {
  // perf/cost: 0 cheap+weak, 1 cheap+ok, 2 dear+best, 3 dominated (dearer and worse than 1).
  const pool = chainPool([0.5, 0.6, 0.9, 0.55], [1, 2, 10, 3], 3);
  assert.deepEqual(pool, [0, 1, 2]);
  const chains = enumerateChains(pool);
  // 3 singles; 3 pairs × 1 final = 3 two-stage; 1 vote of three; three-stage needs 4 candidates.
  assert.equal(chains.length, 7);
  assert.ok(chains.some((c) => JSON.stringify(c.stages) === "[[0,1],[2]]"));
  assert.ok(chains.some((c) => JSON.stringify(c.stages) === "[[0,1,2]]"));
  assert.equal(enumerateChains([0, 1, 2, 3]).length, 4 + 6 * 2 + 4 + 6 * 2 * 1);
});

test("operating points from out-of-fold points", () => {
  const oof = [
    { performance: 0.7, cost: 10 },
    { performance: 0.65, cost: 5 },
    { performance: 0.61, cost: 2 },
    { performance: 0.5, cost: 1 },
  ];
  assert.deepEqual(choosePoints(oof, { performance: 0.6, cost: 6 }), {
    "match-best": 2,
    "within-cost": 1,
    "max-performance": 0,
  });
  // Nothing matches: the best point; nothing within cost: the cheapest.
  assert.deepEqual(choosePoints(oof, { performance: 0.8, cost: 0.5 }), {
    "match-best": 0,
    "within-cost": 3,
    "max-performance": 0,
  });
});

/**
 * Three candidates on one task: 0 and 1 cheap (cost 1, 2), 2 strong (cost 10). On half the queries the
 * cheap pair agree and are right; on the other half they disagree and only the strong one is right.
 */
function toy(n: number): PolicyData {
  const c = 3;
  const candidates: CandidateInfo[] = ["a", "b", "s"].map((key) => ({
    key,
    model: key,
    mode: "direct",
    inputPrice: 1,
    outputPrice: 1,
    description: null,
  }));
  const performance = new Float64Array(n * c);
  const cost = new Float64Array(n * c);
  const similarity = new Float32Array(n * c * c);
  for (let i = 0; i < n; i++) {
    const easy = i % 2 === 0;
    performance.set([easy ? 1 : 0, easy ? 1 : 0, 1], i * c);
    cost.set([1, 2, 10], i * c);
    const agree = easy ? [1, 1, 1, 1, 1, 1, 1, 1, 1] : [1, 0, 0, 0, 1, 0, 0, 0, 1];
    similarity.set(agree, i * c * c);
  }
  return {
    candidates,
    queries: Array.from({ length: n }, (_, i) => ({ text: `q${i}`, embedding: new Float32Array([1]), task: "t" })),
    performance,
    cost,
    judge: null,
    agreement: { kinds: new Array(n).fill("exact"), similarity },
  };
}

test("cascade learns 'pair agrees or escalate': the strong model's quality at (3 + 13)/2 = 8 of its cost 10", () => {
  const data = toy(40);
  const p = new CascadePolicy({ folds: 4 });
  p.fit(data);
  const lambdas = p.lambdas();
  // λ = 0: every chain reaching performance 1 ties; the cheapest of them is the cascade [[0,1],[2]] (mean cost 8 < 10).
  const plan0 = p.plans(data.queries.slice(0, 1), 0)[0]?.plan;
  assert.deepEqual(plan0?.stages, [[0, 1], [2]]);
  const r = replayPolicy(p, data, 0);
  const meanCost = r.cost.reduce((a, b) => a + b, 0) / 40;
  assert.equal(meanCost, (3 + 13) / 2);
  assert.equal(r.performance.reduce((a, b) => a + b, 0) / 40, 1);
  assert.equal(r.calls, 20 * 2 + 20 * 3);
  // The match-best point needs the strong model's quality; a very high λ takes the cheapest single.
  assert.equal(p.point("match-best"), 0);
  const last = p.plans(data.queries.slice(0, 1), lambdas.length - 1)[0]?.plan;
  assert.deepEqual(last?.stages, [[0]]);
});

test("policySubset keeps each row's agreement and recordedView reads it", () => {
  const data = toy(4);
  const s = policySubset(data, [1, 2]);
  assert.equal(s.queries.length, 2);
  const v0 = recordedView(s.agreement, 3, 0); // row 1: hard, pair disagrees
  const v1 = recordedView(s.agreement, 3, 1); // row 2: easy, all agree
  assert.equal(v0.similarity(0, 1), 0);
  assert.equal(v1.similarity(0, 1), 1);
});

test("liveAnswerView: live responses read like recorded ones (metric extraction, similarity, no answer)", async () => {
  const v = await liveAnswerView(
    "em_mc",
    new Map([
      [0, "(B)"],
      [1, "So the answer is ( b )."],
      [2, "(C)"],
      [3, "no idea"],
    ]),
  );
  assert.equal(v.similarity(0, 1), 1);
  assert.equal(v.similarity(0, 2), 0);
  assert.equal(v.answered(3), false);
  const plan: CallPlan = {
    stages: [[0, 1], [2]],
    stop: { agree: 2, support: Number.POSITIVE_INFINITY, similarity: 1 },
  };
  assert.deepEqual(decideAfterStage(plan, 0, [0, 1], v, W), { accepted: 1, reason: "agree" });
});

test("policy artifacts: cascade and vote save → load give the same plans at every λ; a bad file names the field", () => {
  const data = toy(40);
  const dir = tempDir();
  for (const name of ["cascade", "vote"]) {
    const trained = trainPolicy(name, data, "toy-1", { folds: 4 });
    const file = join(dir, `${name}.json`);
    savePolicy(trained, file);
    const loaded = loadPolicy(file);
    assert.equal(loaded.name, name);
    assert.equal(loaded.embedder, "toy-1");
    const lambdas = trained.policy.lambdas();
    assert.deepEqual(loaded.policy.lambdas(), lambdas);
    for (let k = 0; k < lambdas.length; k++)
      assert.deepEqual(loaded.policy.plans(data.queries, k), trained.policy.plans(data.queries, k), `${name} λ #${k}`);
    assert.equal(loaded.policy.point("within-cost"), trained.policy.point("within-cost"));
  }
  const bad = join(dir, "bad.json");
  writeFileSync(
    bad,
    JSON.stringify({
      format: "fusionkit-policy",
      version: 1,
      policy: "cascade",
      embedder: "x",
      candidates: [],
      state: {},
    }),
  );
  assert.throws(() => loadPolicy(bad), /bad\.json.*state.*expected a cascade's lambdas/s);
  writeFileSync(bad, JSON.stringify({ format: "fusionkit-router" }));
  assert.throws(() => loadPolicy(bad), /format.*not a FusionKit policy artifact/s);
});
