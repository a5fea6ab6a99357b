import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { createEmbedder } from "../../src/embed/registry.ts";
import { exactTopK, ProjectedIndex, TopK } from "../../src/routing/ann.ts";
import { loadRouter, saveRouter, trainRouter } from "../../src/routing/artifacts.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../../src/routing/dataset.ts";
import { KnnRouter } from "../../src/routing/knn.ts";
import { principalBasis } from "../../src/routing/projection.ts";
import { Rng } from "../../src/util/prng.ts";
import { REPO, tempDir } from "../helpers.ts";
import { toyQuery, toySet } from "./toy.ts";

const same = (a: { rows: Int32Array; sims: Float64Array }, b: { rows: Int32Array; sims: Float64Array }) =>
  a.rows.length === b.rows.length && a.rows.every((r, i) => r === b.rows[i]) && a.sims.every((s, i) => s === b.sims[i]);

test("TopK: best first, equal scores to the lower row whatever the order rows arrive in", () => {
  const offers: [number, number][] = [
    [0.5, 7],
    [0.9, 3],
    [0.5, 2],
    [0.1, 0],
    [0.9, 1],
    [0.5, 4],
  ];
  for (const order of [offers, [...offers].reverse()]) {
    const top = new TopK(4);
    for (const [s, r] of order) top.push(s, r);
    assert.deepEqual([...top.rows], [1, 3, 2, 4]);
    assert.deepEqual([...top.scores], [0.9, 0.9, 0.5, 0.5]);
    assert.equal(top.floor(), 0.5);
    assert.equal(top.admits(0.5, 3), true);
    assert.equal(top.admits(0.5, 5), false);
  }
  assert.equal(new TopK(2).floor(), -Infinity);
});

test("principalBasis: orthonormal rows, the dominant direction first, also for rank-deficient data", () => {
  const d = 16;
  const rng = new Rng(5);
  // 300 rows spanning only dims 0–2, with most of the moment on dim 1.
  const rows = new Float32Array(300 * d);
  for (let r = 0; r < 300; r++) {
    rows[r * d] = 0.3 * rng.normal();
    rows[r * d + 1] = 2 * rng.normal();
    rows[r * d + 2] = 0.5 * rng.normal();
  }
  const m = 8;
  const V = principalBasis(rows, d, m, new Rng(1), { sample: 200 });
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let a = 0; a < d; a++) dot += V[i * d + a] * V[j * d + a];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `V${i}·V${j} = ${dot}`);
    }
  assert.ok(Math.abs(V[1]) > 0.999, `first direction ${[...V.subarray(0, 3)]}`);
  assert.ok(Math.abs(V[d + 2]) > 0.99, `second direction ${[...V.subarray(d, d + 3)]}`);
  // More basis vectors than dimensions are capped at d.
  assert.equal(principalBasis(rows, d, 40, new Rng(1)).length, d * d);
});

test("ProjectedIndex: same rows, ties and similarities as the exact scan (duplicates, pools, any k)", () => {
  const d = 48;
  const n = 3000;
  const rng = new Rng(11);
  // Clustered rows with exact duplicates (ties), like a resampled training set.
  const centres = Array.from({ length: 12 }, () => Float32Array.from({ length: d }, () => rng.normal()));
  const emb = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    if (r % 7 === 3) {
      emb.copyWithin(r * d, (r - 3) * d, (r - 2) * d);
      continue;
    }
    const c = centres[r % centres.length];
    let norm = 0;
    for (let a = 0; a < d; a++) {
      emb[r * d + a] = c[a] + 0.7 * rng.normal();
      norm += emb[r * d + a] ** 2;
    }
    // Mostly unit rows; every 11th has norm 2.5 (the bounds must not assume unit vectors).
    const scale = r % 11 === 5 ? 2.5 : 1;
    for (let a = 0; a < d; a++) emb[r * d + a] *= scale / Math.sqrt(norm);
  }
  const index = ProjectedIndex.build(emb, d, 1, [4, 4, 8]);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const pool = all.filter((r) => r % 3 !== 1);
  const stats = { refined: 0, exact: 0 };
  let searches = 0;
  for (let qi = 0; qi < 60; qi++) {
    // Half the queries are training rows themselves (duplicates tie at the top), half fresh.
    const e =
      qi % 2 === 0
        ? emb.slice(qi * 37 * d, (qi * 37 + 1) * d)
        : Float32Array.from({ length: d }, () => rng.normal() / Math.sqrt(d));
    for (const k of [1, 5, 20, 80]) {
      assert.ok(same(index.search(e, emb, null, k, stats), exactTopK(e, emb, d, all, k)), `query ${qi} k ${k}`);
      assert.ok(same(index.search(e, emb, pool, k), exactTopK(e, emb, d, pool, k)), `query ${qi} k ${k} pool`);
      searches++;
    }
  }
  // A pool smaller than k returns the whole pool, ranked.
  const tiny = Int32Array.from([5, 900, 42]);
  const e = emb.slice(0, d);
  assert.ok(same(index.search(e, emb, tiny, 10), exactTopK(e, emb, d, tiny, 10)));
  assert.equal(index.search(e, emb, tiny, 10).rows.length, 3);
  assert.equal(index.search(e, emb, null, 0).rows.length, 0);
  // It prunes: far fewer exact inner products than rows.
  assert.ok(stats.exact / searches < n / 2, `exact products per search ${stats.exact / searches}`);
});

test("knn router: projected search gives identical predictions, also after save → load", () => {
  const train = toySet(200);
  const rng = new Rng(4);
  const queries = ["a", "b", "zzz"].flatMap((t) =>
    [0, 1].map((c) => ({ ...toyQuery(t === "zzz" ? "a" : t, c, rng), task: t })),
  );
  for (const sameTask of [true, false]) {
    const plain = new KnnRouter({ k: 7, shrink: 1, sameTask, projectMinRows: Number.POSITIVE_INFINITY });
    const projected = new KnnRouter({ k: 7, shrink: 1, sameTask, projectMinRows: 1 });
    plain.fit(train);
    projected.fit(train);
    const a = plain.predict(queries);
    assert.deepEqual([...projected.predict(queries).performance], [...a.performance]);
    const dir = tempDir();
    const file = join(dir, "knn.json");
    saveRouter(
      trainRouter("knn", train, { embedder: "toy-8", params: { k: 7, shrink: 1, sameTask, projectMinRows: 1 } }),
      file,
    );
    assert.deepEqual([...loadRouter(file).router.predict(queries).performance], [...a.performance]);
  }
});

test("knn on the bundled LLMRouter USE vectors: test queries get the exact scan's neighbours", async () => {
  const store = new Store(join(tempDir(), "store.db"));
  await importPath(store, join(REPO, "data/llmrouter"));
  const embedder = createEmbedder("use");
  const candidates = datasetCandidateKeys(store, "llmrouter");
  const train = await buildTrainingSet(store, { dataset: "llmrouter", split: "train", embedder, candidates });
  const test_ = await buildTrainingSet(store, { dataset: "llmrouter", split: "test", embedder, candidates });
  store.close();
  // Every other test query (250), task unknown: a full scan of the 5,608 train rows.
  const queries = test_.queries.filter((_, i) => i % 2 === 0).map((q) => ({ ...q, task: undefined }));
  const d = train.queries[0].embedding.length;
  const emb = new Float32Array(train.queries.length * d);
  train.queries.forEach((q, i) => {
    emb.set(q.embedding, i * d);
  });
  const index = ProjectedIndex.build(emb, d);
  const all = Int32Array.from({ length: train.queries.length }, (_, i) => i);
  const stats = { refined: 0, exact: 0 };
  for (const q of queries)
    assert.ok(same(index.search(q.embedding, emb, null, 10, stats), exactTopK(q.embedding, emb, d, all, 10)), q.text);
  const perQuery = stats.exact / queries.length;
  assert.ok(perQuery < train.queries.length / 10, `exact inner products per query ${perQuery}`);
  // The router builds the same index at fit (5,608 rows ≥ the default threshold) and decides identically.
  const plain = new KnnRouter({ k: 10, shrink: 2, projectMinRows: Number.POSITIVE_INFINITY });
  const projected = new KnnRouter({ k: 10, shrink: 2 });
  plain.fit(train);
  projected.fit(train);
  const some = queries.slice(0, 100);
  assert.deepEqual([...projected.predict(some).performance], [...plain.predict(some).performance]);
});
