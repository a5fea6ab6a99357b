import { statSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { createEmbedder, DEFAULT_EMBEDDER, EMBEDDER_SPEC_HELP } from "../../embed/registry.ts";
import { saveRouter, saveRouterToStore, trainRouter } from "../../routing/artifacts.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../../routing/dataset.ts";
import { knobLabel, parseKnob } from "../../routing/objective.ts";
import {
  DEFAULT_ROUTER,
  ROUTER_NAMES,
  type RouterParams,
  routerDescription,
  routerParamsError,
} from "../../routing/registry.ts";
import {
  openStore,
  printJson,
  requireJudgeScores,
  requireSplit,
  resolveDataset,
  withStoreOptions,
} from "../options.ts";

/** "k=10" → {k: 10}; values are JSON when they parse as JSON ("true", "0.5", "[1,2]"), else strings. */
export function parseParams(items: string[]): RouterParams {
  const out: RouterParams = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param must look like name=value, got "${item}"`);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string value
    }
    out[item.slice(0, eq)] = value;
  }
  return out;
}

export function registerTrain(program: Command): void {
  withStoreOptions(
    program
      .command("train")
      .description("train a router on the train split and save it as an artifact (file + a copy in the store)")
      .option("--router <name>", `router: ${ROUTER_NAMES.join(", ")}`, DEFAULT_ROUTER)
      .option(
        "--scenario <name>",
        "default knob stored in the artifact: performance-first, balance, cost-first, llm-judge",
      )
      .option("--lambda <number>", "default knob: willingness to pay (performance points per USD)")
      .option("--embedder <spec>", EMBEDDER_SPEC_HELP, DEFAULT_EMBEDDER)
      .option("--param <name=value>", "router parameter (repeatable), e.g. k=20", (v, acc: string[]) => [...acc, v], [])
      .option("--out <file>", "artifact file (default: router-<name>.json)")
      .option("--json", "print a JSON summary"),
  ).action(
    async (opts: {
      db: string;
      dataset?: string;
      router: string;
      scenario?: string;
      lambda?: string;
      embedder: string;
      param: string[];
      out?: string;
      json?: boolean;
    }) => {
      if (!ROUTER_NAMES.includes(opts.router))
        throw new UsageError(`--router: unknown router "${opts.router}" (known: ${ROUTER_NAMES.join(", ")})`);
      const knob = parseKnob(opts.scenario, opts.lambda);
      const params = parseParams(opts.param);
      const badParam = routerParamsError(opts.router, params);
      if (badParam) throw new UsageError(`--param: ${badParam}`);
      const embedder = createEmbedder(opts.embedder);
      const store = openStore(opts);
      try {
        const dataset = resolveDataset(store, opts.dataset) as string;
        requireSplit(store, dataset, "train");
        if ("scenario" in knob && knob.scenario === "llm-judge") requireJudgeScores(store, dataset, "train");
        const data = await buildTrainingSet(store, {
          dataset,
          split: "train",
          embedder,
          candidates: datasetCandidateKeys(store, dataset),
        });
        process.stderr.write(
          `training ${opts.router} (${routerDescription(opts.router)}) on ${data.queries.length} ${dataset} train queries × ${data.candidates.length} candidates…\n`,
        );
        const t0 = performance.now();
        let trained: ReturnType<typeof trainRouter>;
        try {
          trained = trainRouter(opts.router, data, { params, knob, embedder: data.embedder });
        } catch (e) {
          throw new UsageError(`training ${opts.router} failed: ${(e as Error).message}`);
        }
        const seconds = (performance.now() - t0) / 1000;
        const out = opts.out ?? `router-${opts.router}.json`;
        saveRouter(trained, out);
        const storeId = `${dataset}/${opts.router}`;
        saveRouterToStore(store, storeId, trained);
        const summary = {
          router: opts.router,
          dataset,
          trainQueries: data.queries.length,
          candidates: trained.candidates,
          embedder: trained.embedder,
          knob: trained.knob,
          params,
          seconds: Number(seconds.toFixed(2)),
          artifact: out,
          bytes: statSync(out).size,
          storeId,
        };
        if (opts.json) return printJson(summary);
        process.stdout.write(
          `trained ${opts.router} in ${seconds.toFixed(1)} s on ${data.queries.length} queries (embedder ${trained.embedder}, knob ${knobLabel(knob)})\n` +
            `artifact: ${out} (${(summary.bytes / 1024).toFixed(0)} KiB); copy in ${store.path} as "${storeId}"\n`,
        );
      } finally {
        store.close();
      }
    },
  );
}
