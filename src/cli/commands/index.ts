import type { Command } from "commander";

/**
 * Every subcommand lives in its own file and registers itself. Loading a command file loads what it needs
 * (the store, routers, the sentence encoder, the gateway…), so `fusionkit <cmd>` imports only that command's file
 * and `fusionkit --help` imports none: the summaries below are what the top-level help lists.
 */
interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "import",
    summary: "import routing data from a file or folder into the store (one transaction)",
    load: async () => (await import("./import.ts")).registerImport,
  },
  {
    name: "export",
    summary: "write the store (or one dataset/split) as FusionKit canonical JSONL",
    load: async () => (await import("./export.ts")).registerExport,
  },
  {
    name: "distill",
    summary: "model-level fusion: export the best responses of the train split as fine-tuning data",
    load: async () => (await import("./distill.ts")).registerDistill,
  },
  {
    name: "split",
    summary: "assign a reproducible train/test split by query (seeded, stratified by task)",
    load: async () => (await import("./split.ts")).registerSplit,
  },
  {
    name: "stats",
    summary: "per task × model mean performance and cost, best single model, oracle, tie rate",
    load: async () => (await import("./stats.ts")).registerStats,
  },
  {
    name: "train",
    summary: "train a router on the train split and save it as an artifact",
    load: async () => (await import("./train.ts")).registerTrain,
  },
  {
    name: "route",
    summary: "rank every candidate for one query with a trained router artifact",
    load: async () => (await import("./route.ts")).registerRoute,
  },
  {
    name: "eval",
    summary: "train routers (or load artifacts) and score them on the test split",
    load: async () => (await import("./eval.ts")).registerEval,
  },
  {
    name: "demo",
    summary: "the main job on the bundled data: import, train every router, evaluate, report",
    load: async () => (await import("./demo.ts")).registerDemo,
  },
  {
    name: "thought",
    summary: "thought-level fusion: templates of how the best models solved similar queries",
    load: async () => (await import("./thought.ts")).registerThought,
  },
  {
    name: "serve",
    summary: "OpenAI-compatible gateway: routes each request with a trained router, falls back, logs routing data",
    load: async () => (await import("./serve.ts")).registerServe,
  },
  {
    name: "init",
    summary: "write a gateway config (fusionkit.yaml) for a router artifact or the store",
    load: async () => (await import("./init.ts")).registerInit,
  },
  {
    name: "keys",
    summary: "client API keys for the gateway (stored hashed)",
    load: async () => (await import("./keys.ts")).registerKeys,
  },
  {
    name: "collect",
    summary: "ask models the queries of a task file, score the answers and store them as routing data",
    load: async () => (await import("./collect.ts")).registerCollect,
  },
  {
    name: "judge",
    summary: "grade stored responses with a judge model (FusionFactory rubric)",
    load: async () => (await import("./judge.ts")).registerJudge,
  },
  {
    name: "ui",
    summary: "web dashboard: routing data, stored evaluation runs and live gateway traffic",
    load: async () => (await import("./ui.ts")).registerUi,
  },
];

/**
 * Registers the command `argv` names (`fusionkit <cmd> …` or `fusionkit help <cmd>`) in full, and every other
 * command as a name and summary only, which is all the top-level help and commander's suggestions need.
 */
export async function registerCommands(
  program: Command,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const wanted = argv[0] === "help" ? argv[1] : argv[0];
  for (const entry of COMMANDS) {
    if (entry.name === wanted) (await entry.load())(program);
    else program.command(entry.name).description(entry.summary);
  }
}
