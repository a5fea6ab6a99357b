import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { createEmbedder, DEFAULT_EMBEDDER, EMBEDDER_SPEC_HELP } from "../../embed/registry.ts";
import { type CvOptions, DEFAULT_CV_FOLDS, DEFAULT_CV_SEED } from "../../eval/cv.ts";
import { runEvaluation } from "../../eval/run.ts";
import { evalJson, saveEvalRun } from "../../eval/runs.ts";
import { formatEvalTable, writeEvalReport } from "../../report/eval-report.ts";
import { loadArtifactRouter } from "../../routing/artifacts.ts";
import { createPolicy, POLICY_NAMES } from "../../routing/policies.ts";
import { createRouter, ROUTER_NAMES, type RouterParams, routerParamsError } from "../../routing/registry.ts";
import {
  commaList,
  openStore,
  parseNameList,
  parseNonNegative,
  parseParams,
  parseRouters,
  parseScenarios,
  parseSeed,
  parseSplit,
  printJson,
  repeatable,
  requireJudgeScores,
  resolveDataset,
  withStoreOptions,
} from "../options.ts";

function parsePolicies(value: string | undefined): string[] {
  return parseNameList(value, [], POLICY_NAMES, "--policies", "policy");
}

/** `--cv` alone → K = 5; `--cv K` → K (an integer ≥ 2); absent → no cross-validation. */
function parseCv(value: string | boolean | undefined, seed: string): CvOptions | undefined {
  if (value === undefined || value === false) return undefined;
  const folds = value === true ? DEFAULT_CV_FOLDS : Number(value);
  if (!Number.isInteger(folds) || folds < 2)
    throw new UsageError(`--cv: expected a number of folds ≥ 2, got "${value}"`);
  return { folds, seed: parseSeed(seed, "--cv-seed") };
}

/**
 * `--param auto.memory=false` (repeatable) → {auto: {memory: false}}: each parameter names the router it is
 * for (one of `routers`), is parsed as `train --param` values are, and is checked against that router's schema.
 */
function parseRouterParams(items: string[], routers: readonly string[]): Record<string, RouterParams> {
  const out: Record<string, RouterParams> = {};
  for (const [key, value] of Object.entries(parseParams(items))) {
    const dot = key.indexOf(".");
    const router = key.slice(0, dot);
    if (dot <= 0 || dot === key.length - 1)
      throw new UsageError(`--param must look like router.name=value (e.g. auto.memory=false), got "${key}"`);
    if (!routers.includes(router))
      throw new UsageError(`--param ${key}: router "${router}" is not one of --routers (${routers.join(",")})`);
    out[router] = { ...out[router], [key.slice(dot + 1)]: value };
  }
  for (const [router, params] of Object.entries(out)) {
    const problem = routerParamsError(router, params);
    if (problem) throw new UsageError(`--param: ${problem}`);
  }
  return out;
}

export function registerEval(program: Command): void {
  withStoreOptions(
    program
      .command("eval")
      .description(
        "train routers on the train split (or load artifacts) and score them on the test split: performance, cost, reward, gap closed, AIQ, per task",
      )
      .option("--split <split>", "split to score (routers train on train)", "test")
      .option("--routers <names>", `comma-separated routers (default: all: ${ROUTER_NAMES.join(",")})`)
      .option("--artifacts <files>", "comma-separated router artifact files to score as they are (no training)")
      .option(
        "--param <router.name=value>",
        "parameter of a trained router (repeatable), e.g. auto.memory=false",
        repeatable,
        [],
      )
      .option("--scenario <names>", "comma-separated: performance,balance,cost,llm-judge", "performance,balance,cost")
      .option(
        "--policies <names>",
        `comma-separated multi-call policies replayed on recorded responses (${POLICY_NAMES.join(", ")}); scenarios map to their CV-chosen points: performance → max-performance, balance → within-cost, cost → match-best`,
      )
      .option("--call-latency-ms <ms>", "per-call latency for the policies' stage latency", "1000")
      .option("--embedder <spec>", EMBEDDER_SPEC_HELP, DEFAULT_EMBEDDER)
      .option(
        "--cv [folds]",
        `also K-fold cross-validate the routers on the train split (stratified by task; default K ${DEFAULT_CV_FOLDS}): mean ± sd over folds next to the one test score`,
      )
      .option("--cv-seed <n>", "seed of the cross-validation folds", String(DEFAULT_CV_SEED))
      .option("--report-dir <dir>", "write report.md and SVG plots here (default: reports/<dataset>)")
      .option("--no-report", "do not write the report folder")
      .option("--no-save", "do not keep this run in the store (runs are listed by 'fusionkit ui')")
      .option("--json", "print one JSON object (see README)"),
  ).action(
    async (opts: {
      db: string;
      dataset?: string;
      split: string;
      routers?: string;
      param: string[];
      artifacts?: string;
      scenario?: string;
      embedder: string;
      cv?: string | boolean;
      cvSeed: string;
      policies?: string;
      callLatencyMs: string;
      reportDir?: string;
      report: boolean;
      save: boolean;
      json?: boolean;
    }) => {
      const split = parseSplit(opts.split) ?? "test";
      const scenarios = parseScenarios(opts.scenario);
      const artifactFiles = commaList(opts.artifacts ?? "");
      const policies = parsePolicies(opts.policies);
      // With artifacts or policies only, train no router unless routers are named too.
      const routers = parseRouters(opts.routers, artifactFiles.length || policies.length ? [] : ROUTER_NAMES);
      const params = parseRouterParams(opts.param, routers);
      const perCallLatencyMs = parseNonNegative(opts.callLatencyMs, "--call-latency-ms");
      const cv = parseCv(opts.cv, opts.cvSeed);
      if (cv && routers.length === 0 && policies.length === 0)
        throw new UsageError(
          "--cv cross-validates routers trained here; name them with --routers (artifacts are already fitted)",
        );
      const store = openStore(opts);
      try {
        const dataset = resolveDataset(store, opts.dataset) as string;
        if (scenarios.includes("llm-judge")) requireJudgeScores(store, dataset, split);
        const loaded = artifactFiles.map((f) => loadArtifactRouter(f));
        const embedder = createEmbedder(
          opts.embedder === DEFAULT_EMBEDDER && loaded[0] ? loaded[0].embedder : opts.embedder,
        );
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const result = await runEvaluation({
          store,
          dataset,
          split,
          embedder,
          routers,
          create: (name) => createRouter(name, params[name] ?? {}),
          loaded,
          scenarios,
          cv,
          log,
          policies,
          createPolicy: (name) => createPolicy(name),
          perCallLatencyMs,
        });
        if (opts.save) {
          const settings = {
            command: "eval",
            routers,
            params,
            artifacts: artifactFiles,
            scenarios,
            embedder: embedder.name,
          };
          const id = saveEvalRun(store.db, dataset, settings, result, evalJson(dataset, result));
          log(`stored as evaluation run ${id} in ${store.path}`);
        }
        if (opts.report) {
          const dir = opts.reportDir ?? `reports/${dataset}`;
          const files = writeEvalReport(result, dir, `FusionKit evaluation: ${dataset}`);
          log(`report: ${files.markdown} (+ ${files.plots.length} SVG plots)`);
        }
        if (opts.json) return printJson(evalJson(dataset, result));
        process.stdout.write(
          `${dataset}, split ${split}: ${result.queries} queries × ${result.candidates.length} candidates, routers trained on ${result.trainQueries}\n`,
        );
        process.stdout.write(formatEvalTable(result));
      } finally {
        store.close();
      }
    },
  );
}
