import { statSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { createEmbedder, DEFAULT_EMBEDDER, EMBEDDER_SPEC_HELP } from "../../embed/registry.ts";
import { saveRouter, saveRouterToStore, trainRouter } from "../../routing/artifacts.ts";
import { buildMergedTrainingSet, buildTrainingSet, datasetCandidateKeys } from "../../routing/dataset.ts";
import { knobLabel, parseKnob } from "../../routing/objective.ts";
import { POLICY_NAMES, policyDescription } from "../../routing/policies.ts";
import { savePolicy, trainPolicy } from "../../routing/policy-artifacts.ts";
import { buildPolicyData } from "../../routing/policy-data.ts";
import { DEFAULT_ROUTER, ROUTER_NAMES, routerDescription, routerParamsError } from "../../routing/registry.ts";
import { openGatewayStore } from "../../serve/gateway-store.ts";
import {
  commaList,
  openStore,
  parseParams,
  printJson,
  repeatable,
  requireJudgeScores,
  requireSplit,
  resolveDataset,
  withStoreOptions,
} from "../options.ts";

export function registerTrain(program: Command): void {
  withStoreOptions(
    program
      .command("train")
      .description(
        "train a router (or, with --policy, a multi-call policy) on the train split and save it as an artifact",
      )
      .option("--router <name>", `router: ${ROUTER_NAMES.join(", ")}`, DEFAULT_ROUTER)
      .option(
        "--policy <name>",
        `train a multi-call policy instead, from the recorded responses (${POLICY_NAMES.join(", ")}); served as fusionkit/<name>`,
      )
      .option(
        "--scenario <name>",
        "default knob stored in the artifact: performance-first, balance, cost-first, llm-judge",
      )
      .option("--lambda <number>", "default knob: willingness to pay (performance points per USD)")
      .option("--embedder <spec>", EMBEDDER_SPEC_HELP, DEFAULT_EMBEDDER)
      .option("--param <name=value>", "router parameter (repeatable), e.g. k=20", repeatable, [])
      .option("--out <file>", "artifact file (default: router-<name>.json)")
      .option(
        "--publish <db>",
        "also publish the artifact, under its store id, to a gateway store (postgres://… reloads every gateway serving that id)",
      )
      .option("--json", "print a JSON summary"),
  ).action(
    async (opts: {
      db: string;
      dataset?: string;
      router: string;
      policy?: string;
      scenario?: string;
      lambda?: string;
      embedder: string;
      param: string[];
      out?: string;
      publish?: string;
      json?: boolean;
    }) => {
      if (opts.policy !== undefined) return trainPolicyCommand(opts);
      if (!ROUTER_NAMES.includes(opts.router))
        throw new UsageError(`--router: unknown router "${opts.router}" (known: ${ROUTER_NAMES.join(", ")})`);
      const knob = parseKnob(opts.scenario, opts.lambda);
      const params = parseParams(opts.param);
      const badParam = routerParamsError(opts.router, params);
      if (badParam) throw new UsageError(`--param: ${badParam}`);
      const embedder = createEmbedder(opts.embedder);
      const store = openStore(opts);
      try {
        // `--dataset a,b` trains on several datasets at once (e.g. llmrouter,gateway: the router's data and
        // the gateway's labelled traffic); the artifact knows every candidate of all of them.
        const named = commaList(opts.dataset ?? "");
        const datasets = (named.length ? named : [undefined]).map((d) => resolveDataset(store, d));
        const dataset = datasets.join(",");
        for (const d of datasets) requireSplit(store, d, "train");
        if ("scenario" in knob && knob.scenario === "llm-judge") requireJudgeScores(store, datasets[0], "train");
        const data = await buildMergedTrainingSet(store, datasets, { split: "train", embedder });
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
        const storeId = `${datasets.join("+")}/${opts.router}`;
        saveRouterToStore(store, storeId, trained);
        if (opts.publish) {
          const target = await openGatewayStore(opts.publish, null);
          try {
            await target.publishRouterArtifact(storeId, trained);
          } finally {
            await target.close();
          }
        }
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
          published: opts.publish ? storeId : null,
        };
        if (opts.json) return printJson(summary);
        process.stdout.write(
          `trained ${opts.router} in ${seconds.toFixed(1)} s on ${data.queries.length} queries (embedder ${trained.embedder}, knob ${knobLabel(knob)})\n` +
            `artifact: ${out} (${(summary.bytes / 1024).toFixed(0)} KiB); copy in ${store.path} as "${storeId}"\n` +
            (opts.publish ? `published as "${storeId}" to ${opts.publish.replace(/:[^:@/]*@/, ":***@")}\n` : ""),
        );
      } finally {
        store.close();
      }
    },
  );
}

/** `train --policy`: fit a multi-call policy on the train split's recorded answers and write its artifact file. */
async function trainPolicyCommand(opts: {
  db: string;
  dataset?: string;
  policy?: string;
  embedder: string;
  param: string[];
  out?: string;
  json?: boolean;
}): Promise<void> {
  const name = opts.policy as string;
  if (!POLICY_NAMES.includes(name))
    throw new UsageError(`--policy: unknown policy "${name}" (known: ${POLICY_NAMES.join(", ")})`);
  const params = parseParams(opts.param);
  const embedder = createEmbedder(opts.embedder);
  const store = openStore(opts);
  try {
    const dataset = resolveDataset(store, opts.dataset) as string;
    requireSplit(store, dataset, "train");
    const set = await buildTrainingSet(store, {
      dataset,
      split: "train",
      embedder,
      candidates: datasetCandidateKeys(store, dataset),
    });
    const data = await buildPolicyData(store, set, { dataset, split: "train" });
    const answered = data.agreement.similarity.some((s) => !Number.isNaN(s));
    if (!answered)
      throw new UsageError(
        `--policy: dataset "${dataset}" has no recorded responses in its train split; policies learn from the answers models gave (import data with responses, e.g. RouteProfile, NQ or RouterBench)`,
      );
    process.stderr.write(
      `training ${name} (${policyDescription(name)}) on ${data.queries.length} ${dataset} train queries × ${data.candidates.length} candidates…\n`,
    );
    const t0 = performance.now();
    let trained: ReturnType<typeof trainPolicy>;
    try {
      trained = trainPolicy(name, data, data.embedder, params);
    } catch (e) {
      throw new UsageError(`training ${name} failed: ${(e as Error).message}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const out = opts.out ?? `policy-${name}.json`;
    savePolicy(trained, out);
    const summary = {
      policy: name,
      dataset,
      trainQueries: data.queries.length,
      candidates: trained.candidates,
      embedder: trained.embedder,
      params,
      seconds: Number(seconds.toFixed(2)),
      artifact: out,
      bytes: statSync(out).size,
    };
    if (opts.json) return printJson(summary);
    process.stdout.write(
      `trained ${name} in ${seconds.toFixed(1)} s on ${data.queries.length} queries (embedder ${trained.embedder})\n` +
        `artifact: ${out} (${(summary.bytes / 1024).toFixed(0)} KiB); serve it with "fusionkit serve --policy ${out}" as fusionkit/${name}\n`,
    );
  } finally {
    store.close();
  }
}
