import { DataError } from "../errors.ts";
import { NON_NEGATIVE, optionalString, PERFORMANCE, preview, requiredNumber, requiredString } from "../fields.ts";
import type { Located, Model, OutcomeInput, ParsedBatch, Query, SourceLoc } from "../types.ts";
import { allMatch, asArray, asRecord, filesIn, isDirectory, readJsonFile, splitFromFileName } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";
import { pyListField } from "./pyliteral.ts";
import { sourceQuery } from "./query-record.ts";
import { peekColumns } from "./tabular.ts";

/**
 * LLMRouter's NaturalQuestions routing file (`llmrouter-nq/nq6_routing.json`): an array of
 *   {q_id, query, gt, source, llm_name_list, response_list, cost_list, perf_list, best_perf_idx, best_llm_name}
 * where the four `*_list` fields (and `gt`) are parallel lists — real JSON arrays in the published file, or
 * the text of Python lists (`"['a', None]"`) in other dumps of it; both are read.
 *
 * `cost_list` is output tokens × USD per 1M tokens, i.e. the cost in millionths of a dollar; it is stored
 * divided by 1e6. The file has no prices: the ones below are the Together AI list prices ($ per 1M tokens, same
 * for input and output) of the six models, which the file's own numbers confirm: cost_list / price is a whole
 * number of tokens for all 3,000 entries, and cost_list / (GPT-2 tokens of the response) has its median near
 * each price. So the output token count is cost_list / price; input tokens are unknown and left empty.
 * Model names are kept with their provider prefix (`qwen/qwen2.5-7b-instruct`): these are Together-served
 * models whose prices differ from the NVIDIA-served ones of the same name in the LLMRouter catalog.
 */
const TOGETHER_PRICES: Record<string, number> = {
  "qwen/qwen2.5-7b-instruct": 0.3,
  "meta/llama-3.1-70b-instruct": 0.88,
  "mistralai/mistral-7b-instruct-v0.3": 0.2,
  "mistralai/mixtral-8x22b-instruct-v0.1": 1.2,
  "google/gemma-2-27b-it": 0.8,
  "meta/llama-3.1-8b-instruct": 0.18,
};

/** FusionBench calls the NaturalQuestions task natural_qa; the file's `source` says "nq". */
const TASK_OF_SOURCE: Record<string, string> = { nq: "natural_qa" };

async function isNqFile(path: string): Promise<boolean> {
  if (!path.toLowerCase().endsWith(".json")) return false;
  const cols = await peekColumns(path);
  return !!cols && ["query", "llm_name_list", "perf_list", "cost_list"].every((c) => cols.includes(c));
}

async function filesOf(path: string): Promise<string[]> {
  if (!(await isDirectory(path))) return [path];
  const out = await filesIn(path, isNqFile);
  if (out.length === 0)
    throw new DataError(
      { file: path, line: 1 },
      null,
      "the folder holds no NQ routing .json file (with llm_name_list)",
    );
  return out;
}

function outputTokensOf(costUnits: number, price: number | undefined): number | null {
  if (!price) return null;
  const t = costUnits / price;
  return Math.abs(t - Math.round(t)) < 1e-6 * Math.max(1, t) ? Math.round(t) : null;
}

export const llmrouterNqImporter: Importer = {
  format: "llmrouter-nq",
  description: "LLMRouter NQ file (nq6_routing.json): parallel llm_name_list/response_list/cost_list/perf_list",
  async detect(path) {
    if (await isDirectory(path))
      return allMatch(await filesIn(path, (p) => p.toLowerCase().endsWith(".json")), isNqFile);
    return isNqFile(path);
  },
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const dataset = options.dataset ?? "llmrouter-nq";
    const files = await filesOf(path);
    const models = new Map<string, Located<Model>>();
    const queries: Located<Query>[] = [];
    const outcomes: Located<OutcomeInput>[] = [];
    for (const file of files) {
      const items = asArray(await readJsonFile(file), { file, line: 1 }, "the NQ routing data");
      if (items.length === 0) throw new DataError({ file, line: 1 }, null, "the file holds no queries");
      const split = splitFromFileName(file);
      for (let i = 0; i < items.length; i++) {
        const loc: SourceLoc = { file, line: i + 1, unit: "item" };
        const item = asRecord(items[i], loc, "each item");
        const text = requiredString(item.query, loc, "query");
        const source = optionalString(item.source, loc, "source") ?? "nq";
        const task = TASK_OF_SOURCE[source] ?? source;
        const gt = item.gt === undefined || item.gt === null ? null : pyListField(item.gt, loc, "gt");
        const query = sourceQuery({
          dataset,
          task,
          text,
          groundTruth: gt ? JSON.stringify(gt) : null,
          metric: "f1_score",
          split,
          loc,
        });
        queries.push(query);
        const names = pyListField(item.llm_name_list, loc, "llm_name_list");
        const lists = {
          response_list: pyListField(item.response_list, loc, "response_list"),
          cost_list: pyListField(item.cost_list, loc, "cost_list"),
          perf_list: pyListField(item.perf_list, loc, "perf_list"),
        };
        for (const [field, list] of Object.entries(lists))
          if (list.length !== names.length)
            throw new DataError(
              loc,
              field,
              `has ${list.length} entries but llm_name_list has ${names.length} (the lists are parallel)`,
            );
        for (let k = 0; k < names.length; k++) {
          const model = names[k];
          if (typeof model !== "string" || !model)
            throw new DataError(loc, `llm_name_list[${k}]`, `expected a model name, got ${preview(model)}`);
          if (!models.has(model)) {
            const price = TOGETHER_PRICES[model] ?? null;
            models.set(model, { name: model, inputPrice: price, outputPrice: price, upstreamId: model, loc });
          }
          const costUnits = requiredNumber(lists.cost_list[k], loc, `cost_list[${k}]`, NON_NEGATIVE);
          outcomes.push({
            queryId: query.id,
            model,
            mode: "direct",
            response: optionalString(lists.response_list[k], loc, `response_list[${k}]`),
            performance: requiredNumber(lists.perf_list[k], loc, `perf_list[${k}]`, PERFORMANCE),
            inputTokens: null,
            outputTokens: outputTokensOf(costUnits, TOGETHER_PRICES[model]),
            cost: costUnits / 1e6,
            loc,
          });
        }
        if ((i + 1) % 100 === 0) options.onProgress?.(i + 1, items.length);
      }
    }
    return { format: "llmrouter-nq", dataset, files, models: [...models.values()], queries, outcomes };
  },
};
