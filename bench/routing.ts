/**
 * Router training time, routing latency and memory on the bundled LLMRouter data (14-task train split,
 * 500-query test split), with the default USE embedder (vectors from the bundled precomputed cache).
 *
 *   node --import tsx bench/routing.ts [--quick] [--policies-only]
 *
 * Prints: per router, training time on the 5,608-query train set, its test-split mean performance
 * (performance-first) and the decision latency p50/p99 per query with the embedding cached (predict +
 * rank); the latency with the embedding computed (USE on the raw text); kNN decision latency over
 * 10,000 training queries (the train set resampled), with the task known (same-task search) and
 * unknown (full scan), before (plain exact scan) and after (projected index) in the same run; RSS / heap. Where Debian's python3-sklearn is installed, scikit-learn's kNN and
 * MLP are timed on the same vectors and our/their ratios printed. Last, the added decision time of the
 * multi-call policies on RouteProfile (bench/support/policy-decisions.ts); `--policies-only` runs just that.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { importPath } from "../src/data/import.ts";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { LEVELS, ProjectedIndex } from "../src/routing/ann.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../src/routing/dataset.ts";
import { KnnRouter } from "../src/routing/knn.ts";
import { choose, DEFAULT_KNOB, learnScales, predictionRow, rank, scaleFor } from "../src/routing/objective.ts";
import { MlpRouter } from "../src/routing/parametric.ts";
import { createRouter, ROUTER_NAMES } from "../src/routing/registry.ts";
import type { RouteQuery, Router, TrainingSet } from "../src/routing/router.ts";
import { Rng } from "../src/util/prng.ts";
import { tempDir } from "../test/helpers.ts";
import { flagArg } from "./support/args.ts";
import { policyDecisionTimes } from "./support/policy-decisions.ts";

const quick = flagArg("--quick");
const REPO = new URL("..", import.meta.url).pathname;
const dir = tempDir();
if (flagArg("--policies-only")) {
  await policyDecisionTimes(dir, REPO, (s) => process.stdout.write(s));
  process.exit(0);
}
const store = new Store(join(dir, "bench.db"));
await importPath(store, join(REPO, "data/llmrouter"));
const embedder = createEmbedder("use");
const candidates = datasetCandidateKeys(store, "llmrouter");
const train = await buildTrainingSet(store, { dataset: "llmrouter", split: "train", embedder, candidates });
const test = await buildTrainingSet(store, { dataset: "llmrouter", split: "test", embedder, candidates });
const c = candidates.length;
const scales = learnScales(
  train.queries.map((q) => q.task),
  train.performance,
  train.cost,
  c,
);

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (v: number) => `${v.toFixed(3)} ms`;

/** Per-query decision time: predict one query and rank every candidate. */
function decisionTimes(router: Router, queries: RouteQuery[]): number[] {
  const out: number[] = [];
  for (const q of queries.slice(0, 20)) router.predict([q]); // warm-up (JIT)
  for (const q of queries) {
    const t0 = performance.now();
    const pred = router.predict([q]);
    rank(predictionRow(pred, 0, c), train.candidates, DEFAULT_KNOB, scaleFor(scales, q.task));
    out.push(performance.now() - t0);
  }
  return out;
}

function testPerformance(router: Router): number {
  const picks = choose(
    router.predict(test.queries),
    c,
    DEFAULT_KNOB,
    scales,
    test.queries.map((q) => q.task),
  );
  let s = 0;
  picks.forEach((j, i) => {
    s += test.performance[i * c + j];
  });
  return s / picks.length;
}

process.stdout.write(
  `LLMRouter: ${train.queries.length} train × ${c} candidates, ${test.queries.length} test queries; embedder ${train.embedder}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}\n\n`,
);
process.stdout.write(
  "router           train s   test perf   decision p50   decision p99   RSS after\n" +
    "---------------  -------  ----------  -------------  -------------  ---------\n",
);
const trained = new Map<string, { router: Router; seconds: number }>();
for (const name of ROUTER_NAMES) {
  const router = createRouter(name);
  const t0 = performance.now();
  router.fit(train);
  const seconds = (performance.now() - t0) / 1000;
  trained.set(name, { router, seconds });
  const times = decisionTimes(router, test.queries);
  process.stdout.write(
    `${name.padEnd(15)}  ${seconds.toFixed(2).padStart(7)}  ${testPerformance(router).toFixed(4).padStart(10)}  ${ms(pct(times, 50)).padStart(13)}  ${ms(pct(times, 99)).padStart(13)}  ${mb(process.memoryUsage().rss).padStart(9)}\n`,
  );
}
const slowest = [...trained].sort((a, b) => b[1].seconds - a[1].seconds)[0];
process.stdout.write(
  `\nslowest to train: ${slowest[0]} ${slowest[1].seconds.toFixed(1)} s (target < 60 s); total ${[...trained.values()]
    .reduce((s, t) => s + t.seconds, 0)
    .toFixed(1)} s\n`,
);

// With the embedding computed: USE on the raw text, then the decision.
{
  const texts = test.queries.slice(0, quick ? 30 : 100);
  const use = createEmbedder("use");
  await use.embed(["warm-up"]);
  for (const name of ["knn", "graph"]) {
    const router = trained.get(name)?.router as Router;
    const times: number[] = [];
    for (const q of texts) {
      const t0 = performance.now();
      const [embedding] = await use.embed([q.text]);
      const pred = router.predict([{ ...q, embedding }]);
      rank(predictionRow(pred, 0, c), train.candidates, DEFAULT_KNOB, scaleFor(scales, q.task));
      times.push(performance.now() - t0);
    }
    process.stdout.write(
      `${name}: decision with the USE embedding computed (${texts.length} test queries): p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))}\n`,
    );
  }
}

// kNN over 10,000 training queries (train resampled with replacement).
function resample(data: TrainingSet, n: number): TrainingSet {
  const rng = new Rng(3);
  const rows = Array.from({ length: n }, () => rng.int(data.queries.length));
  const pick = (m: Float64Array) => {
    const out = new Float64Array(n * c);
    rows.forEach((r, i) => {
      out.set(m.subarray(r * c, (r + 1) * c), i * c);
    });
    return out;
  };
  return {
    ...data,
    queries: rows.map((r) => data.queries[r]),
    performance: pick(data.performance),
    cost: pick(data.cost),
    judge: null,
  };
}
const big = resample(train, 10_000);
const heapBefore = process.memoryUsage().heapUsed;
// Before: the plain exact scan (projectMinRows = ∞). After: the projected index (the default at ≥ 2,048
// rows), which returns the same neighbours. Passes alternate between the two routers, each routing every
// test query, so load drift on this shared machine hits both alike while each runs with its own data in
// cache, as it would when serving.
const passes = quick ? 1 : 3;
const poolSizes = new Map<string, number>();
for (const q of big.queries) poolSizes.set(q.task ?? "", (poolSizes.get(q.task ?? "") ?? 0) + 1);
const largestPool = Math.max(...poolSizes.values());
for (const sameTask of [true, false]) {
  const scope = sameTask ? "task known (same-task search)" : "task unknown (full scan)";
  const before = new KnnRouter({ k: 10, shrink: 2, sameTask, projectMinRows: Number.POSITIVE_INFINITY });
  let t0 = performance.now();
  before.fit(big);
  const fitBefore = performance.now() - t0;
  const after = new KnnRouter({ k: 10, shrink: 2, sameTask });
  t0 = performance.now();
  after.fit(big);
  const fitAfter = performance.now() - t0;
  let identical = 0;
  for (const q of test.queries) {
    const a = before.neighbours(q, 10);
    const b = after.neighbours(q, 10);
    if (a.rows.every((r, i) => r === b.rows[i]) && a.sims.every((v, i) => v === b.sims[i])) identical++;
  }
  const times = { before: [] as number[], after: [] as number[] };
  for (const q of test.queries.slice(0, 20)) {
    before.predict([q]);
    after.predict([q]);
  }
  for (let pass = 0; pass < 2 * passes; pass++) {
    const [name, router] = pass % 2 === 0 ? (["before", before] as const) : (["after", after] as const);
    for (const q of test.queries) {
      const t = performance.now();
      const pred = router.predict([q]);
      rank(predictionRow(pred, 0, c), train.candidates, DEFAULT_KNOB, scaleFor(scales, q.task));
      times[name].push(performance.now() - t);
    }
  }
  process.stdout.write(
    `kNN over 10,000 train queries, ${scope}, ${times.after.length} decisions (target p99 < 2 ms):\n` +
      `  before (plain scan):      fit ${fitBefore.toFixed(0).padStart(5)} ms, decision p50 ${ms(pct(times.before, 50))}, p99 ${ms(pct(times.before, 99))}\n` +
      `  after (projected index):  fit ${fitAfter.toFixed(0).padStart(5)} ms, decision p50 ${ms(pct(times.after, 50))}, p99 ${ms(pct(times.after, 99))}` +
      `  (p50 ×${(pct(times.before, 50) / pct(times.after, 50)).toFixed(1)}, p99 ×${(pct(times.before, 99) / pct(times.after, 99)).toFixed(1)}; index ${mb(after.indexBytes())})\n` +
      (sameTask
        ? `  (largest task pool ${largestPool} rows; the index serves pools of ≥ 2,048 rows, e.g. unseen tasks)\n`
        : "") +
      `  identical neighbours (rows and similarities) for ${identical}/${test.queries.length} test queries\n`,
  );
}
{
  // Work per full-scan query, independent of machine load: the plain scan does 10,000 exact 512-d products.
  const d = big.queries[0].embedding.length;
  const emb = new Float32Array(big.queries.length * d);
  big.queries.forEach((q, i) => {
    emb.set(q.embedding, i * d);
  });
  const index = ProjectedIndex.build(emb, d);
  const refined: number[] = [];
  const exact: number[] = [];
  for (const q of test.queries) {
    const st = { refined: 0, exact: 0 };
    index.search(q.embedding, emb, null, 10, st);
    refined.push(st.refined);
    exact.push(st.exact);
  }
  process.stdout.write(
    `  projected search work per query (levels ${LEVELS.join("/")}-d, k = 10): ${LEVELS[0]}-d products on all 10,000 rows, ` +
      `bound refinements p50 ${pct(refined, 50)} / p99 ${pct(refined, 99)}, exact 512-d products p50 ${pct(exact, 50)} / p99 ${pct(exact, 99)} (plain scan: 10,000)\n`,
  );
}
const mem = process.memoryUsage();
process.stdout.write(
  `memory: RSS ${mb(mem.rss)}, heap used ${mb(mem.heapUsed)} (10k-query kNN index ≈ ${mb(Math.max(0, mem.heapUsed - heapBefore) + 10_000 * 512 * 4)} incl. typed arrays)\n\n`,
);

// scikit-learn on the same vectors, when python3-sklearn is installed.
const py = spawnSync("/usr/bin/python3", ["-c", "import sklearn; print(sklearn.__version__)"], { encoding: "utf8" });
if (py.status !== 0) {
  process.stdout.write("scikit-learn not installed (apt-get install python3-sklearn): comparison skipped\n");
} else {
  // Same inputs for both: unit embedding ⊕ task one-hot; targets = per-candidate performance.
  const tasks = [...new Set(train.queries.map((q) => q.task as string))].sort();
  const feats = (qs: RouteQuery[]) =>
    qs.map((q) => [...q.embedding, ...tasks.map((t) => (t === q.task ? 1 : 0))].map((v) => Number(v.toFixed(6))));
  const file = join(dir, "vectors.json");
  writeFileSync(
    file,
    JSON.stringify({
      Xtr: feats(train.queries),
      Ytr: Array.from({ length: train.queries.length }, (_, i) => [...train.performance.subarray(i * c, (i + 1) * c)]),
      Xte: feats(test.queries),
    }),
  );
  const script = `
import json, sys, time
import numpy as np
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
d = json.load(open(sys.argv[1]))
Xtr, Ytr, Xte = np.array(d["Xtr"], dtype=np.float32), np.array(d["Ytr"]), np.array(d["Xte"], dtype=np.float32)
out = {}
t = time.perf_counter(); knn = KNeighborsRegressor(n_neighbors=10, metric="cosine", algorithm="brute", weights="distance").fit(Xtr, Ytr); out["knn_fit"] = time.perf_counter() - t
knn.predict(Xte[:5])
lat = []
for x in Xte:
    t = time.perf_counter(); knn.predict(x[None, :]); lat.append(time.perf_counter() - t)
out["knn_p50"], out["knn_p99"] = float(np.percentile(lat, 50)) * 1e3, float(np.percentile(lat, 99)) * 1e3
t = time.perf_counter(); MLPRegressor(hidden_layer_sizes=(64,), early_stopping=True, max_iter=30, random_state=1).fit(Xtr, Ytr); out["mlp_fit"] = time.perf_counter() - t
print(json.dumps(out))
`;
  const r = spawnSync("/usr/bin/python3", ["-c", script, file], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) process.stdout.write(`scikit-learn run failed: ${r.stderr}\n`);
  else {
    const sk = JSON.parse(r.stdout) as Record<string, number>;
    // Ours on the same vectors: kNN over all rows (no same-task restriction: sklearn has none), k = 10.
    const knnAll = new KnnRouter({ k: 10, shrink: 0, sameTask: false });
    let t0 = performance.now();
    knnAll.fit(train);
    const knnFit = (performance.now() - t0) / 1000;
    const times = decisionTimes(knnAll, test.queries);
    const mlp = new MlpRouter({ epochs: 30 });
    t0 = performance.now();
    mlp.fit(train);
    const mlpFit = (performance.now() - t0) / 1000;
    const row = (what: string, ours: number, theirs: number, unit: string) =>
      process.stdout.write(
        `${what.padEnd(34)} ours ${ours.toFixed(3).padStart(8)} ${unit}  scikit-learn ${py.stdout.trim()} ${theirs.toFixed(3).padStart(8)} ${unit}  ours/theirs ${(ours / theirs).toFixed(2)}\n`,
      );
    row("kNN fit (5,608 × 526)", knnFit, sk.knn_fit, "s ");
    row("kNN one-query decision p50", pct(times, 50), sk.knn_p50, "ms");
    row("kNN one-query decision p99", pct(times, 99), sk.knn_p99, "ms");
    row("MLP fit (64 hidden, ≤ 30 epochs)", mlpFit, sk.mlp_fit, "s ");
  }
}
await policyDecisionTimes(dir, REPO, (s) => process.stdout.write(s));
store.close();
