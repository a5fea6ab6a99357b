import { basename, extname } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import type { Mode } from "../../data/types.ts";
import { OpenAIChatClient } from "../../llm/client.ts";
import { type CollectProgress, collect } from "../../llm/collect.ts";
import { loadProviders, resolveModel, toStoreModel } from "../../llm/providers.ts";
import { readTasksFile } from "../../llm/tasks-file.ts";
import { commaList, defaultDb, openStore, parseInteger, parseNonNegative, printJson } from "../options.ts";

interface CollectFlags {
  tasks: string;
  models: string;
  modes: string;
  providers: string;
  db: string;
  dataset?: string;
  maxUsd?: string;
  concurrency?: string;
  temperature: string;
  maxTokens?: string;
  allowCodeExec?: boolean;
  cache: boolean;
  json?: boolean;
}

function duration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`;
}

/** "collect: 120/800 (15%) · 3 failed · $0.0123 spent of $1.00 · 4.2/s · eta 2m41s" on stderr, at most every interval. */
function progressLine(intervalMs: number, cap: number | undefined): (p: CollectProgress, final?: boolean) => void {
  let last = 0;
  return (p, final = false) => {
    const now = Date.now();
    if (!final && now - last < intervalMs) return;
    last = now;
    const todo = p.total - p.skipped;
    const rate = p.done / Math.max(0.001, p.elapsedMs / 1000);
    const eta = rate > 0 ? ((todo - p.done - p.failed) / rate) * 1000 : Number.POSITIVE_INFINITY;
    const parts = [
      `collect: ${p.done}/${todo} (${todo ? Math.floor((100 * p.done) / todo) : 100}%)`,
      ...(p.skipped ? [`${p.skipped} already stored`] : []),
      ...(p.cached ? [`${p.cached} from cache`] : []),
      ...(p.failed ? [`${p.failed} failed`] : []),
      `$${p.spentUsd.toFixed(4)} spent${cap !== undefined ? ` of $${cap.toFixed(2)}` : ""}`,
      `${rate.toFixed(1)}/s`,
      final ? `took ${duration(p.elapsedMs)}` : `eta ${duration(eta)}`,
    ];
    process.stderr.write(`${parts.join(" · ")}\n`);
  };
}

export function registerCollect(program: Command): void {
  program
    .command("collect")
    .description("ask models the queries of a task file, score the answers and store them as routing data (resumable)")
    .requiredOption(
      "--tasks <file>",
      "JSONL task file: {task, query, ground_truth, metric, choices?, context?, id?, split?}",
    )
    .requiredOption("--models <list>", "comma-separated FusionKit model names from the providers file")
    .requiredOption("--providers <file>", "providers file (YAML or JSON)")
    .option("--modes <list>", "direct, think or both (think appends the step-by-step cue)", "direct")
    .option("--db <file>", "SQLite store file", defaultDb())
    .option("--dataset <name>", "dataset name for the queries (default: the task file's name)")
    .option("--max-usd <usd>", "stop starting calls once this much has been spent (calls in flight finish)")
    .option("--concurrency <n>", "cap on calls in flight per provider (default: the provider's maxConcurrency)")
    .option("--temperature <t>", "sampling temperature", "0")
    .option("--max-tokens <n>", "max output tokens per answer")
    .option("--allow-code-exec", "run generated code for code_eval tasks (see README for what is NOT isolated)")
    .option("--no-cache", "do not use the response cache in the store")
    .option("--json", "print the summary as JSON")
    .action(async (flags: CollectFlags) => {
      const providers = loadProviders(flags.providers);
      const models = commaList(flags.models);
      if (!models.length) throw new UsageError("--models lists no model");
      for (const m of models) resolveModel(providers, m);
      const modes = flags.modes.split(",").map((s) => s.trim()) as Mode[];
      for (const m of modes)
        if (m !== "direct" && m !== "think") throw new UsageError(`--modes: "${m}" is not direct or think`);
      const maxUsd = parseNonNegative(flags.maxUsd, "--max-usd");
      const concurrency = parseInteger(flags.concurrency, "--concurrency", 1);
      const maxTokens = parseInteger(flags.maxTokens, "--max-tokens", 1);
      const temperature = parseNonNegative(flags.temperature, "--temperature");
      const dataset = flags.dataset ?? basename(flags.tasks, extname(flags.tasks));
      const queries = readTasksFile(flags.tasks, dataset);

      const store = openStore(flags);
      const ac = new AbortController();
      const onSigint = () => {
        process.stderr.write("collect: interrupted; finishing calls in flight (Ctrl-C again to quit now)\n");
        ac.abort(new Error("interrupted"));
        process.once("SIGINT", () => process.exit(130));
      };
      process.once("SIGINT", onSigint);
      try {
        store.importBatch({
          format: "fusionkit-collect",
          dataset,
          files: [flags.tasks],
          models: models.map((m) => ({
            ...toStoreModel(resolveModel(providers, m).model),
            loc: { file: providers.file, line: 1 },
          })),
          queries,
          outcomes: [],
        });
        const client = new OpenAIChatClient(providers, {
          store,
          cache: flags.cache,
          onRetry: (e) =>
            process.stderr.write(
              `collect: retry ${e.retry} of ${e.provider}/${e.model} in ${e.delayMs} ms (${e.reason})\n`,
            ),
        });
        const show = progressLine(Number(process.env.FUSIONKIT_PROGRESS_MS ?? 2000), maxUsd);
        let failuresShown = 0;
        const summary = await collect({
          store,
          client,
          providers,
          queries,
          models,
          modes,
          maxUsd,
          concurrency,
          temperature,
          maxTokens,
          scoring: { allowCodeExec: flags.allowCodeExec === true },
          signal: ac.signal,
          onProgress: (p) => show(p),
          onFailure: (job, e) => {
            if (failuresShown++ < 10)
              process.stderr.write(`collect: failed ${job.model}/${job.mode} on query ${job.queryId}: ${e.message}\n`);
          },
        });
        show(summary, true);
        const stopped = ac.signal.aborted ? "interrupted" : summary.stoppedBy;
        if (flags.json) printJson({ dataset, db: store.path, ...summary, stoppedBy: stopped });
        else {
          process.stdout.write(
            `collected ${summary.done} outcomes (${summary.cached} from cache) into ${store.path}, dataset ${dataset}; ` +
              `${summary.skipped} already stored; ${summary.failed} failed; spent $${summary.spentUsd.toFixed(4)}\n`,
          );
          if (stopped)
            process.stdout.write(
              `stopped early (${stopped}); ${summary.remaining} outcomes still missing — rerun the same command to continue\n`,
            );
          else if (summary.failed) process.stdout.write("rerun the same command to retry the failed calls\n");
        }
        // 0 complete, 3 spend cap reached, 1 anything else left undone.
        if (stopped === "spend cap") process.exitCode = 3;
        else if (stopped || summary.failed) process.exitCode = 1;
      } finally {
        process.removeListener("SIGINT", onSigint);
        store.close();
      }
    });
}
