import { existsSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import type { Store } from "../../data/store.ts";
import { createEmbedder, DEFAULT_EMBEDDER } from "../../embed/registry.ts";
import {
  type LoadedArtifact,
  loadRouter,
  loadRouterFromStore,
  savedRouterIds,
  saveRouterToStore,
  trainRouter,
} from "../../routing/artifacts.ts";
import { buildTrainingSet, datasetCandidateKeys } from "../../routing/dataset.ts";
import { DEFAULT_KNOB } from "../../routing/objective.ts";
import { parseServeConfig } from "../../serve/config.ts";
import { parseRetrainEvery } from "../../serve/retrain-schedule.ts";
import { defaultDb, openStore, requireSplit, resolveDataset } from "../options.ts";

/** The router `init` trains when the store has none saved for the dataset (after `fusionkit demo` it has `<dataset>/auto`). */
const INIT_ROUTER = "knn";

/** New labels between background retrains in the config init writes (serve's `retrain.every`). */
const INIT_RETRAIN_EVERY = 100;

interface InitFlags {
  db: string;
  dataset?: string;
  router?: string;
  out: string;
  baseUrl: string;
  apiKeyEnv: string;
  port: string;
  retrainEvery: string;
  force?: boolean;
}

/**
 * `fusionkit init`: write a gateway config that works as written — every candidate of a router listed as a
 * model with its prices from the data, one OpenAI-compatible provider (a placeholder unless --base-url is
 * given) — so `fusionkit demo`, `fusionkit init`, `fusionkit serve --config fusionkit.yaml` is the whole path.
 */
export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write a gateway config (fusionkit.yaml) for a router artifact or the store")
    .option("--db <file>", "SQLite store file", defaultDb())
    .option("--dataset <name>", "dataset whose router to serve (default: the store's first imported)")
    .option(
      "--router <artifact>",
      `router artifact file or saved router id (default: the newest router saved for the dataset, else train ${INIT_ROUTER})`,
    )
    .option("--out <file>", "config file to write", "fusionkit.yaml")
    .option("--base-url <url>", "the upstream OpenAI-compatible API serving the models", "http://127.0.0.1:8000/v1")
    .option(
      "--api-key-env <name>",
      "environment variable holding the upstream key ('none' for keyless servers)",
      "OPENAI_API_KEY",
    )
    .option("--port <port>", "port the gateway listens on", "8787")
    .option(
      "--retrain-every <n|period>",
      "learn from traffic: the config's retrain.every — new labels (e.g. 100) or a period (10m); 'none' leaves it out",
      String(INIT_RETRAIN_EVERY),
    )
    .option("--force", "overwrite an existing config file")
    .action(async (f: InitFlags) => {
      if (existsSync(f.out) && !f.force) throw new UsageError(`${f.out} exists; pass --force to overwrite it`);
      if (f.retrainEvery !== "none") parseRetrainEvery(f.retrainEvery);
      const store = openStore(f);
      try {
        const { artifact, ref, trained } = await chooseRouter(store, f);
        const text = configText(store, artifact, ref, f);
        parseServeConfig(text, f.out); // what init writes must load as written
        writeFileSync(f.out, text);
        process.stdout.write(
          `wrote ${f.out}: router ${ref}${trained ? " (trained now)" : ""}, ${new Set(artifact.candidateInfo.map((c) => c.model)).size} models at ${f.baseUrl}\n` +
            `next: fusionkit serve --config ${f.out}\n`,
        );
      } finally {
        store.close();
      }
    });
}

async function chooseRouter(
  store: Store,
  f: InitFlags,
): Promise<{ artifact: LoadedArtifact; ref: string; trained: boolean }> {
  if (f.router) {
    if (existsSync(f.router)) return { artifact: loadRouter(f.router), ref: f.router, trained: false };
    return { artifact: loadRouterFromStore(store, f.router), ref: f.router, trained: false };
  }
  const dataset = resolveDataset(store, f.dataset);
  const saved = savedRouterIds(store).find((id) => id.startsWith(`${dataset}/`));
  if (saved) return { artifact: loadRouterFromStore(store, saved), ref: saved, trained: false };
  requireSplit(store, dataset, "train");
  process.stderr.write(`init: no router saved for ${dataset}; training ${INIT_ROUTER} on its train split…\n`);
  const data = await buildTrainingSet(store, {
    dataset,
    split: "train",
    embedder: createEmbedder(DEFAULT_EMBEDDER),
    candidates: datasetCandidateKeys(store, dataset),
  });
  const artifact = trainRouter(INIT_ROUTER, data, { params: {}, knob: DEFAULT_KNOB, embedder: data.embedder });
  const ref = `${dataset}/${INIT_ROUTER}`;
  saveRouterToStore(store, ref, artifact);
  return { artifact, ref, trained: true };
}

/** YAML with comments; strings are written as JSON literals (valid YAML, no quoting surprises). */
function configText(store: Store, artifact: LoadedArtifact, ref: string, f: InitFlags): string {
  const q = JSON.stringify;
  const base = dirname(resolve(f.out));
  const rel = (p: string) => relative(base, resolve(p)) || ".";
  const upstreamIds = new Map(store.models().map((m) => [m.name, m.upstreamId ?? null]));
  const models = new Map<string, { inputPrice: number | null; outputPrice: number | null }>();
  for (const c of artifact.candidateInfo)
    if (!models.has(c.model)) models.set(c.model, { inputPrice: c.inputPrice, outputPrice: c.outputPrice });
  const key = f.apiKeyEnv === "none" ? null : f.apiKeyEnv;
  const lines = [
    `# FusionKit gateway config, written by: fusionkit init (router ${ref})`,
    "# Serve it with: fusionkit serve --config <this file>. Flags given to serve override it; the gateway",
    "# reloads it when it changes (an invalid edit is reported and the running config kept).",
    `store: ${q(rel(store.path))}`,
    `listen: { host: "127.0.0.1", port: ${Number(f.port)} }`,
    "",
    "# Upstream OpenAI-compatible APIs. Keys never go here: apiKeyEnv names the environment variable holding one.",
    "providers:",
    "  - name: upstream",
    `    baseUrl: ${q(f.baseUrl)}`,
    ...(key ? [`    apiKeyEnv: ${q(key)}`] : []),
    "",
    "# Every candidate of the router, priced as in the routing data (USD per 1M tokens). A model you remove",
    "# is simply not served; upstreamId is the model's id at the provider.",
    "models:",
  ];
  for (const [name, m] of models) {
    lines.push(`  - name: ${q(name)}`, "    provider: upstream", `    upstreamId: ${q(upstreamIds.get(name) ?? name)}`);
    const unknown = m.inputPrice === null || m.outputPrice === null;
    lines.push(
      `    inputPrice: ${m.inputPrice ?? 0}${unknown ? "   # no price in the data: set it" : ""}`,
      `    outputPrice: ${m.outputPrice ?? 0}`,
    );
  }
  const routerRef = existsSync(ref) ? rel(ref) : ref;
  lines.push(
    "",
    "# Routers: an artifact file (relative to this file) or a router saved in the store. The first backs",
    "# fusionkit/auto and fusionkit/<scenario>; others appear as fusionkit/<name>.",
    "routers:",
    `  - artifact: ${q(routerRef)}`,
    "",
    "# Extra virtual models: name: <scenario> | lambda:<USD willingness to pay>[@<router>]",
    "variants:",
    "  cheap: cost-first",
    "",
    "# The knob of fusionkit/auto (scenario: performance-first | balance | cost-first | llm-judge, or lambda)",
    "defaults:",
    "scenario" in artifact.knob ? `  scenario: ${q(artifact.knob.scenario)}` : `  lambda: ${artifact.knob.lambda}`,
    "",
    "# Client keys: required: true makes every request present a key from 'fusionkit keys create'. Without",
    "# keys the gateway only listens on a loopback address.",
    "keys:",
    "  required: false",
    "",
  );
  if (f.retrainEvery !== "none")
    lines.push(
      "# Learning from traffic: label answers with POST /v1/feedback {request_id, score}. After `every` new labels",
      "# (or every period with new labels: 10m, 2h) the gateway retrains this router on its data plus the labelled",
      "# traffic in the background, compares it with the live one on the held-back share of the labels, and swaps it",
      "# in only if it is not worse; every decision is recorded in the store (router_retrains) and in /metrics.",
      "retrain:",
      `  every: ${/^\d+$/.test(f.retrainEvery.trim()) ? Number(f.retrainEvery) : q(f.retrainEvery.trim())}`,
      "  holdout: 0.2",
      "",
    );
  return `${lines.join("\n")}`;
}
