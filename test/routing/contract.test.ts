import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createRouter, ROUTER_NAMES, routerParamsError } from "../../src/routing/registry.ts";
import type { Prediction, RouteQuery, TrainingSet } from "../../src/routing/router.ts";
import { Rng } from "../../src/util/prng.ts";
import { toyQuery, toySet } from "./toy.ts";

/**
 * The contract every registered router keeps, checked on the same small data for each name in the
 * registry: a router added later is covered without touching this file.
 */

const base = toySet(96, 11);
const c = base.candidates.length;
// Graded judge scores beside performance (every router gets a judge head through the registry).
const train: TrainingSet = {
  ...base,
  judge: base.performance.map((p, k) => (k % 5 === 0 ? Number.NaN : 0.1 + 0.8 * p)),
};
// Missing outcomes: every 7th cell unknown, and candidate "big" never run on task b.
const holes: TrainingSet = {
  ...base,
  performance: base.performance.map((p, k) => {
    const i = Math.floor(k / c);
    const j = k % c;
    return k % 7 === 3 || (j === 1 && base.queries[i]?.task === "b") ? Number.NaN : p;
  }),
};
const rng = new Rng(123);
const fresh: RouteQuery[] = [
  ...[0, 1, 0, 1].flatMap((cluster) => [toyQuery("a", cluster, rng), toyQuery("b", cluster, rng)]),
  { ...toyQuery("a", 0, rng), task: "never-seen", domain: "Law" },
  { ...toyQuery("b", 1, rng), task: null, domain: null },
];

function fitted(name: string, data: TrainingSet = train) {
  const r = createRouter(name, {});
  r.fit(data);
  return r;
}

function assertShape(p: Prediction, n: number, label: string): void {
  assert.equal(p.performance.length, n * c, `${label}: performance is n × c`);
  assert.equal(p.cost.length, n * c, `${label}: cost is n × c`);
  for (const [k, v] of p.performance.entries()) assert.ok(Number.isFinite(v), `${label}: performance[${k}] = ${v}`);
  for (const [k, v] of p.cost.entries()) assert.ok(Number.isFinite(v) && v >= 0, `${label}: cost[${k}] = ${v}`);
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>, label: string) => {
  assert.equal(a.length, b.length, label);
  for (let k = 0; k < a.length; k++)
    assert.ok(Math.abs((a[k] as number) - (b[k] as number)) < 1e-12, `${label}[${k}]: ${a[k]} vs ${b[k]}`);
};

for (const name of ROUTER_NAMES)
  describe(`router contract: ${name}`, () => {
    test("predicting before fit is a clear error", () => {
      const r = createRouter(name, {});
      assert.throws(() => r.predict(fresh.slice(0, 1)), /used before fit/);
      assert.throws(() => r.state(), /used before fit/);
    });

    test("shapes, unseen tasks and queries without a task", () => {
      const r = fitted(name);
      const p = r.predict(fresh);
      assertShape(p, fresh.length, name);
      assert.ok(p.judge, "trained with judge scores → a judge head");
      assert.equal(p.judge.length, fresh.length * c);
      const explained = r.predict(fresh.slice(0, 2), { explain: true });
      assert.equal(explained.reasons?.length, 2 * c, "one reason per (query, candidate)");
    });

    test("deterministic: two fits on the same data predict the same", () => {
      same(fitted(name).predict(fresh).performance, fitted(name).predict(fresh).performance, name);
    });

    test("batch-size independent: one batch or one query at a time", () => {
      const r = fitted(name);
      const whole = r.predict(fresh);
      const single = fresh.map((q) => r.predict([q]));
      same(
        whole.performance,
        single.flatMap((p) => [...p.performance]),
        `${name} performance`,
      );
      same(
        whole.cost,
        single.flatMap((p) => [...p.cost]),
        `${name} cost`,
      );
    });

    test("missing outcomes (NaN) are skipped, not learned as values", () => {
      const r = fitted(name, holes);
      assertShape(r.predict(fresh), fresh.length, `${name} on data with holes`);
    });

    test("save/load round trip through JSON, judge head included", () => {
      const r = fitted(name);
      const copy = createRouter(name, {});
      copy.restore(JSON.parse(JSON.stringify(r.state())), train.candidates);
      const a = r.predict(fresh);
      const b = copy.predict(fresh);
      same(a.performance, b.performance, `${name} performance`);
      same(a.cost, b.cost, `${name} cost`);
      same(a.judge ?? [], b.judge ?? [], `${name} judge`);
    });

    test("parameters: an unknown or mistyped one is an error naming it", () => {
      assert.throws(() => createRouter(name, { noSuchParam: 1 }), /router "[^"]+": unknown parameter "noSuchParam"/);
      assert.equal(routerParamsError(name, {}), null);
    });
  });

test("router parameter schemas: types and ranges, named in the message", () => {
  assert.throws(() => createRouter("knn", { k: "ten" }), /router "knn": parameter "k": expected a number/);
  assert.throws(() => createRouter("knn", { k: 2.5 }), /router "knn": parameter "k": expected an integer/);
  assert.throws(() => createRouter("mlp", { hidden: 0 }), /router "mlp": parameter "hidden": .*≥ ?1|>= ?1/);
  assert.throws(() => createRouter("auto", { bases: ["knn", "nope"] }), /parameter "bases\.1": unknown router "nope"/);
  assert.throws(
    () => createRouter("auto", { baseParams: { knn: { k: "x" } } }),
    /router "auto": parameter "baseParams\.knn\.k": expected a number/,
  );
  assert.throws(() => createRouter("fallback", { base: "fallback" }), /cannot wrap itself/);
  assert.doesNotThrow(() => createRouter("knn", { k: 10, shrink: 2, sameTask: false }));
  assert.doesNotThrow(() => createRouter("auto", { bases: ["knn", "irt"], baseParams: { knn: { k: 5 } }, folds: 3 }));
});
