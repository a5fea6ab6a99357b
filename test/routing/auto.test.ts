import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateRouters } from "../../src/eval/evaluate.ts";
import { AutoRouter, innerFolds, LARGE_SET, nearestLambda } from "../../src/routing/auto.ts";
import { encodeArray } from "../../src/routing/codec.ts";
import { sigmoid } from "../../src/routing/math.ts";
import { memoryKey, QueryMemory } from "../../src/routing/memory.ts";
import {
  choose,
  type Knob,
  learnScales,
  predictionFor,
  predictionRow,
  rank,
  type Scale,
} from "../../src/routing/objective.ts";
import { createRouter } from "../../src/routing/registry.ts";
import type { RouteQuery, Router, TrainingSet } from "../../src/routing/router.ts";
import { applyStack, fitStack } from "../../src/routing/stack.ts";
import { Rng } from "../../src/util/prng.ts";
import { CANDIDATES, toyQuery, toySet } from "./toy.ts";

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) < tol, `${a} ≉ ${b} (±${tol})`);

function auto(params: Record<string, unknown> = {}): AutoRouter {
  return new AutoRouter(params, (name, p) => createRouter(name, p) as Router);
}

test("logistic stack: a constant input leaves the intercept at the logit of the success rate", () => {
  // One candidate, one input fixed at 0.5 (logit 0): only the intercept can fit y = 1, 1, 1, 0, so it
  // solves Σ(σ(w₀) − y) + 0.01·w₀ = 0, i.e. σ(w₀) ≈ 3/4 (the tiny intercept ridge moves it by < 0.01).
  const input = Float64Array.from([0.5, 0.5, 0.5, 0.5]);
  const y = Float64Array.from([1, 1, 1, 0]);
  const [w] = fitStack([input], y, 1, [0, 1, 2, 3]);
  assert.ok(w);
  close(sigmoid(w[0] as number), 0.75, 0.01);
  close(applyStack([w], [input], 4)[0] as number, 0.75, 0.01);
});

test("logistic stack: learns to trust the informative input and ignore the noise", () => {
  // Outcomes drawn with probability p; input 1 is p itself, input 2 is unrelated noise.
  const rng = new Rng(5);
  const n = 4000;
  const p = Float64Array.from({ length: n }, () => 0.1 + 0.8 * rng.next());
  const noise = Float64Array.from({ length: n }, () => 0.1 + 0.8 * rng.next());
  const y = Float64Array.from(p, (v) => (rng.next() < v ? 1 : 0));
  const [w] = fitStack([p, noise], y, 1, [...Array(n).keys()]);
  assert.ok(w);
  close(w[1] as number, 1, 0.15);
  close(w[2] as number, 0, 0.15);
  close(w[0] as number, 0, 0.15);
});

test("λ grid lookup: exact 0, otherwise nearest on a log scale", () => {
  const grid = [0, 1, 10, 100];
  assert.equal(nearestLambda(grid, 0), 0);
  assert.equal(nearestLambda(grid, 3), 1); // ln 3 = 1.10 < ln(10/3) = 1.20
  assert.equal(nearestLambda(grid, 4), 2);
  assert.equal(nearestLambda(grid, 1e-9), 1);
  assert.equal(nearestLambda(grid, 1e9), 3);
});

test("inner folds: 5, or 3 from LARGE_SET queries on; never more than the queries", () => {
  assert.equal(innerFolds(100), 5);
  assert.equal(innerFolds(LARGE_SET), 3);
  assert.equal(innerFolds(LARGE_SET, 5), 5);
  assert.equal(innerFolds(3), 3);
});

test("auto chooses per objective: learned routing for performance, the task's cheap model when cost dominates", () => {
  const data = toySet(240, 3);
  const r = auto();
  r.fit(data);
  // Performance-first: on task a the big model solves the 1 in 4 queries of cluster 1, which a learned
  // router finds and the task's best model (cheap) cannot.
  const perf = r.choice("a");
  assert.notEqual(perf.policy, "task-best");
  assert.ok(perf.score > perf.fallbackScore + perf.se);
  // A willingness to pay so low that any extra cost outweighs a solved query: the cheapest model everywhere.
  const stingy = { lambda: 1e3 };
  assert.equal(r.choice("a", stingy).policy, "task-best");
  const queries = toySet(40, 9).queries;
  const pred = r.predict(queries);
  assert.ok(pred.underKnob, "auto predicts per knob");
  const scales = learnScales(
    data.queries.map((q) => q.task),
    data.performance,
    data.cost,
    CANDIDATES.length,
  );
  const tasks = queries.map((q) => q.task);
  const picks = choose(predictionFor(pred, stingy), CANDIDATES.length, stingy, scales, tasks);
  assert.ok(
    [...picks].every((j) => j === 0),
    "cheap for every query",
  );
  const perfPicks = choose(pred, CANDIDATES.length, { scenario: "performance-first" }, scales, tasks);
  assert.ok(
    [...perfPicks].some((j) => j === 1),
    "performance-first sends some queries to big",
  );
  // Saved and restored, the choices per knob survive.
  const copy = auto();
  copy.restore(JSON.parse(JSON.stringify(r.state())), CANDIDATES);
  assert.deepEqual(copy.choices({ scenario: "balance" }), r.choices({ scenario: "balance" }));
  assert.deepEqual(copy.choice("a", stingy), r.choice("a", stingy));
});

test("two candidates: auto ranks strong/weak calls by the policy with the best out-of-fold APGR", () => {
  // The strong model solves everything; the weak one only cluster 0. One task, so the task's best model
  // ranks every query alike (APGR 0.5) while a learned router can tell the clusters apart.
  const rng = new Rng(11);
  const candidates = [CANDIDATES[0], CANDIDATES[1]] as TrainingSet["candidates"];
  const queries = Array.from({ length: 200 }, (_, i) => toyQuery("a", i % 2, rng));
  const performance = Float64Array.from(queries.flatMap((_, i) => [i % 2 === 0 ? 1 : 0, 1]));
  const cost = Float64Array.from(queries.flatMap(() => [1, 10]));
  const data: TrainingSet = { candidates, queries, performance, cost, judge: null };
  const r = auto();
  r.fit(data);
  assert.notEqual(r.rankingPolicy(), "task-best");
  const fresh = [toyQuery("a", 0, rng), toyQuery("a", 1, rng)];
  const pred = r.predict(fresh);
  assert.ok(pred.rankingScore);
  const gain = (i: number) => (pred.rankingScore?.[i * 2 + 1] as number) - (pred.rankingScore?.[i * 2] as number);
  assert.ok(gain(1) > gain(0) + 0.3, `cluster 1 needs the strong model more: ${gain(1)} vs ${gain(0)}`);
});

test("evaluation scores auto per objective and ranks strong/weak calls by its ranking scores", () => {
  const train = toySet(240, 3);
  const test = toySet(80, 21);
  const result = evaluateRouters(train, test, [{ name: "auto", create: () => createRouter("auto") }], {
    scenarios: ["performance-first", "cost-first"],
    lambdas: [0, 1e3],
  });
  const perf = result.routers.find((r) => r.scenario === "performance-first");
  const cheap = result.routers.find((r) => r.scenario === "cost-first");
  assert.ok(perf && cheap);
  assert.ok((perf.usage.big ?? 0) > 0, "performance-first calls the big model where it alone solves the query");
  assert.ok(perf.performance > cheap.performance);
  // λ = 1000 per $: the cheapest model everywhere, so the frontier's last point costs what "cheap" costs.
  const last = perf.frontier[perf.frontier.length - 1];
  assert.ok(last);
  close(last.cost, 1, 1e-12);

  // Two candidates: APGR comes from auto's ranking scores (the task's best model alone would give 0.5).
  const rng = new Rng(17);
  const candidates = [CANDIDATES[0], CANDIDATES[1]] as TrainingSet["candidates"];
  const twoSet = (n: number): TrainingSet => {
    const queries = Array.from({ length: n }, (_, i) => toyQuery("a", i % 2, rng));
    return {
      candidates,
      queries,
      performance: Float64Array.from(queries.flatMap((_, i) => [i % 2 === 0 ? 1 : 0, 1])),
      cost: Float64Array.from(queries.flatMap(() => [1, 10])),
      judge: null,
    };
  };
  const two = evaluateRouters(
    twoSet(200),
    twoSet(40),
    [
      { name: "auto", create: () => createRouter("auto") },
      { name: "best-per-task", create: () => createRouter("best-per-task") },
    ],
    { scenarios: ["performance-first"] },
  );
  const [a, b] = two.routers;
  assert.ok(a && b);
  close(b.apgr as number, 0.5, 1e-12);
  // A perfect ranking sends the weak model's failures (half the queries) to the strong one first: the gap
  // is recovered linearly over the first half of strong calls, then flat, so APGR = 0.25 + 0.5 = 0.75.
  close(a.apgr as number, 0.75, 0.02);
});

// Exact-match memory. The toy training set plus hand-made task-a rows (text, cluster, performance, cost per
// candidate cheap/big/mid); "tie" appears twice (averaged).
const NaN_ = Number.NaN;
const MEMORY_EXTRA: Array<[string, number, number[], number[]]> = [
  ["Which model solved this? (tie)", 0, [1, 1, 0], [1, 10, 5]],
  ["Which model solved this? (tie)", 1, [1, 1, NaN_], [3, 10, NaN_]],
  ["Never run on mid", 0, [0, 1, NaN_], [1, 10, NaN_]],
  ["Big was cheaper here", 0, [1, 1, 0], [4, 3, 5]],
  ["Equally good, equally cheap", 0, [1, 1, 0], [3, 3, 3]],
  ["Cost unrecorded", 0, [1, 1, 0], [NaN_, 2, 5]],
];
function memoryTrainSet(): TrainingSet {
  const data = toySet(240, 3);
  const rng = new Rng(99);
  const extra = MEMORY_EXTRA.map(([text, cluster]) => ({ ...toyQuery("a", cluster, rng), text }));
  return {
    ...data,
    queries: [...data.queries, ...extra],
    performance: Float64Array.from([...data.performance, ...MEMORY_EXTRA.flatMap(([, , p]) => p)]),
    cost: Float64Array.from([...data.cost, ...MEMORY_EXTRA.flatMap(([, , , c]) => c)]),
  };
}
let memoryRouters: { data: TrainingSet; on: AutoRouter; off: AutoRouter } | undefined;
function fittedWithAndWithoutMemory() {
  if (!memoryRouters) {
    const data = memoryTrainSet();
    const on = auto();
    on.fit(data);
    const off = auto({ memory: false });
    off.fit(data);
    memoryRouters = { data, on, off };
  }
  return memoryRouters;
}
const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[best] as number)) best = j;
  return best;
};
const rowOf = (v: Float64Array, i: number) => [...v.subarray(i * 3, (i + 1) * 3)];
/** A row remembered the way artifacts without memory costs do: observed + 1e-6 × the policy, cell by cell. */
function remembers(got: number[], observed: number[], policy: number[]): void {
  for (let j = 0; j < got.length; j++)
    close(got[j] as number, (observed[j] as number) + 1e-6 * (policy[j] as number), 1e-15);
}
/** Every objective a gateway or evaluation may serve. */
const ALL_KNOBS: Knob[] = [
  { scenario: "performance-first" },
  { scenario: "llm-judge" },
  { scenario: "balance" },
  { scenario: "cost-first" },
  { lambda: 0 },
  { lambda: 0.01 },
  { lambda: 1e3 },
];
/** The column chosen for each query under a knob, as evaluation chooses (objective.choose). */
function picks(router: AutoRouter, data: TrainingSet, queries: RouteQuery[], knob: Knob): number[] {
  const scales = learnScales(
    data.queries.map((q) => q.task),
    data.performance,
    data.cost,
    CANDIDATES.length,
  );
  const pred = predictionFor(router.predict(queries), knob);
  return [
    ...choose(
      pred,
      CANDIDATES.length,
      knob,
      scales,
      queries.map((q) => q.task),
    ),
  ];
}

test("memory: keys are whitespace-normalised text; rows are NaN-aware means of performance and cost over the repeats", () => {
  assert.equal(memoryKey("  What is\n 2 +\t2? "), memoryKey("What is 2 + 2?"));
  assert.notEqual(memoryKey("what is 2 + 2?"), memoryKey("What is 2 + 2?"), "case is kept");
  const data = memoryTrainSet();
  const memory = QueryMemory.fit(data);
  assert.equal(memory.size, 240 + 5, "the two 'tie' rows share one key");
  assert.ok(memory.hasCosts);
  const tie = memory.recall("Which model solved this?   (tie)");
  assert.ok(tie);
  assert.equal(tie.count, 2);
  // cheap 1 and 1, big 1 and 1, mid 0 and unknown → [1, 1, 0]; costs (1 + 3)/2, (10 + 10)/2, 5 → [2, 10, 5].
  assert.deepEqual([...tie.observed], [1, 1, 0]);
  assert.deepEqual([...(tie.cost ?? [])], [2, 10, 5]);
  const never = memory.recall("Never run on mid");
  assert.deepEqual([...(never?.observed ?? [])].map(String), ["0", "1", "NaN"]);
  assert.deepEqual([...(never?.cost ?? [])].map(String), ["1", "10", "NaN"]);
  assert.equal(memory.recall("Never run on MID"), null);
  const copy = QueryMemory.restore(JSON.parse(JSON.stringify(memory.state())), 3, "state.memory");
  assert.deepEqual(copy.recall("Never run on mid"), never);
  assert.throws(
    () => QueryMemory.restore({ ...memory.state(), counts: encodeArray(new Int32Array(3)) }, 3, "state.memory"),
    /artifact field "state\.memory\.counts": 3 values, expected one per key/,
  );
  assert.throws(
    () => QueryMemory.restore({ ...memory.state(), costs: encodeArray(new Float64Array(3)) }, 3, "state.memory"),
    /artifact field "state\.memory\.costs": 3 values, expected 245 keys × 3 candidates/,
  );
  // Written before memory kept costs: the same observed performance, no costs.
  const { costs: _costs, ...old } = memory.state();
  const older = QueryMemory.restore(JSON.parse(JSON.stringify(old)), 3, "state.memory");
  assert.equal(older.hasCosts, false);
  assert.deepEqual(older.recall("Never run on mid"), { ...never, cost: null });
});

test("auto memory: a query in the routing data is predicted at its observed performance and cost", () => {
  const { data, on, off } = fittedWithAndWithoutMemory();
  // A task-a training query of cluster 0 (only "cheap" solved it), asked again with extra whitespace and a
  // cluster-1 embedding, where the learned policy sends task a's queries to "big".
  const k = data.queries.findIndex((q, i) => q.task === "a" && data.performance[i * 3] === 1);
  const seen = data.queries[k];
  assert.ok(seen);
  const rng = new Rng(5);
  const asked = [
    { ...toyQuery("a", 1, rng), text: `\n  ${seen.text}\t ` },
    { ...toyQuery("a", 1, rng), text: "Never run on mid" },
    { ...toyQuery("a", 1, rng), text: "Cost unrecorded" },
    toyQuery("a", 1, rng),
  ];
  const p = on.predict(asked);
  const q = off.predict(asked);
  assert.equal(argmax(rowOf(q.performance, 0)), 1, "without memory the policy picks big");
  assert.deepEqual(rowOf(p.performance, 0), [1, 0, 0], "the observed outcome, exactly");
  assert.deepEqual(rowOf(p.cost, 0), [1, 10, 5], "the observed cost");
  assert.equal(argmax(rowOf(p.performance, 0)), 0, "the observed outcome wins: cheap");
  // Mid was never run on "Never run on mid": the policy's prediction and the task's mean cost stand in.
  assert.deepEqual(rowOf(p.performance, 1), [0, 1, rowOf(q.performance, 1)[2]]);
  assert.deepEqual(rowOf(p.cost, 1), [1, 10, rowOf(q.cost, 1)[2]]);
  // Cheap's cost on "Cost unrecorded" was not recorded: the task's mean cost stands in for it alone.
  assert.deepEqual(rowOf(p.cost, 2), [rowOf(q.cost, 2)[0], 2, 5]);
  // The policy's prediction is kept as the tie-break score of remembered rows only.
  assert.deepEqual(rowOf(p.tieBreak as Float64Array, 0), rowOf(q.performance, 0));
  assert.deepEqual(rowOf(p.tieBreak as Float64Array, 3).map(String), ["NaN", "NaN", "NaN"]);
  // A new query: the policy alone, at the task's mean cost.
  assert.deepEqual(rowOf(p.performance, 3), rowOf(q.performance, 3));
  assert.deepEqual(rowOf(p.cost, 3), rowOf(q.cost, 3));
  // Every knob's predictions remember too.
  const pb = p.underKnob?.({ scenario: "balance" });
  assert.ok(pb);
  assert.deepEqual(rowOf(pb.performance, 0), [1, 0, 0]);
  assert.deepEqual(rowOf(pb.cost, 0), [1, 10, 5]);
});

test("auto memory: of candidates observed equally good the cheaper goes first, then the policy's choice, under every knob", () => {
  const { data, on, off } = fittedWithAndWithoutMemory();
  const rng = new Rng(6);
  // Task-a scales: performance 0..1, cost 1..10. Hand-checked per row (cheap, big, mid observed):
  const asked = [
    // perf 1, 1, 0 at 2, 10, 5: cheap is as good as big, cheaper, and beats mid on both → cheap.
    { ...toyQuery("a", 1, rng), text: "Which model solved this? (tie)" },
    // perf 1, 1, 0 at 4, 3, 5: big is as good as cheap and cheaper here (though dearer on average) → big.
    { ...toyQuery("a", 0, rng), text: "Big was cheaper here" },
    // perf 1, 1 at the task's mean cost of cheap (≈ 1) and 2 → cheap.
    { ...toyQuery("a", 1, rng), text: "Cost unrecorded" },
    // perf 1, 1, 0 at 3, 3, 3: cheap and big tie on performance and cost → the policy's preference.
    { ...toyQuery("a", 0, rng), text: "Equally good, equally cheap" },
    { ...toyQuery("a", 1, rng), text: "Equally good, equally cheap" },
  ];
  for (const knob of ALL_KNOBS) {
    const got = picks(on, data, asked, knob);
    const policy = predictionFor(off.predict(asked), knob).performance;
    const prefers = (i: number) => argmax(rowOf(policy, i).slice(0, 2));
    assert.deepEqual(got, [0, 1, 0, prefers(3), prefers(4)], `under ${JSON.stringify(knob)}`);
  }
  // Performance-first, the two embeddings of the equal row get different policy preferences (so the test
  // above sees the policy decide both ways), and without memory's costs the policy decided "tie" (big).
  const policy = off.predict(asked).performance;
  assert.notEqual(argmax(rowOf(policy, 3).slice(0, 2)), argmax(rowOf(policy, 4).slice(0, 2)));
  assert.equal(argmax(rowOf(policy, 0).slice(0, 2)), 1);
  // The ranking `route` prints says so.
  const scale = learnScales(
    data.queries.map((q) => q.task),
    data.performance,
    data.cost,
    3,
  ).perTask.a as Scale;
  const knob = { scenario: "performance-first" } as const;
  const explained = on.predict(asked, { explain: true });
  const ranked = rank(predictionRow(explained, 0, 3), CANDIDATES, knob, scale);
  assert.deepEqual(
    ranked.map((r) => [r.key, r.predictedPerformance, r.predictedCost]),
    [
      ["cheap", 1, 2],
      ["big", 1, 10],
      ["mid", 0, 5],
    ],
  );
  assert.match(
    ranked[0]?.reason ?? "",
    /^auto: this exact query is in the routing data \(2 observations\): observed performance 1\.000 for this candidate, observed cost \$2\.00e\+0\/query \(of candidates observed equally good the cheaper goes first, then the one the policy below prefers\); auto: task "a" uses /,
  );
  const unrecorded = rank(predictionRow(explained, 2, 3), CANDIDATES, knob, scale);
  assert.match(
    unrecorded[0]?.reason ?? "",
    /^auto: this exact query is in the routing data \(1 observation\): observed performance 1\.000 for this candidate, its cost there unrecorded, so the task's mean \$\d\.\d\de\+0\/query stands in \(/,
  );
  const never = on.predict([{ ...toyQuery("a", 1, rng), text: "Never run on mid" }], { explain: true });
  assert.match(
    never.reasons?.[2] ?? "",
    /^auto: this exact query is in the routing data \(1 observation\), but this candidate was never scored on it, so the policy predicts; auto: task "a" uses /,
  );
  assert.doesNotMatch(off.predict(asked.slice(0, 1), { explain: true }).reasons?.[0] ?? "", /routing data/);
});

test("auto memory: saved and restored with the artifact; older artifacts restore and route as when written", () => {
  const { data, on, off } = fittedWithAndWithoutMemory();
  const rng = new Rng(8);
  const asked = [
    { ...toyQuery("a", 1, rng), text: "Never run on mid" },
    { ...toyQuery("a", 1, rng), text: "Which model solved this? (tie)" },
    { ...toyQuery("a", 0, rng), text: "Big was cheaper here" },
    toyQuery("a", 1, rng),
  ];
  const state = JSON.parse(JSON.stringify(on.state())) as Record<string, unknown>;
  const copy = auto();
  copy.restore(state, CANDIDATES);
  const [a, b] = [copy.predict(asked), on.predict(asked)];
  assert.deepEqual([a.performance, a.cost, a.tieBreak], [b.performance, b.cost, b.tieBreak]);
  assert.equal(off.state().memory, null, "memory: false keeps none");
  // Written before memory kept costs: each remembered cell is observed + 1e-6 × the policy's prediction, the
  // cost the task's mean, no tie-break score: so "tie" goes to big, as the policy breaks the tie there.
  const memory = state.memory as Record<string, unknown>;
  const { costs: _costs, ...oldMemory } = memory;
  const older = auto();
  older.restore({ ...state, memory: oldMemory }, CANDIDATES);
  const p = older.predict(asked, { explain: true });
  const q = off.predict(asked);
  remembers(rowOf(p.performance, 0).slice(0, 2), [0, 1], rowOf(q.performance, 0));
  assert.equal(rowOf(p.performance, 0)[2], rowOf(q.performance, 0)[2]);
  remembers(rowOf(p.performance, 1), [1, 1, 0], rowOf(q.performance, 1));
  remembers(rowOf(p.performance, 2), [1, 1, 0], rowOf(q.performance, 2));
  assert.deepEqual(rowOf(p.performance, 3), rowOf(q.performance, 3));
  assert.deepEqual([...p.cost], [...q.cost]);
  assert.equal(p.tieBreak, undefined);
  const perfFirst = { scenario: "performance-first" } as const;
  assert.deepEqual(picks(older, data, asked, perfFirst).slice(1, 3), [1, argmax(rowOf(q.performance, 2).slice(0, 2))]);
  assert.match(
    p.reasons?.[3] ?? "",
    /^auto: this exact query is in the routing data \(2 observations\): observed performance 1\.000 for this candidate \(the policy below only breaks ties\); auto: task "a" uses /,
  );
  // Written before memory existed: no "memory" field, so the policy alone (as memory: false predicts).
  const { memory: _memory, ...oldest } = state;
  const restored = auto();
  restored.restore(oldest, CANDIDATES);
  const without = auto({ memory: false });
  without.restore(state, CANDIDATES);
  assert.deepEqual([...restored.predict(asked).performance], [...without.predict(asked).performance]);
  assert.notDeepEqual([...restored.predict(asked).performance], [...on.predict(asked).performance]);
  assert.throws(() => createRouter("auto", { memory: "yes" }), /router "auto": parameter "memory": expected a boolean/);
});

test("auto memory on two candidates: the strong/weak ranking score of a remembered query is its observed gain", () => {
  const rng = new Rng(11);
  const candidates = [CANDIDATES[0], CANDIDATES[1]] as TrainingSet["candidates"];
  const queries = Array.from({ length: 120 }, (_, i) => toyQuery("a", i % 2, rng));
  // Row 1 is cluster 1 (the weak model failed) except that here it was observed to succeed too.
  const performance = Float64Array.from(queries.flatMap((_, i) => [i % 2 === 0 || i === 1 ? 1 : 0, 1]));
  const cost = Float64Array.from(queries.flatMap(() => [1, 10]));
  const data: TrainingSet = { candidates, queries, performance, cost, judge: null };
  const on = auto({ bases: ["knn"] });
  on.fit(data);
  const off = auto({ bases: ["knn"], memory: false });
  off.fit(data);
  const asked = [{ ...toyQuery("a", 1, rng), text: (queries[1] as RouteQuery).text }];
  const p = on.predict(asked).rankingScore;
  const q = off.predict(asked).rankingScore;
  assert.ok(p && q);
  assert.ok((q[1] as number) - (q[0] as number) > 0.3, "the policy alone expects the strong model to gain");
  close((p[1] as number) - (p[0] as number), 1e-6 * ((q[1] as number) - (q[0] as number)), 1e-15);
});

test("auto under balance: always the cheap model when held-out ranges make it win, though task-best ranks big first", () => {
  // One task, 50 train queries. "big" solves all at $0.010, but query 0 cost $0.100; "small" solves every other
  // query at $0.001. On the train split's range [$0.001, $0.100] task-best ranks big first under balance:
  // 0.5·1 − 0.5·(0.0118 − 0.001)/0.099 = 0.445 > small's 0.5·0.5 = 0.25. Scored as evaluation scores a held-out
  // set, on its own ranges, the 4 inner folds without query 0 span [$0.001, $0.010], where big scores
  // 0.5 − 0.5 = 0; in the fold with it big scores 0.5 − 0.5·0.009/0.099 on its 9 other queries and 0 on query
  // 0: 9·0.4545/50 = 0.0818 out of fold, vs small's 0.25 (its cost is every range's minimum).
  const rng = new Rng(3);
  const candidates = [
    { ...CANDIDATES[1], key: "big" },
    { ...CANDIDATES[0], key: "small" },
  ] as TrainingSet["candidates"];
  const set = (n: number, outlier: boolean): TrainingSet => {
    const queries = Array.from({ length: n }, (_, i) => ({ ...toyQuery("t", i % 2, rng), task: "t" }));
    const performance = Float64Array.from(queries.flatMap((_, i) => [1, i % 2]));
    const cost = Float64Array.from(queries.flatMap((_, i) => [outlier && i === 0 ? 0.1 : 0.01, 0.001]));
    return { candidates, queries, performance, cost, judge: null };
  };
  const train = set(50, true);
  const r = auto({ bases: [], memory: false });
  r.fit(train);
  const balance = r.choice("t", { scenario: "balance" });
  assert.equal(balance.policy, "only:small");
  assert.equal(balance.fallback, "task-best");
  close(balance.score, 0.25, 1e-12);
  close(balance.fallbackScore, (9 * (0.5 - (0.5 * 0.009) / 0.099)) / 50, 1e-12);
  // Performance-first is not normalised: big (task-best) stays, and no "only:" policy is offered there.
  assert.equal(r.choice("t").policy, "task-best");
  // Scored on a held-out set without the expensive query, as `fusionkit eval` scores it.
  const test = set(20, false);
  const res = evaluateRouters(
    train,
    test,
    [
      { name: "best-per-task", create: () => createRouter("best-per-task", {}) as Router },
      { name: "auto", create: () => auto({ bases: [], memory: false }) },
    ],
    { scenarios: ["performance-first", "balance"] },
  );
  const reward = (name: string, scenario: string) =>
    res.routers.find((x) => x.name === name && x.scenario === scenario)?.reward as number;
  close(reward("best-per-task", "balance"), 0, 1e-12);
  close(reward("auto", "balance"), 0.25, 1e-12);
  assert.equal(reward("auto", "performance-first"), reward("best-per-task", "performance-first"));
  // Saved and restored, the choice and its explanation survive.
  const copy = auto({ bases: [], memory: false });
  copy.restore(JSON.parse(JSON.stringify(r.state())), candidates);
  assert.deepEqual(copy.choice("t", { scenario: "balance" }), balance);
  const pred = copy.predict([test.queries[0] as RouteQuery], { explain: true });
  const under = predictionFor(pred, { scenario: "balance" });
  assert.deepEqual([...under.performance], [Number.NEGATIVE_INFINITY, 0.5]);
  assert.match(under.reasons?.[1] ?? "", /task "t" uses always small: out-of-fold 0\.250 vs task-best 0\.082/);
});
