import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { CommandFailure, UsageError } from "../../data/errors.ts";
import type { Store } from "../../data/store.ts";
import { parseRankBy, type RankBy } from "../../distill/rank.ts";
import { createEmbedder, DEFAULT_EMBEDDER, EMBEDDER_SPEC_HELP } from "../../embed/registry.ts";
import { OpenAIChatClient } from "../../llm/client.ts";
import { loadProviders } from "../../llm/providers.ts";
import { ReplayChatClient } from "../../llm/replay.ts";
import { formatTable } from "../../report/text-table.ts";
import { queryPrompt } from "../../scoring/prompts.ts";
import { scoreResponse } from "../../scoring/score.ts";
import { type BuildSummary, buildTemplates, DEFAULT_TEMPLATE_RESPONSES } from "../../thought/build.ts";
import { type EvalReport, evalTemplates } from "../../thought/eval.ts";
import { buildMarkdown, evalMarkdown } from "../../thought/report.ts";
import {
  DEFAULT_TEMPLATES_K,
  type RetrievedTemplate,
  resolveTemplateSet,
  TemplateIndex,
  templatePrompt,
} from "../../thought/retrieve.ts";
import { ExtractiveSummariser, LlmSummariser, type Summariser } from "../../thought/summarise.ts";
import { TemplateStore } from "../../thought/templates.ts";
import { openStore, parseInteger, printJson, resolveDataset, withStoreOptions } from "../options.ts";

function rankOf(value: string): RankBy {
  try {
    return parseRankBy(value);
  } catch (e) {
    throw new UsageError(`--rank: ${(e as Error).message}`);
  }
}

/**
 * `--summariser extractive` (non-LLM, offline) or `--summariser llm:<model>` (a model of the providers file,
 * called through the production chat client with its response cache in the store).
 */
function summariserOf(spec: string, providers: string | undefined, store: Store): Summariser {
  if (spec === "extractive") return new ExtractiveSummariser();
  if (spec.startsWith("llm:") && spec.length > 4) {
    if (!providers) throw new UsageError(`--summariser ${spec} needs --providers <file> (the model's API)`);
    const client = new OpenAIChatClient(loadProviders(providers), { store });
    return new LlmSummariser(client, spec.slice(4));
  }
  throw new UsageError(`--summariser must be "extractive" or "llm:<model>", got "${spec}"`);
}

interface BuildFlags {
  db: string;
  dataset?: string;
  summariser: string;
  providers?: string;
  rank: string;
  responses: string;
  split: string;
  embedder: string;
  set?: string;
  concurrency: string;
  limit?: string;
  report?: string;
  json?: boolean;
}

interface QueryFlags {
  db: string;
  dataset?: string;
  set?: string;
  task?: string;
  k: string;
  embedder?: string;
  json?: boolean;
}

function printBuild(s: BuildSummary): void {
  process.stdout.write(
    `template set ${s.set} (${s.dataset}, embedder ${s.embedder}): ${s.built} built, ${s.alreadyDone} already there, ` +
      `${s.noSuccessfulResponse} queries without a successful response, ${s.unusable} unusable summariser replies` +
      (s.cost > 0 ? `, summariser spend $${s.cost.toFixed(4)}` : "") +
      "\n",
  );
  const rows = Object.entries(s.perTask).map(([t, c]) => [t, String(c.queries), String(c.templates)]);
  const tq = Object.values(s.perTask).reduce((a, c) => a + c.queries, 0);
  const tt = Object.values(s.perTask).reduce((a, c) => a + c.templates, 0);
  rows.push(["ALL", String(tq), String(tt)]);
  process.stdout.write(formatTable(["task", "queries", "templates"], rows));
  for (const p of s.problems.slice(0, 5)) process.stdout.write(`unusable: ${p.queryId}: ${p.problem}\n`);
}

interface EvalFlags {
  db: string;
  dataset?: string;
  model: string;
  providers?: string;
  replay?: boolean;
  set?: string;
  k: string;
  limitPerTask?: string;
  concurrency: string;
  maxTokens?: string;
  allowCodeExec?: boolean;
  report?: string;
  json?: boolean;
}

const pct = (v: number) => (Number.isNaN(v) ? "—" : v.toFixed(3));

export function evalRows(r: EvalReport): string[][] {
  const row = (name: string, t: EvalReport["overall"]) => [
    name,
    String(t.n),
    pct(t.without),
    pct(t.with),
    `${t.delta >= 0 ? "+" : ""}${pct(t.delta)}`,
    String(t.helped),
    String(t.hurt),
    `$${t.costWithout.toFixed(4)}`,
    `$${t.costWith.toFixed(4)}`,
  ];
  return [...Object.entries(r.perTask).map(([t, e]) => row(t, e)), row("ALL", r.overall)];
}

const REPLAY_NOTE =
  "--replay answers with the responses recorded in the store, which templates cannot change: the difference is 0 " +
  "by construction. This run checks the pipeline offline and scores the recorded answers; measuring the templates' " +
  "effect needs a live model.";

export const EVAL_HEADER = ["task", "n", "without", "with", "Δ", "helped", "hurt", "cost without", "cost with"];

/** `thought retrieve` / `thought prompt`: the top --k templates of the chosen set for a query. */
async function retrieveFor(text: string, f: QueryFlags): Promise<RetrievedTemplate[]> {
  const store = openStore(f);
  try {
    const info = resolveTemplateSet(store, f.set, f.dataset);
    const embedder = createEmbedder(f.embedder ?? info.embedder);
    const index = await TemplateIndex.load(store, info.set, embedder, info.dataset);
    return await index.retrieve(text, f.task, parseInteger(f.k, "--k", 1));
  } finally {
    store.close();
  }
}

export function registerThought(program: Command): void {
  const thought = program
    .command("thought")
    .description("thought-level fusion: templates of how the best models solved similar queries, injected as guidance");

  withStoreOptions(
    thought
      .command("build")
      .description("summarise each query's best responses into a thought template and store it (resumable)")
      .option(
        "--summariser <spec>",
        "llm:<model> (a model of --providers) or extractive (non-LLM: built from the responses' step headings and answer markers)",
        "extractive",
      )
      .option("--providers <file>", "providers file for an llm:<model> summariser")
      .option("--rank <by>", "performance | judge | hybrid (top 5 by performance, then top by judge)", "hybrid")
      .option("--responses <k>", "responses summarised per query", String(DEFAULT_TEMPLATE_RESPONSES))
      .option("--split <split>", "queries templates are made from: train | test | all", "train")
      .option("--embedder <spec>", EMBEDDER_SPEC_HELP, DEFAULT_EMBEDDER)
      .option("--set <name>", "template set name (default <summariser>+<rank>)")
      .option("--concurrency <n>", "summariser calls in flight", "4")
      .option("--limit <n>", "build at most n new templates this run")
      .option("--report <file.md>", "write a Markdown report (counts and example templates)")
      .option("--json", "print the summary as JSON"),
  ).action(async (f: BuildFlags) => {
    if (!["train", "test", "all"].includes(f.split)) throw new UsageError(`--split must be train, test or all`);
    const store = openStore(f);
    try {
      const dataset = resolveDataset(store, f.dataset) as string;
      const summary = await buildTemplates(store, {
        dataset,
        split: f.split as "train" | "test" | "all",
        rank: rankOf(f.rank),
        k: parseInteger(f.responses, "--responses", 1),
        summariser: summariserOf(f.summariser, f.providers, store),
        embedder: createEmbedder(f.embedder),
        set: f.set,
        concurrency: parseInteger(f.concurrency, "--concurrency", 1),
        limit: parseInteger(f.limit, "--limit", 0),
      });
      if (f.report) {
        const templates = new TemplateStore(store).list(summary.set, dataset);
        writeFileSync(
          f.report,
          buildMarkdown(summary, templates, store, `fusionkit ${process.argv.slice(2).join(" ")}`),
        );
      }
      if (f.json) return printJson(summary);
      printBuild(summary);
      if (f.report) process.stdout.write(`wrote ${f.report}\n`);
    } finally {
      store.close();
    }
  });

  const queryOptions = (cmd: Command) =>
    withStoreOptions(
      cmd
        .option("--set <name>", "template set (needed when the store holds several)")
        .option("--task <task>", "the query's task: templates of the same task come first")
        .option("--k <k>", "templates retrieved", String(DEFAULT_TEMPLATES_K))
        .option("--embedder <spec>", "embedder (default: the one the set was built with)")
        .option("--json", "print JSON"),
    );

  queryOptions(
    thought
      .command("retrieve")
      .description("the top-k templates for a query (same task first, then cosine similarity)")
      .argument("<query>", "query text"),
  ).action(async (text: string, f: QueryFlags) => {
    const hits = await retrieveFor(text, f);
    if (f.json) return printJson(hits);
    hits.forEach((h, i) => {
      process.stdout.write(
        `${i + 1}. [${h.task}${h.sameTask ? ", same task" : ""}, cosine ${h.similarity.toFixed(3)}, from ${h.queryId}]\n   ${h.template}\n`,
      );
    });
    if (hits.length === 0) process.stdout.write("no templates\n");
  });

  queryOptions(
    thought
      .command("prompt")
      .description("the prompt with the top-k templates as guidance, ready to send to a model")
      .argument("<query>", "query text"),
  ).action(async (text: string, f: QueryFlags) => {
    const messages = templatePrompt(text, await retrieveFor(text, f));
    if (f.json) return printJson({ messages });
    process.stdout.write(`${messages.map((m) => m.content).join("\n\n")}\n`);
  });

  withStoreOptions(
    thought
      .command("eval")
      .description(
        "answer the test split with a model with and without templates, score both, report the difference per task",
      )
      .requiredOption("--model <name>", "model (from --providers) that answers the test queries")
      .option("--providers <file>", "providers file (YAML/JSON) of --model")
      .option(
        "--replay",
        "answer from responses recorded in the store (--model is a candidate key); offline pipeline check: a " +
          "recorded answer cannot react to templates, so the difference is 0 by construction",
      )
      .option("--set <name>", "template set (needed when the store holds several)")
      .option("--k <k>", "templates per query", String(DEFAULT_TEMPLATES_K))
      .option("--limit-per-task <n>", "at most n test queries per task")
      .option("--concurrency <n>", "queries in flight (each sends two requests)", "4")
      .option("--max-tokens <n>", "completion token limit per answer")
      .option("--allow-code-exec", "score code tasks by running model-written code (see README on its isolation)")
      .option("--report <file.md>", "write a Markdown report")
      .option("--json", "print the report (with per-query rows) as JSON"),
  ).action(async (f: EvalFlags) => {
    const store = openStore(f);
    try {
      const info = resolveTemplateSet(store, f.set, f.dataset);
      const dataset = resolveDataset(store, f.dataset ?? info.dataset) as string;
      const index = TemplateIndex.load(store, info.set, createEmbedder(info.embedder), dataset);
      if (!f.replay && !f.providers) throw new UsageError("thought eval needs --providers <file> (or --replay)");
      const client = f.replay
        ? new ReplayChatClient(store, { dataset })
        : new OpenAIChatClient(loadProviders(f.providers as string), { store });
      const report = await evalTemplates(store, info.set, {
        dataset,
        model: f.model,
        client,
        index,
        k: parseInteger(f.k, "--k", 1),
        promptOf: (q) => queryPrompt(q, "direct"),
        score: async (q, response) =>
          (
            await scoreResponse(
              { task: q.task, metric: q.metric ?? "", query: q.text, groundTruth: q.groundTruth ?? null },
              response,
              { allowCodeExec: !!f.allowCodeExec },
            )
          ).score,
        limitPerTask: parseInteger(f.limitPerTask, "--limit-per-task", 1),
        concurrency: parseInteger(f.concurrency, "--concurrency", 1),
        maxTokens: parseInteger(f.maxTokens, "--max-tokens", 1),
      });
      // Nothing scored means nothing measured: an error, never a table of zeros with exit 0.
      if (report.overall.n === 0) {
        const why = report.failedCalls
          ? `every model call failed (${report.failedCalls} queries; first: ${report.failures[0]?.error})`
          : `no test query could be scored (${
              Object.entries(report.skippedTasks)
                .map(([t, w]) => `${t}: ${w}`)
                .join("; ") || "the test split is empty"
            })`;
        throw new CommandFailure(`thought eval: ${why}`);
      }
      const command = `fusionkit ${process.argv.slice(2).join(" ")}`;
      const note = f.replay ? REPLAY_NOTE : undefined;
      if (f.report) writeFileSync(f.report, evalMarkdown(report, EVAL_HEADER, evalRows(report), command, note));
      if (f.json) return printJson(report);
      process.stdout.write(
        `${dataset} test split, model ${report.model}, templates ${report.set} (k=${report.k}): ` +
          `${report.overall.n} queries scored\n`,
      );
      process.stdout.write(formatTable(EVAL_HEADER, evalRows(report)));
      for (const [t, why] of Object.entries(report.skippedTasks)) process.stdout.write(`skipped ${t}: ${why}\n`);
      if (report.failedCalls)
        process.stderr.write(
          `warning: ${report.failedCalls} queries left out: a model call failed (first: ${report.failures[0]?.error})\n`,
        );
      if (note) process.stdout.write(`note: ${note}\n`);
      if (f.report) process.stdout.write(`wrote ${f.report}\n`);
    } finally {
      store.close();
    }
  });

  withStoreOptions(
    thought.command("list").description("template sets in the store").option("--json", "print JSON"),
  ).action((f: { db: string; json?: boolean }) => {
    const store = openStore(f);
    try {
      const sets = new TemplateStore(store).sets();
      if (f.json) return printJson(sets);
      process.stdout.write(
        formatTable(
          ["set", "dataset", "summariser", "rank", "embedder", "templates", "spend"],
          sets.map((s) => [
            s.set,
            s.dataset,
            s.summariser,
            s.rankBy,
            s.embedder,
            String(s.templates),
            `$${s.cost.toFixed(4)}`,
          ]),
        ),
      );
    } finally {
      store.close();
    }
  });
}
