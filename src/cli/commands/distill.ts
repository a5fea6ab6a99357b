import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { buildDistillSet } from "../../distill/build.ts";
import { parseFormats } from "../../distill/formats.ts";
import { parseRankBy } from "../../distill/rank.ts";
import { MODEL_HEADER, modelRows, TASK_HEADER, taskRows } from "../../distill/report.ts";
import { writeDistillSet } from "../../distill/write.ts";
import { formatTable } from "../../report/text-table.ts";
import { queryPrompt } from "../../scoring/prompts.ts";
import { openStore, parseInteger, parseShare, printJson, resolveDataset, withStoreOptions } from "../options.ts";

interface DistillFlags {
  db: string;
  dataset?: string;
  out: string;
  rank: string;
  topK: string;
  smallOnly?: boolean;
  maxParams: string;
  withGold?: boolean;
  formats: string;
  ngram: string;
  boilerplateDf: string;
  ngramOverlap: string;
  system?: string;
  json?: boolean;
}

export function registerDistill(program: Command): void {
  withStoreOptions(
    program
      .command("distill")
      .description(
        "model-level fusion: export the best responses of the train split as fine-tuning data (decontaminated against the test split)",
      )
      .requiredOption("--out <dir>", "output folder (files, dataset_info.json, report.md, report.json)")
      .option("--rank <by>", "performance | judge | hybrid (top 5 by performance re-ranked by judge)", "performance")
      .option("--top-k <k>", "responses kept per query (the paper uses 5 or 10)", "5")
      .option("--small-only", "keep only models with at most --max-params billion parameters (from their size)")
      .option("--max-params <B>", "size limit for --small-only, in billions of parameters", "10")
      .option("--with-gold", "add the gold answer as a record too (not for code tasks, whose ground truth is tests)")
      .option("--formats <list>", "alpaca,openai,sharegpt,dpo (comma-separated)", "alpaca,openai,sharegpt,dpo")
      .option("--ngram <n>", "decontamination n-gram length in words; 0 = exact matches only", "13")
      .option("--boilerplate-df <n>", "ignore n-grams found in at least this many queries (task boilerplate)", "5")
      .option(
        "--ngram-overlap <share>",
        "share of the shorter query's n-grams that must be shared to count as overlap; 0 = any shared n-gram (GPT-3)",
        "0.5",
      )
      .option("--system <text>", "system prompt to put in every record")
      .option("--json", "print the report as JSON"),
  ).action((opts: DistillFlags) => {
    let rank: ReturnType<typeof parseRankBy>;
    let formats: ReturnType<typeof parseFormats>;
    try {
      rank = parseRankBy(opts.rank);
      formats = parseFormats(opts.formats);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const maxParams = Number(opts.maxParams);
    if (!(maxParams > 0)) throw new UsageError(`--max-params must be a positive number, got "${opts.maxParams}"`);
    const store = openStore(opts);
    try {
      const dataset = resolveDataset(store, opts.dataset) as string;
      const set = buildDistillSet(store, {
        dataset,
        rank,
        topK: parseInteger(opts.topK, "--top-k", 1),
        maxParamsB: opts.smallOnly ? maxParams : null,
        withGold: !!opts.withGold,
        decontamination: {
          ngram: parseInteger(opts.ngram, "--ngram", 0),
          boilerplateDf: parseInteger(opts.boilerplateDf, "--boilerplate-df", 2),
          minOverlap: parseShare(opts.ngramOverlap, "--ngram-overlap"),
        },
        promptOf: queryPrompt,
        system: opts.system,
      });
      const command = `fusionkit ${process.argv.slice(2).join(" ")}`;
      const { files } = writeDistillSet(opts.out, set, formats, command);
      if (opts.json) return printJson({ ...set.stats, files });
      const s = set.stats;
      process.stdout.write(
        `${dataset}: ${s.total.trainQueries} train queries, ${s.total.removedExact + s.total.removedNgram} removed by ` +
          `decontamination against ${s.testQueries} test queries (${s.total.removedExact} exact, ${s.total.removedNgram} ` +
          `${s.decontamination.ngram}-gram); rank ${s.rank}, top-${s.topK}` +
          (s.maxParamsB !== null ? `, models ≤ ${s.maxParamsB}B (${s.models.length} kept)` : "") +
          (s.withGold ? ", with gold" : "") +
          "\n",
      );
      process.stdout.write(formatTable(TASK_HEADER, taskRows(s)));
      process.stdout.write(`\n${formatTable(MODEL_HEADER, modelRows(s))}`);
      for (const n of s.notes) process.stdout.write(`note: ${n}\n`);
      process.stdout.write(`\nwrote ${Object.values(files).join(", ")}\n`);
    } finally {
      store.close();
    }
  });
}
