/**
 * Fit time of the stacked `auto` router: 5 inner cross-fitting folds (its setting before large sets got 3)
 * against its default (3 folds from LARGE_SET training queries on), in the same run on the same data,
 * with each variant's test-split performance (performance-first) beside it.
 *
 *   node --import tsx bench/auto-fit.ts                       # bundled LLMRouter train split, USE vectors
 *   node --import tsx bench/auto-fit.ts --routellm <mmlu dir>  # RouteLLM MMLU (seeded 80/20 split), hashed n-grams
 *
 * Prints: training queries, fit seconds of each variant, their ratio, and test performance of each.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { importPath } from "../src/data/import.ts";
import { stratifiedSplit } from "../src/data/split.ts";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { choiceMeans } from "../src/eval/metrics.ts";
import { AutoRouter, innerFolds } from "../src/routing/auto.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../src/routing/dataset.ts";
import { choose, DEFAULT_KNOB, learnScales } from "../src/routing/objective.ts";
import { createRouter } from "../src/routing/registry.ts";
import { tempDir } from "../test/helpers.ts";

const REPO = new URL("..", import.meta.url).pathname;
const at = process.argv.indexOf("--routellm");
const routellm = at > 0 ? process.argv[at + 1] : undefined;
const dir = tempDir();
const store = new Store(join(dir, "bench.db"));
let dataset: string;
let embedder: ReturnType<typeof createEmbedder>;
if (routellm) {
  dataset = "routellm";
  await importPath(store, routellm, { format: "routellm", dataset });
  store.setSplits(stratifiedSplit(store.queries({ dataset }), 0.2, 42));
  embedder = createEmbedder("hash");
} else {
  dataset = "llmrouter";
  await importPath(store, join(REPO, "data/llmrouter"));
  embedder = createEmbedder("use");
}
const candidates = datasetCandidateKeys(store, dataset);
const train = await buildTrainingSet(store, { dataset, split: "train", embedder, candidates });
const test = await buildTrainingSet(store, { dataset, split: "test", embedder, candidates });
const scales = learnScales(
  train.queries.map((q) => q.task),
  train.performance,
  train.cost,
  candidates.length,
);
const n = train.queries.length;
process.stdout.write(
  `${dataset}: ${n} train / ${test.queries.length} test queries, ${candidates.length} candidates, embedder ${embedder.name}; load average ${loadavg()[0].toFixed(1)}\n`,
);

function run(folds: number | undefined): { seconds: number; performance: number; folds: number } {
  const router = new AutoRouter(folds === undefined ? {} : { folds }, (name, p) => createRouter(name, p));
  const t0 = performance.now();
  router.fit(train);
  const seconds = (performance.now() - t0) / 1000;
  const picks = choose(
    router.predict(test.queries),
    candidates.length,
    DEFAULT_KNOB,
    scales,
    test.queries.map((q) => q.task),
  );
  return { seconds, performance: choiceMeans(test, picks).performance, folds: folds ?? innerFolds(n) };
}

const before = run(5);
const after = run(undefined);
for (const [label, r] of [
  ["5 inner folds (before)", before],
  [`default (${after.folds} folds)`, after],
] as const)
  process.stdout.write(
    `  ${label.padEnd(24)} fit ${r.seconds.toFixed(1)} s, test performance ${r.performance.toFixed(4)}\n`,
  );
process.stdout.write(`  fit time default ÷ 5 folds: ${(after.seconds / before.seconds).toFixed(2)}×\n`);
store.close();
