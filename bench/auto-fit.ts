/**
 * Fit time of the stacked `auto` router: 5 inner cross-fitting folds (its setting before large sets got 3)
 * against its default (3 folds from LARGE_SET training queries on), in the same run on the same data,
 * with each variant's test-split performance (performance-first) beside it.
 *
 *   node --import tsx bench/auto-fit.ts                       # bundled LLMRouter train split, USE vectors
 *   node --import tsx bench/auto-fit.ts --routellm <mmlu dir>  # RouteLLM MMLU (seeded 80/20 split), hashed n-grams
 *
 * Prints: training queries, fit seconds of each variant, their ratio, and test performance of each.
 *
 *   node --import tsx bench/auto-fit.ts --extra graph [--rounds 3]   # default bases vs default + graph
 *
 * With --extra, it compares instead auto with its default bases (AUTO_DEFAULT_BASES) against auto with the
 * named routers added, fitted in alternating order (A B, B A, A B, …) so that a change in the machine's load
 * hits both alike, and prints every fit time, the ratio of each round and their median.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { importPath } from "../src/data/import.ts";
import { stratifiedSplit } from "../src/data/split.ts";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { choiceMeans } from "../src/eval/metrics.ts";
import { AUTO_DEFAULT_BASES, type AutoParams, AutoRouter, innerFolds } from "../src/routing/auto.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../src/routing/dataset.ts";
import { choose, DEFAULT_KNOB, learnScales } from "../src/routing/objective.ts";
import { createRouter } from "../src/routing/registry.ts";
import { tempDir } from "../test/helpers.ts";
import { numberArg, stringArg } from "./support/args.ts";
import { median } from "./support/cpu-share.ts";

const REPO = new URL("..", import.meta.url).pathname;
const routellm = stringArg("--routellm") ?? undefined;
const extra = stringArg("--extra")?.split(",").filter(Boolean);
const rounds = numberArg("--rounds", 3);
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

interface Fit {
  seconds: number;
  /** CPU seconds of this process during the fit (user + system): less sensitive to the neighbours' load. */
  cpu: number;
  performance: number;
  folds: number;
}

function run(params: AutoParams): Fit {
  const router = new AutoRouter(params, (name, p) => createRouter(name, p));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  router.fit(train);
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const picks = choose(
    router.predict(test.queries),
    candidates.length,
    DEFAULT_KNOB,
    scales,
    test.queries.map((q) => q.task),
  );
  return {
    seconds,
    cpu: (c.user + c.system) / 1e6,
    performance: choiceMeans(test, picks).performance,
    folds: innerFolds(n, params.folds),
  };
}

if (extra) {
  const withExtra = [...AUTO_DEFAULT_BASES, ...extra];
  const label = `+${extra.join("+")}`;
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ["default", label] : [label, "default"];
    const t: Record<string, Fit> = {};
    for (const v of order) t[v] = run(v === "default" ? {} : { bases: withExtra });
    const a = t.default as Fit;
    const b = t[label] as Fit;
    ratios.push(b.seconds / a.seconds);
    cpuRatios.push(b.cpu / a.cpu);
    process.stdout.write(
      `  round ${r + 1} (${order.join(" then ")}): default bases ${a.seconds.toFixed(1)} s (CPU ${a.cpu.toFixed(1)} s), ${label} ${b.seconds.toFixed(1)} s (CPU ${b.cpu.toFixed(1)} s): ${(b.seconds / a.seconds).toFixed(2)}× wall, ${(b.cpu / a.cpu).toFixed(2)}× CPU; test performance ${a.performance.toFixed(4)} vs ${b.performance.toFixed(4)}; load average ${loadavg()[0].toFixed(1)}\n`,
    );
  }
  process.stdout.write(
    `  fit time ${label} ÷ default bases, median over ${rounds} rounds: ${median(ratios).toFixed(2)}× wall, ${median(cpuRatios).toFixed(2)}× CPU\n`,
  );
  store.close();
  process.exit(0);
}
const before = run({ folds: 5 });
const after = run({});
for (const [label, r] of [
  ["5 inner folds (before)", before],
  [`default (${after.folds} folds)`, after],
] as const)
  process.stdout.write(
    `  ${label.padEnd(24)} fit ${r.seconds.toFixed(1)} s, test performance ${r.performance.toFixed(4)}\n`,
  );
process.stdout.write(`  fit time default ÷ 5 folds: ${(after.seconds / before.seconds).toFixed(2)}×\n`);
store.close();
