import { readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { costOf } from "../cost.ts";
import { DataError } from "../errors.ts";
import { preview, requiredString } from "../fields.ts";
import { gpt2Tokens } from "../tokens.ts";
import type { Located, Model, OutcomeInput, ParsedBatch, Query, SourceLoc } from "../types.ts";
import { allMatch, exists, isDirectory, readHead, readJsonLines } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";
import { sourceQuery } from "./query-record.ts";
import { readTable } from "./tabular.ts";

/**
 * RouteLLM's evaluation CSVs (lm-sys/RouteLLM): `mmlu/responses/mmlu_<subject>.csv` and
 * `gsm8k/gsm8k_responses.csv`, each with a `prompt` column and one True/False correctness column per model
 * (GSM8K adds `<model>_response` columns). Task: `mmlu_<subject>` (domain World Knowledge) or `gsm8k`.
 * A folder is searched whole (the `routellm/` root, `mmlu/`, `mmlu/responses/` or `gsm8k/`); `mt_bench/`
 * is not a correctness table and is left out. Prompts listed in a `contaminated_prompts.jsonl`
 * (`eval_prompt`) in the CSV's folder or its parent are excluded, as RouteLLM does. GSM8K ground truths come
 * from `test.jsonl` beside the CSV when present (joined on the question text). No split: use `fusionkit split`.
 *
 * The data has no prices or token counts. Prices (USD per 1M tokens) of RouteLLM's two models:
 * - gpt-4-1106-preview: $10 input / $30 output — OpenAI's list price for GPT-4 Turbo (gpt-4-1106-preview),
 *   openai.com/pricing, November 2023.
 * - mistralai/Mixtral-8x7B-Instruct-v0.1: $0.60 / $0.60 — Together AI's list price for Mixtral-8x7B-Instruct,
 *   the same figure the LLMRouter catalog gives for mixtral-8x7b-instruct-v0.1.
 * Input tokens are the prompt's GPT-2 tokens (src/data/tokens.ts). GSM8K has the responses, so its output
 * tokens are counted too and its cost is complete. MMLU has no responses: its output tokens are unknown and its
 * cost is the prompt cost only (the answer is a single letter, so this understates cost by ~1 token × price).
 */
const PRICES: Record<string, { input: number; output: number }> = {
  "gpt-4-1106-preview": { input: 10, output: 30 },
  "mistralai/Mixtral-8x7B-Instruct-v0.1": { input: 0.6, output: 0.6 },
};

const RESPONSE_SUFFIX = "_response";

/** A RouteLLM correctness CSV: `prompt` first, then model columns whose first row holds True/False. */
async function isRouteLlmCsv(path: string): Promise<boolean> {
  if (!path.toLowerCase().endsWith(".csv")) return false;
  try {
    const rows = parseCsv(await readHead(path, 256 * 1024), { columns: true, to: 1, bom: true }) as Record<
      string,
      string
    >[];
    const first = rows[0];
    if (!first) return false;
    const cols = Object.keys(first);
    const models = cols.filter((c) => c !== "prompt" && !c.endsWith(RESPONSE_SUFFIX));
    return (
      cols[0] === "prompt" &&
      models.length > 0 &&
      models.every((c) => !c.includes("|") && /^(true|false)$/i.test(first[c] ?? ""))
    );
  } catch {
    return false;
  }
}

async function csvFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await csvFilesUnder(p)));
    else if (await isRouteLlmCsv(p)) out.push(p);
  }
  return out;
}

function taskOf(file: string): string {
  const name = basename(file, ".csv").toLowerCase();
  if (name.startsWith("mmlu")) return name;
  return name.replace(/_responses?$/, "");
}

async function besideOrAbove(file: string, name: string): Promise<string | null> {
  for (const dir of [dirname(file), dirname(dirname(file))]) if (await exists(join(dir, name))) return join(dir, name);
  return null;
}

async function contaminated(file: string): Promise<Set<string>> {
  const list = await besideOrAbove(file, "contaminated_prompts.jsonl");
  const out = new Set<string>();
  if (!list) return out;
  for (const { value, loc } of await readJsonLines(list))
    out.add(requiredString(value.eval_prompt, loc, "eval_prompt"));
  return out;
}

async function groundTruths(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const gt = await besideOrAbove(file, "test.jsonl");
  if (!gt || !basename(file).startsWith("gsm8k")) return out;
  for (const { value, loc } of await readJsonLines(gt))
    out.set(requiredString(value.question, loc, "question"), requiredString(value.answer, loc, "answer"));
  return out;
}

function correctness(v: unknown, loc: SourceLoc, field: string): number {
  if (typeof v === "string" && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === "true" ? 1 : 0;
  throw new DataError(loc, field, `expected True or False, got ${preview(v)}`);
}

export const routellmImporter: Importer = {
  format: "routellm",
  description: "RouteLLM MMLU/GSM8K CSVs (prompt + one True/False column per model); a folder imports whole",
  async detect(path) {
    if (!(await isDirectory(path))) return isRouteLlmCsv(path);
    if ((await exists(join(path, "mmlu", "responses"))) || (await exists(join(path, "gsm8k", "gsm8k_responses.csv"))))
      return true;
    const entries = await readdir(path);
    const csvs = entries.filter((n) => n.toLowerCase().endsWith(".csv"));
    if (csvs.length > 0)
      return allMatch(
        csvs.map((n) => join(path, n)),
        isRouteLlmCsv,
      );
    return entries.includes("responses") && (await csvFilesUnder(join(path, "responses"))).length > 0;
  },
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const dataset = options.dataset ?? "routellm";
    const files = (await isDirectory(path)) ? await csvFilesUnder(path) : [path];
    if (files.length === 0)
      throw new DataError({ file: path, line: 1 }, null, "no RouteLLM CSV (prompt + True/False model columns) found");
    const models = new Map<string, Located<Model>>();
    const queries: Located<Query>[] = [];
    const outcomes: Located<OutcomeInput>[] = [];
    const used: string[] = [];
    for (const [n, file] of files.entries()) {
      const table = await readTable(file);
      if (table.columns[0] !== "prompt")
        throw new DataError({ file, line: 1 }, "prompt", 'missing column "prompt" (it must come first)');
      const modelCols = table.columns.filter((c) => c !== "prompt" && !c.endsWith(RESPONSE_SUFFIX));
      for (const m of modelCols) {
        const price = PRICES[m];
        if (!price)
          throw new DataError(
            { file, line: 1 },
            m,
            `unknown model "${m}": RouteLLM files carry no prices and this importer knows only ${Object.keys(PRICES).join(", ")}`,
          );
        if (!models.has(m))
          models.set(m, { name: m, inputPrice: price.input, outputPrice: price.output, loc: { file, line: 1 } });
      }
      const skip = await contaminated(file);
      const gt = await groundTruths(file);
      const task = taskOf(file);
      used.push(file);
      for (const { row, loc } of table.rows) {
        const text = requiredString(row.prompt, loc, "prompt");
        if (skip.has(text)) continue;
        const query = sourceQuery({
          dataset,
          task,
          text,
          groundTruth: gt.get(text) ?? null,
          metric: task.startsWith("mmlu") ? "em_mc" : task,
          split: null,
          loc,
        });
        queries.push(query);
        const inputTokens = gpt2Tokens(text);
        for (const m of modelCols) {
          const price = PRICES[m] as { input: number; output: number };
          const rawResponse = row[`${m}${RESPONSE_SUFFIX}`];
          const response = typeof rawResponse === "string" ? rawResponse : null;
          const outputTokens = response === null ? null : gpt2Tokens(response);
          outcomes.push({
            queryId: query.id,
            model: m,
            mode: "direct",
            response,
            performance: correctness(row[m], loc, m),
            inputTokens,
            outputTokens,
            cost: costOf(price.input, price.output, inputTokens, outputTokens ?? 0),
            loc,
          });
        }
      }
      options.onProgress?.(n + 1, files.length);
    }
    return { format: "routellm", dataset, files: used, models: [...models.values()], queries, outcomes };
  },
};
