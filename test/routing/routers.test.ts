import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { loadRouter, saveRouter, trainRouter } from "../../src/routing/artifacts.ts";
import { kMeans } from "../../src/routing/cluster.ts";
import { gate } from "../../src/routing/confidence.ts";
import { FallbackRouter } from "../../src/routing/fallback.ts";
import { choose, DEFAULT_KNOB, learnScales } from "../../src/routing/objective.ts";
import { createRouter, ROUTER_NAMES } from "../../src/routing/registry.ts";
import type { RouteQuery, Router } from "../../src/routing/router.ts";
import { Rng } from "../../src/util/prng.ts";
import { tempDir } from "../helpers.ts";
import { CANDIDATES, toyPerformance, toyQuery, toySet } from "./toy.ts";

const train = toySet();
const scales = learnScales(
  train.queries.map((q) => q.task),
  train.performance,
  train.cost,
  3,
);
/** Fresh queries of each kind: a-0, a-1, b-0, b-1 (four of each). */
const kinds: [string, number][] = [
  ["a", 0],
  ["a", 1],
  ["b", 0],
  ["b", 1],
];
const rng = new Rng(99);
const fresh: RouteQuery[] = kinds.flatMap(([t, c]) => Array.from({ length: 4 }, () => toyQuery(t, c, rng)));
const freshPerf = kinds.flatMap(([t, c]) => Array.from({ length: 4 }, () => toyPerformance(t, c)));

function picks(r: Router, queries = fresh): string[] {
  const pred = r.predict(queries);
  return [
    ...choose(
      pred,
      3,
      DEFAULT_KNOB,
      scales,
      queries.map((q) => q.task),
    ),
  ].map((j) => CANDIDATES[j].key);
}
function fitted(name: string, params = {}): Router {
  const r = createRouter(name, params);
  r.fit(train);
  return r;
}
function meanPerformance(chosen: string[]): number {
  return chosen.reduce((s, key, i) => s + freshPerf[i][CANDIDATES.findIndex((c) => c.key === key)], 0) / chosen.length;
}
/** One representative choice per kind (the four queries of a kind must agree). */
function perKind(chosen: string[]): string[] {
  return kinds.map((_, k) => {
    const group = chosen.slice(k * 4, k * 4 + 4);
    assert.equal(new Set(group).size, 1, `queries of one kind routed differently: ${group}`);
    return group[0];
  });
}

test("baselines: best-single, best-per-task and cheapest pick what the train means say", () => {
  assert.deepEqual(perKind(picks(fitted("best-single"))), ["cheap", "cheap", "cheap", "cheap"]);
  assert.deepEqual(perKind(picks(fitted("best-per-task"))), ["cheap", "cheap", "mid", "mid"]);
  assert.deepEqual(perKind(picks(fitted("cheapest"))), ["cheap", "cheap", "cheap", "cheap"]);
  // An unseen task falls back to the best single model.
  const unseen = { ...toyQuery("a", 1, new Rng(1)), task: "zzz" };
  assert.deepEqual(picks(fitted("best-per-task"), [unseen]), ["cheap"]);
});

test("random: deterministic per query text and seed, and spreads over candidates", () => {
  const a = picks(fitted("random"));
  assert.deepEqual(picks(fitted("random")), a);
  assert.ok(new Set(a).size >= 2, `random chose only ${[...new Set(a)]}`);
  assert.notDeepEqual(picks(fitted("random", { seed: 5 })), a);
});

test("knn: picks the neighbours' best; an exact tie goes to the cheaper candidate", () => {
  assert.deepEqual(perKind(picks(fitted("knn", { k: 3, shrink: 0 }))), ["cheap", "big", "cheap", "mid"]);
  // With auto-tuned k and shrinkage the router still reaches the oracle's performance on fresh queries.
  assert.equal(meanPerformance(picks(fitted("knn"))), 1);
  const pred = fitted("knn", { k: 3, shrink: 0 }).predict([fresh[4]], { explain: true });
  assert.match(pred.reasons?.[1] ?? "", /3 of 3 nearest same-task neighbours/);
});

for (const name of ["linear", "logistic", "mlp", "mf"])
  test(`${name}: learns the separable toy problem (oracle performance on fresh queries)`, () => {
    const chosen = picks(fitted(name));
    assert.equal(meanPerformance(chosen), 1, `chose ${chosen}`);
    const k = perKind(chosen);
    assert.equal(k[0], "cheap");
    assert.equal(k[1], "big");
    assert.equal(k[3], "mid");
  });

test("logistic: predicted success separates solved from unsolved cells", () => {
  const pred = fitted("logistic", { epochs: 300, lr: 0.05 }).predict(fresh);
  for (let i = 0; i < fresh.length; i++)
    for (let j = 0; j < 3; j++) {
      const p = pred.performance[i * 3 + j];
      if (freshPerf[i][j] === 1) assert.ok(p > 0.5, `query ${i} cand ${j}: ${p}`);
      else assert.ok(p < 0.5, `query ${i} cand ${j}: ${p}`);
    }
});

test("every router: save → load gives identical predictions and decisions", () => {
  const dir = tempDir();
  for (const name of ROUTER_NAMES) {
    const trained = trainRouter(name, train, { embedder: "toy-8" });
    const file = join(dir, `${name}.json`);
    saveRouter(trained, file);
    const loaded = loadRouter(file);
    assert.equal(loaded.name, name);
    assert.equal(loaded.embedder, "toy-8");
    assert.deepEqual(loaded.candidates, ["cheap", "big", "mid"]);
    const a = trained.router.predict(fresh);
    const b = loaded.router.predict(fresh);
    assert.deepEqual([...b.performance], [...a.performance], name);
    assert.deepEqual([...b.cost], [...a.cost], name);
    assert.deepEqual(picks(loaded.router), picks(trained.router), name);
  }
});

test("fitting is deterministic for a seed", () => {
  for (const name of ["mlp", "mf", "logistic"]) {
    const a = fitted(name).predict(fresh).performance;
    const b = fitted(name).predict(fresh).performance;
    assert.deepEqual([...a], [...b], name);
  }
});

test("graph: places a model with a description but little data next to the model it describes like", () => {
  // A fourth candidate "big2" with big's description and outcomes on only 4 train queries.
  const base = toySet();
  const n = base.queries.length;
  const c = 4;
  const perf = new Float64Array(n * c).fill(Number.NaN);
  const cost = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) {
      perf[i * c + j] = base.performance[i * 3 + j];
      cost[i * c + j] = base.cost[i * 3 + j];
    }
    cost[i * c + 3] = 10;
    if (i < 4) perf[i * c + 3] = base.performance[i * 3 + 1];
  }
  const unit = (k: number) => Float32Array.from({ length: 4 }, (_, x) => (x === k ? 1 : 0));
  const data = {
    ...base,
    candidates: [...CANDIDATES, { ...CANDIDATES[1], key: "big2", model: "big2" }],
    performance: perf,
    cost,
    descriptionEmbeddings: [unit(0), unit(1), unit(2), unit(1)],
  };
  const r = createRouter("graph");
  r.fit(data);
  const pred = r.predict(fresh);
  // big2 is predicted to succeed on a-1 queries (where big does) far more than on a-0 queries.
  const at = (i: number) => pred.performance[i * c + 3];
  assert.ok(at(4) > at(0) + 0.3, `big2: a-1 ${at(4)} vs a-0 ${at(0)}`);
  assert.equal(meanPerformance(picks(fitted("graph"))), 1);
});

test("fallback: trusts the learned router only in tasks where it beat the fallbacks out of sample", () => {
  const policies = (base: string) => {
    const r = new FallbackRouter({ base, folds: 2 }, (name, p) => createRouter(name, p));
    r.fit(train);
    return [r.policy("a"), r.policy("b"), r.policy("unseen")];
  };
  // kNN separates task a's clusters (task-best cannot); in task b the task's best model is already perfect.
  assert.deepEqual(policies("knn"), ["router", "task-best", "router"]);
  assert.deepEqual(policies("random"), ["task-best", "task-best", "best-single"]);
  assert.throws(() => new FallbackRouter({ base: "fallback" }, () => createRouter("knn")), /cannot wrap itself/);
});

test("cluster (Avengers-Pro): k-means finds the four kinds of query and each takes its cluster's best candidate", () => {
  assert.deepEqual(perKind(picks(fitted("cluster"))), ["cheap", "big", "cheap", "mid"]);
  // Two obvious groups: the centroids are the group means.
  const pts = [
    [0, 0],
    [0, 2],
    [10, 0],
    [10, 2],
  ].map((p) => Float32Array.from(p));
  const cs = kMeans(pts, 2, 10, new Rng(3));
  const sorted = [
    [cs[0], cs[1]],
    [cs[2], cs[3]],
  ].sort((a, b) => (a[0] as number) - (b[0] as number));
  assert.deepEqual(sorted, [
    [0, 1],
    [10, 1],
  ]);
});

test("confidence gate: below τ the train means (best single) stand in; top-k keeps the k most confident", () => {
  const p = { performance: Float64Array.from([0.9, 0.2, 0.1, 0.5, 0.4, 0.3]), cost: new Float64Array(6) };
  const fallback = Float64Array.from([0.6, 0.7, 0.1, 0.6, 0.7, 0.1]);
  assert.deepEqual([...gate(p, fallback, 3, 0.8, 0).performance], [0.9, 0.2, 0.1, 0.6, 0.7, 0.1]);
  assert.deepEqual([...gate(p, fallback, 3, 0, 1).performance], [0.9, -1, -1, 0.5, -1, -1]);
  // The multi-label classifier is confident on the toy problem: it routes like the per-query oracle.
  assert.equal(meanPerformance(picks(fitted("confidence"))), 1);
  assert.ok(meanPerformance(picks(fitted("confidence-topk"))) >= meanPerformance(picks(fitted("best-per-task"))));
});
