import { resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { importPath } from "../../data/import.ts";
import { stratifiedSplit } from "../../data/split.ts";
import type { Store } from "../../data/store.ts";
import { seedEmbeddingCache } from "../../embed/bundled.ts";
import type { Embedder } from "../../embed/embedder.ts";
import { createEmbedder, DEFAULT_EMBEDDER, EMBEDDER_SPEC_HELP } from "../../embed/registry.ts";
import type { EvalResult } from "../../eval/evaluate.ts";
import { runEvaluation } from "../../eval/run.ts";
import { evalJson, saveEvalRun } from "../../eval/runs.ts";
import { fmt, formatEvalTable, leadingRouter, usd, writeEvalReport } from "../../report/eval-report.ts";
import { fittedArtifact, saveRouterToStore } from "../../routing/artifacts.ts";
import { buildTrainingSet } from "../../routing/dataset.ts";
import { DEFAULT_KNOB } from "../../routing/objective.ts";
import { createRouter, DEFAULT_ROUTER, ROUTER_NAMES } from "../../routing/registry.ts";
import type { Router } from "../../routing/router.ts";
import { progress } from "../../util/progress.ts";
import { commaList, defaultDb, openStore, parseRouters, parseScenarios } from "../options.ts";

/** The bundled real data the demo runs on (see data/README.md). */
const DATA_DIR = resolve(import.meta.dirname, "../../../data");
const BUNDLED = [
  { dataset: "llmrouter", path: resolve(DATA_DIR, "llmrouter"), format: "llmrouter" },
  { dataset: "routeprofile", path: resolve(DATA_DIR, "routeprofile"), format: "routeprofile" },
];
/** RouteProfile ships no split: the demo assigns a seeded, task-stratified one (as `fusionkit split` would). */
const SPLIT_SEED = 42;
/**
 * The demo's routers: the two baselines, the default router (auto, which stacks knn, logistic and irt)
 * and two strong single learners to compare it with; every other router runs with --routers.
 */
const DEMO_ROUTERS = ["best-single", "best-per-task", "knn", "graph", DEFAULT_ROUTER];
const TEST_FRACTION = 0.2;

interface DemoOptions {
  db: string;
  out: string;
  embedder: string;
  routers?: string;
  scenario?: string;
  datasets?: string;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "the main job on the bundled data: import it, train the routers (auto and what it is compared with), evaluate on the test split, print the comparison and write a report",
    )
    .option("--db <file>", "SQLite store file (reused when run again)", defaultDb())
    .option("--out <dir>", "report folder (one subfolder per dataset)", "reports/demo")
    .option("--embedder <spec>", EMBEDDER_SPEC_HELP, DEFAULT_EMBEDDER)
    .option(
      "--routers <names>",
      `comma-separated routers (default: ${DEMO_ROUTERS.join(",")}; known: ${ROUTER_NAMES.join(",")})`,
    )
    .option("--scenario <names>", "comma-separated: performance,balance,cost,llm-judge", "performance,balance,cost")
    .option("--datasets <names>", `bundled datasets to run (default: ${BUNDLED.map((b) => b.dataset).join(",")})`)
    .action(async (opts: DemoOptions) => {
      const started = performance.now();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const scenarios = parseScenarios(opts.scenario);
      const routers = parseRouters(opts.routers, DEMO_ROUTERS);
      const wanted = opts.datasets ? commaList(opts.datasets) : BUNDLED.map((b) => b.dataset);
      const bundles = BUNDLED.filter((b) => wanted.includes(b.dataset));
      const unknown = wanted.filter((w) => !BUNDLED.some((b) => b.dataset === w));
      if (unknown.length)
        throw new UsageError(
          `--datasets: no bundled dataset "${unknown.join(", ")}" (bundled: ${BUNDLED.map((b) => b.dataset).join(", ")})`,
        );

      const store = openStore(opts);
      try {
        await importBundled(store, bundles, log);
        const embedder = createEmbedder(opts.embedder);
        const seeded = seedEmbeddingCache(store, embedder.name);
        log(
          seeded.available
            ? `embeddings: ${seeded.added} precomputed ${embedder.name} vectors added to the cache`
            : `embeddings: none bundled for ${embedder.name}; computing them once (cached in ${store.path})`,
        );
        const summary: Array<{ dataset: string; result: EvalResult }> = [];
        for (const b of bundles) {
          // The default router the evaluation fits is kept, so `fusionkit init` serves it (no second training).
          let fittedDefault: Router | null = null;
          const result = await runEvaluation({
            store,
            dataset: b.dataset,
            split: "test",
            embedder,
            routers,
            create: (name) => {
              const r = createRouter(name);
              if (name === DEFAULT_ROUTER) fittedDefault = r;
              return r;
            },
            scenarios,
            log,
          });
          if (fittedDefault) await saveDefaultRouter(store, b.dataset, fittedDefault, result, embedder, log);
          const settings = { command: "demo", routers, artifacts: [], scenarios, embedder: embedder.name };
          saveEvalRun(store.db, b.dataset, settings, result, evalJson(b.dataset, result));
          const dir = resolve(opts.out, b.dataset);
          const files = writeEvalReport(result, dir, `FusionKit demo: ${b.dataset}`);
          process.stdout.write(
            `\n${b.dataset}: ${result.queries} test queries × ${result.candidates.length} candidates, routers trained on ${result.trainQueries}\n`,
          );
          process.stdout.write(formatEvalTable(result));
          process.stdout.write(`report: ${files.markdown}\n`);
          summary.push({ dataset: b.dataset, result });
        }
        process.stdout.write("\n");
        for (const { dataset, result } of summary) process.stdout.write(`${headline(dataset, result)}\n`);
        process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      } finally {
        store.close();
      }
    });
}

/**
 * Save the default router the demo trained as `<dataset>/auto`, the id `fusionkit train` would give it, so
 * `fusionkit init` right after the demo serves it. Its scales come from the same train split it was fitted on.
 */
async function saveDefaultRouter(
  store: Store,
  dataset: string,
  router: Router,
  result: EvalResult,
  embedder: Embedder,
  log: (line: string) => void,
): Promise<void> {
  const train = await buildTrainingSet(store, { dataset, split: "train", embedder, candidates: result.candidates });
  const id = `${dataset}/${DEFAULT_ROUTER}`;
  saveRouterToStore(
    store,
    id,
    fittedArtifact(DEFAULT_ROUTER, router, train, { knob: DEFAULT_KNOB, embedder: train.embedder }),
  );
  log(`${dataset}: saved the trained ${DEFAULT_ROUTER} router in ${store.path} as "${id}" (fusionkit init serves it)`);
}

/** Import each bundled dataset the store lacks, and give RouteProfile its seeded split once. */
async function importBundled(store: Store, bundles: typeof BUNDLED, log: (line: string) => void): Promise<void> {
  for (const b of bundles) {
    if (store.datasets().includes(b.dataset)) log(`${b.dataset}: already in ${store.path}`);
    else {
      const bar = progress(`importing ${b.dataset}`, 1);
      const s = await importPath(store, b.path, {
        format: b.format,
        dataset: b.dataset,
        onProgress: (done, total) => bar.update(done, total),
      });
      bar.stop();
      log(`${b.dataset}: imported ${s.queriesAdded} queries, ${s.outcomesAdded} outcomes from ${b.path}`);
    }
    const unsplit = store.queries({ dataset: b.dataset }).filter((q) => !q.split);
    if (unsplit.length > 0) {
      const assignments = stratifiedSplit(unsplit, TEST_FRACTION, SPLIT_SEED);
      store.setSplits(assignments);
      const nTest = assignments.filter((a) => a.split === "test").length;
      log(`${b.dataset}: no split in the source; seeded split ${assignments.length - nTest} train / ${nTest} test`);
    }
  }
}

/**
 * One line per dataset: the default router `auto` (its choices were made by cross-validation on train) against the
 * best single model and the oracle. The router that scored highest on test is named after it as hindsight only:
 * picking it from this table would be choosing on the test split.
 */
function headline(dataset: string, r: EvalResult): string {
  const lead = leadingRouter(r);
  if (!lead) return `${dataset}: no router evaluated`;
  const chosen = r.routers.find((x) => x.name === "auto" && x.scenario === lead.scenario);
  const shown = chosen ?? lead;
  const label = chosen ? "default router auto (chosen on train)" : `best router ${lead.name}`;
  const hindsight =
    chosen && lead.name !== chosen.name ? ` · test leader in hindsight ${lead.name} ${fmt(lead.performance)}` : "";
  return (
    `${dataset}: ${label} ${fmt(shown.performance)} at ${usd(shown.cost)}/query ` +
    `(${shown.scenario}; beats the best single model on ${shown.beatsBestSingleOn.length} of ${r.tasks.length} tasks) · ` +
    `best single ${r.bestSingle.model} ${fmt(r.bestSingle.performance)} at ${usd(r.bestSingle.cost)} · oracle ${fmt(r.oracle.performance)}` +
    hindsight
  );
}
