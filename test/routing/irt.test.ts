import assert from "node:assert/strict";
import { test } from "node:test";
import { IrtModel, softplus } from "../../src/routing/layers.ts";
import { sigmoid } from "../../src/routing/math.ts";
import { createRouter } from "../../src/routing/registry.ts";
import type { RouteQuery, TrainingSet } from "../../src/routing/router.ts";
import { predictSigmoid, trainSigmoid } from "../../src/routing/sgd.ts";
import { Rng } from "../../src/util/prng.ts";
import { CANDIDATES } from "./toy.ts";

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} ≉ ${b}`);

test("softplus: log(1 + eᵘ), stable at large |u|", () => {
  close(softplus(0), Math.log(2));
  close(softplus(1), Math.log(1 + Math.E));
  close(softplus(800), 800);
  close(softplus(-800), 0);
});

// p = 2 features, k = 1 skill, c = 2 candidates; every value below is worked by hand.
// x = (1, 2); Wa = (0.5, −0.25) → u = 0.5 − 0.5 = 0 (+ ba 0) → a = ln 2;
// Θ = (2, −1), c = (0.1, 0.3); wb = (0.25, 0.5), bb = −0.25 → b = 0.25 + 1 − 0.25 = 1.
// logits: ln2·2 + 0.1 − 1 = 2 ln2 − 0.9;  ln2·(−1) + 0.3 − 1 = −ln2 − 0.7.
function handModel(): IrtModel {
  return new IrtModel(2, 1, 2, null, [
    Float64Array.from([0.5, -0.25]),
    Float64Array.from([0]),
    Float64Array.from([2, -1]),
    Float64Array.from([0.1, 0.3]),
    Float64Array.from([0.25, 0.5]),
    Float64Array.from([-0.25]),
  ]);
}

test("IRT forward: logit = a(q)·θ_m + c_m − b(q), by hand", () => {
  const m = handModel();
  const x = Float64Array.from([1, 2]);
  const z = m.forward(x, 1);
  close(z[0] as number, 2 * Math.LN2 - 0.9);
  close(z[1] as number, -Math.LN2 - 0.7);
  const { a, b } = m.items(x, 1);
  close(a[0] as number, Math.LN2);
  close(b[0] as number, 1);
  // a harder query (larger b) lowers every candidate's success; the ranking of candidates stays
  const p = predictSigmoid(m, x, 1, 2);
  close(p[0] as number, sigmoid(2 * Math.LN2 - 0.9));
});

test("IRT backward: gradients match finite differences of the cross-entropy", () => {
  const m = handModel();
  const X = Float64Array.from([1, 2, -0.5, 0.3, 0.2, -1]);
  const Y = Float64Array.from([1, 0, 0.5, 1, 0, 0.25]);
  const loss = () => {
    const z = m.forward(X, 3);
    let s = 0;
    for (let t = 0; t < z.length; t++) {
      const q = sigmoid(z[t] as number);
      const y = Y[t] as number;
      s -= y * Math.log(q) + (1 - y) * Math.log(1 - q);
    }
    return s;
  };
  const z = m.forward(X, 3);
  const dz = z.map((v, t) => sigmoid(v) - (Y[t] as number));
  const grads = m.backward(dz, 3).map((g) => g.slice());
  const h = 1e-6;
  m.params.forEach((param, k) => {
    for (let i = 0; i < param.length; i++) {
      const v = param[i] as number;
      param[i] = v + h;
      const up = loss();
      param[i] = v - h;
      const down = loss();
      param[i] = v;
      close(grads[k]?.[i] as number, (up - down) / (2 * h), 1e-6);
    }
  });
});

test("IRT training recovers difficulty and ability from graded outcomes", () => {
  // One feature says how hard a query is (difficulty h ∈ [0,1]); model "strong" solves all but the
  // hardest, "weak" only the easy ones; outcomes are graded (0.5 on the borderline).
  const rng = new Rng(3);
  const n = 300;
  const X = new Float64Array(n * 2);
  const Y = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const h = rng.next();
    X[i * 2] = h;
    X[i * 2 + 1] = 1;
    Y[i * 2] = h < 0.8 ? 1 : 0; // strong
    Y[i * 2 + 1] = h < 0.3 ? 1 : h < 0.4 ? 0.5 : 0; // weak
  }
  const m = new IrtModel(2, 2, 2, new Rng(1));
  trainSigmoid(m, X, Y, 2, {
    epochs: 300,
    batch: 32,
    lr: 0.05,
    weightDecay: 0,
    valFraction: 0,
    patience: 1,
    rng: new Rng(2),
    tasks: new Array(n).fill("t"),
  });
  const probe = Float64Array.from([0.1, 1, 0.6, 1, 0.95, 1]);
  const p = predictSigmoid(m, probe, 3, 2);
  const { b } = m.items(probe, 3);
  assert.ok((b[0] as number) < (b[1] as number) && (b[1] as number) < (b[2] as number), "difficulty grows with h");
  assert.ok((p[0] as number) > 0.8 && (p[1] as number) > 0.8, "an easy query: both succeed");
  assert.ok((p[2] as number) > 0.8 && (p[3] as number) < 0.2, "a middle query: only the strong model");
  assert.ok((p[4] as number) < 0.2 && (p[5] as number) < 0.2, "the hardest: neither");
});

test("irt router: unseen queries ranked by predicted ability × discrimination − difficulty", () => {
  // Task "t": candidate cheap solves queries on dimension 0, big those on dimension 1.
  const rng = new Rng(5);
  const q = (d: number): RouteQuery => {
    const e = new Float32Array(4);
    e[d] = 1;
    e[2] = 0.1 * rng.normal();
    return { text: `q${d}-${rng.next()}`, embedding: e, task: "t" };
  };
  const queries = Array.from({ length: 120 }, (_, i) => q(i % 2));
  const data: TrainingSet = {
    candidates: CANDIDATES,
    queries,
    performance: Float64Array.from(queries.flatMap((_, i) => (i % 2 === 0 ? [1, 0, 0.5] : [0, 1, 0.5]))),
    cost: Float64Array.from(queries.flatMap(() => [1, 10, 5])),
    judge: null,
  };
  const r = createRouter("irt", { epochs: 200, lr: 0.05 });
  r.fit(data);
  const pred = r.predict([q(0), q(1)]);
  const perf = [...pred.performance];
  // cheap (1) > mid (0.5) > big (0) on a dimension-0 query; big > mid > cheap on a dimension-1 query
  const [c0, b0, m0, c1, b1, m1] = perf as [number, number, number, number, number, number];
  assert.ok(c0 > m0 && m0 > b0 && c0 - b0 > 0.3, `dimension-0 query: ${perf.slice(0, 3)}`);
  assert.ok(b1 > m1 && m1 > c1 && b1 - c1 > 0.3, `dimension-1 query: ${perf.slice(3)}`);
});
