import { basename, dirname, join } from "node:path";
import { DataError } from "../errors.ts";
import { optionalString, PERFORMANCE, requiredNumber, requiredString, TOKENS } from "../fields.ts";
import type { Located, OutcomeInput, ParsedBatch, Query, SourceLoc } from "../types.ts";
import { asArray, asRecord, exists, isDirectory, readJsonFile } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";
import { readLlmCatalog } from "./llmrouter.ts";
import { parsePyLiteral } from "./pyliteral.ts";
import { sourceQuery } from "./query-record.ts";
import { peekColumns } from "./tabular.ts";

/**
 * RouteProfile layout: `route_data/routing_test_data.json`, an array of
 *   {task_name, query, ground_truth, metric, choices, task_id, formatted_query?,
 *    model_performance: {<model>: {response, prompt_tokens, completion_tokens, task_performance, success, ...}}}
 * with prices in `profile_data/candidate_models.json` ({model: {input_price, output_price, feature, size, model}}).
 * Accepts the folder or the JSON file (the catalog is then looked up in ../profile_data/). The file name says
 * "test" but it is the whole evaluation set, not a split: queries get no split (`fusionkit split` assigns one).
 * Cost is computed by the store from the real token counts × the catalog's prices.
 */

const DATA = join("route_data", "routing_test_data.json");
const CATALOG = join("profile_data", "candidate_models.json");

async function locate(path: string): Promise<{ data: string; catalog: string }> {
  if (await isDirectory(path)) return { data: join(path, DATA), catalog: join(path, CATALOG) };
  return { data: path, catalog: join(dirname(dirname(path)), CATALOG) };
}

/** RouteProfile gives choices as a Python dict text ({'text': [...], 'labels': [...]}); store it as JSON. */
function choicesJson(v: unknown, loc: SourceLoc): string | null {
  const s = optionalString(v, loc, "choices");
  if (s === null) return null;
  try {
    return JSON.stringify(parsePyLiteral(s));
  } catch {
    return s;
  }
}

export const routeprofileImporter: Importer = {
  format: "routeprofile",
  description:
    "RouteProfile routing_test_data.json (responses, token counts) + profile_data/candidate_models.json prices",
  async detect(path) {
    if (await isDirectory(path)) return exists(join(path, DATA));
    if (!path.toLowerCase().endsWith(".json")) return false;
    const cols = await peekColumns(path);
    return !!cols && cols.includes("model_performance") && cols.includes("task_name");
  },
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const dataset = options.dataset ?? "routeprofile";
    const { data, catalog } = await locate(path);
    if (!(await exists(catalog)))
      throw new DataError(
        { file: data, line: 1 },
        null,
        `no price catalog: expected ${catalog} (RouteProfile's profile_data/candidate_models.json)`,
      );
    const models = await readLlmCatalog(catalog);
    const known = new Set(models.map((m) => m.name));
    const items = asArray(await readJsonFile(data), { file: data, line: 1 }, "the routing data");
    if (items.length === 0) throw new DataError({ file: data, line: 1 }, null, "the file holds no queries");
    const queries: Located<Query>[] = [];
    const outcomes: Located<OutcomeInput>[] = [];
    for (let i = 0; i < items.length; i++) {
      const loc: SourceLoc = { file: data, line: i + 1, unit: "item" };
      const item = asRecord(items[i], loc, "each item");
      const task = requiredString(item.task_name, loc, "task_name");
      const text = requiredString(item.query, loc, "query");
      const query = sourceQuery({
        dataset,
        task,
        text,
        groundTruth: optionalString(item.ground_truth, loc, "ground_truth"),
        metric: optionalString(item.metric, loc, "metric"),
        choices: choicesJson(item.choices, loc),
        split: null,
        loc,
      });
      queries.push(query);
      const perModel = asRecord(item.model_performance, loc, "model_performance");
      for (const [model, raw] of Object.entries(perModel)) {
        const f = `model_performance.${model}`;
        if (!known.has(model))
          throw new DataError(loc, f, `unknown model "${model}" (not in ${basename(catalog)}, so it has no price)`);
        const r = asRecord(raw, loc, f);
        outcomes.push({
          queryId: query.id,
          model,
          mode: "direct",
          response: optionalString(r.response, loc, `${f}.response`),
          performance: requiredNumber(r.task_performance, loc, `${f}.task_performance`, PERFORMANCE),
          inputTokens: requiredNumber(r.prompt_tokens ?? r.input_token, loc, `${f}.prompt_tokens`, TOKENS),
          outputTokens: requiredNumber(r.completion_tokens ?? r.output_token, loc, `${f}.completion_tokens`, TOKENS),
          loc,
        });
      }
      if ((i + 1) % 100 === 0) options.onProgress?.(i + 1, items.length);
    }
    options.onProgress?.(items.length, items.length);
    return { format: "routeprofile", dataset, files: [data, catalog], models, queries, outcomes };
  },
};
