import { basename, join } from "node:path";
import { costOf } from "../cost.ts";
import { DataError } from "../errors.ts";
import { optionalNumber, optionalString, PERFORMANCE, requiredNumber, requiredString } from "../fields.ts";
import { gpt2Tokens } from "../tokens.ts";
import type { Located, Model, OutcomeInput, ParsedBatch, Query, SourceLoc, Split } from "../types.ts";
import { asArray, asRecord, exists, isDirectory, readJsonFile, readJsonLines } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";
import { sourceQuery } from "./query-record.ts";

/**
 * LLMRouter layout (a folder):
 *   dcrouter_preprocessed/{train,test}.json   [{question, scores: {model: performance}, cluster_id}]
 *   query_data/default_query_{train,test}.jsonl  {task_name, query, ground_truth, metric, choices, task_id}
 *   llm_candidates/default_llm.json           {model: {input_price, output_price, feature, size, model}}
 * Scores are joined with query_data on the query text to get the task. The data has no token counts:
 * input tokens are counted with the GPT-2 tokenizer and the cost is the prompt cost only (documented).
 */
export const llmrouterImporter: Importer = {
  format: "llmrouter",
  description: "LLMRouter folder: dcrouter_preprocessed scores + query_data tasks + llm_candidates prices",
  async detect(path) {
    return (await isDirectory(path)) && (await exists(join(path, "dcrouter_preprocessed")));
  },
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const dataset = options.dataset ?? "llmrouter";
    const files: string[] = [];
    const modelsFile = join(path, "llm_candidates", "default_llm.json");
    const models = await readModels(modelsFile);
    files.push(modelsFile);
    const priceOf = new Map(models.map((m) => [m.name, m]));

    const queries: Located<Query>[] = [];
    const outcomes: Located<OutcomeInput>[] = [];
    for (const split of ["train", "test"] as Split[]) {
      const scoresFile = join(path, "dcrouter_preprocessed", `${split}.json`);
      const queryFile = join(path, "query_data", `default_query_${split}.jsonl`);
      if (!(await exists(scoresFile))) continue;
      files.push(scoresFile, queryFile);
      const taskOf = new Map<
        string,
        { task: string; groundTruth: string | null; metric: string | null; choices: string | null }
      >();
      for (const { value, loc } of await readJsonLines(queryFile)) {
        const text = requiredString(value.query, loc, "query");
        // The same text can occur twice (e.g. in mmlu and openbook_qa); the first row wins, deterministically.
        if (taskOf.has(text)) continue;
        taskOf.set(text, {
          task: requiredString(value.task_name, loc, "task_name"),
          groundTruth: optionalString(value.ground_truth, loc, "ground_truth"),
          metric: optionalString(value.metric, loc, "metric"),
          choices: optionalString(value.choices, loc, "choices"),
        });
      }
      const items = asArray(await readJsonFile(scoresFile), { file: scoresFile, line: 1 }, "the scores file");
      for (let i = 0; i < items.length; i++) {
        const loc: SourceLoc = { file: scoresFile, line: i + 1, unit: "item" };
        const item = asRecord(items[i], loc, "each item");
        const text = requiredString(item.question, loc, "question");
        const meta = taskOf.get(text);
        if (!meta)
          throw new DataError(
            loc,
            "question",
            `query text not found in ${basename(queryFile)}, so its task is unknown`,
          );
        const query = sourceQuery({
          dataset,
          task: meta.task,
          text,
          groundTruth: meta.groundTruth,
          metric: meta.metric,
          choices: meta.choices,
          split,
          loc,
        });
        queries.push(query);
        const scores = asRecord(item.scores, loc, "scores");
        const inputTokens = gpt2Tokens(text);
        for (const [model, raw] of Object.entries(scores)) {
          const field = `scores.${model}`;
          const performance = requiredNumber(raw, loc, field, PERFORMANCE);
          const m = priceOf.get(model);
          if (!m)
            throw new DataError(
              loc,
              field,
              `unknown model "${model}" (not in ${basename(modelsFile)}, so it has no price)`,
            );
          // Prompt cost only: the data has no output token counts. readModels refused a model without an input price.
          const cost = costOf(m.inputPrice as number, 0, inputTokens, 0);
          outcomes.push({
            queryId: query.id,
            model,
            mode: "direct",
            performance,
            inputTokens,
            outputTokens: null,
            cost,
            loc,
          });
        }
        options.onProgress?.(i + 1, items.length);
      }
    }
    if (queries.length === 0)
      throw new DataError({ file: path, line: 0 }, null, "no dcrouter_preprocessed/{train,test}.json found");
    return { format: "llmrouter", dataset, files, models, queries, outcomes };
  },
};

async function readModels(file: string): Promise<Located<Model>[]> {
  const root = asRecord(await readJsonFile(file), { file, line: 1 }, "the model catalog");
  const out: Located<Model>[] = [];
  let i = 0;
  for (const [name, raw] of Object.entries(root)) {
    i++;
    const loc: SourceLoc = { file, line: i, unit: "item" };
    const m = asRecord(raw, loc, `model "${name}"`);
    const inputPrice = optionalNumber(m.input_price, loc, `${name}.input_price`, { min: 0 });
    const outputPrice = optionalNumber(m.output_price, loc, `${name}.output_price`, { min: 0 });
    if (inputPrice === null) throw new DataError(loc, `${name}.input_price`, `model "${name}" has no price`);
    out.push({
      name,
      inputPrice,
      outputPrice,
      description: optionalString(m.feature, loc, "feature"),
      size: optionalString(m.size, loc, "size"),
      upstreamId: optionalString(m.model, loc, "model"),
      loc,
    });
  }
  return out;
}

export { readModels as readLlmCatalog };
