import type { Command } from "commander";
import { OpenAIChatClient } from "../../llm/client.ts";
import { judge } from "../../llm/judge.ts";
import { loadProviders, resolveModel } from "../../llm/providers.ts";
import { openStore, parseInteger, printJson, resolveDataset, withStoreOptions } from "../options.ts";

interface JudgeFlags {
  providers: string;
  judgeModel: string;
  db: string;
  dataset?: string;
  limit?: string;
  concurrency?: string;
  maxTokens: string;
  retryUnparseable?: boolean;
  cache: boolean;
  json?: boolean;
}

export function registerJudge(program: Command): void {
  withStoreOptions(
    program
      .command("judge")
      .description("grade stored responses with a judge model (FusionFactory rubric, score in <answer> tags)"),
  )
    .requiredOption("--providers <file>", "providers file (YAML or JSON)")
    .requiredOption("--judge-model <name>", "judge model (a FusionKit name from the providers file)")
    .option("--limit <n>", "judge at most the first n stored responses")
    .option("--concurrency <n>", "judge calls in flight (the provider's maxConcurrency still applies)", "8")
    .option("--max-tokens <n>", "max tokens of a verdict", "256")
    .option("--retry-unparseable", "ask again for responses whose earlier verdict could not be read")
    .option("--no-cache", "do not use the response cache in the store")
    .option("--json", "print the summary as JSON")
    .action(async (flags: JudgeFlags) => {
      const providers = loadProviders(flags.providers);
      resolveModel(providers, flags.judgeModel);
      const limit = parseInteger(flags.limit, "--limit", 1);
      const concurrency = parseInteger(flags.concurrency, "--concurrency", 1);
      const maxTokens = parseInteger(flags.maxTokens, "--max-tokens", 1);
      const store = openStore(flags);
      try {
        const dataset = resolveDataset(store, flags.dataset);
        const client = new OpenAIChatClient(providers, {
          store,
          cache: flags.cache,
          onRetry: (e) =>
            process.stderr.write(`judge: retry ${e.retry} of ${e.model} in ${e.delayMs} ms (${e.reason})\n`),
        });
        let last = 0;
        const interval = Number(process.env.FUSIONKIT_PROGRESS_MS ?? 2000);
        let shown = 0;
        const s = await judge({
          store,
          client,
          judgeModel: flags.judgeModel,
          dataset,
          limit,
          concurrency,
          maxTokens,
          retryUnparseable: flags.retryUnparseable === true,
          onProgress: (p) => {
            if (Date.now() - last < interval) return;
            last = Date.now();
            const todo = p.total - p.skipped;
            const rate = p.done / Math.max(0.001, p.elapsedMs / 1000);
            const eta = rate > 0 ? Math.round((todo - p.done - p.failed) / rate) : Number.NaN;
            process.stderr.write(
              `judge: ${p.done}/${todo} · ${p.unparseable} unparseable · ${p.failed} failed · $${p.spentUsd.toFixed(4)} spent · eta ${Number.isNaN(eta) ? "?" : `${eta}s`}\n`,
            );
          },
          onFailure: (item, e) => {
            if (shown++ < 10)
              process.stderr.write(`judge: failed on ${item.model}/${item.mode} query ${item.queryId}: ${e.message}\n`);
          },
        });
        if (flags.json) printJson({ judgeModel: flags.judgeModel, dataset, ...s });
        else {
          process.stdout.write(
            `judged ${s.done} responses with ${flags.judgeModel}: ${s.ok} scored, ${s.unparseable} unparseable (recorded, no score), ` +
              `${s.failed} failed; ${s.skipped} already judged; spent $${s.spentUsd.toFixed(4)}\n`,
          );
          if (s.stoppedBy) process.stdout.write(`stopped early: ${s.stoppedBy}\n`);
        }
        if (s.stoppedBy || s.failed) process.exitCode = 1;
      } finally {
        store.close();
      }
    });
}
