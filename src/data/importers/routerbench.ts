import { QueryCollector } from "../duplicates.ts";
import { DataError } from "../errors.ts";
import {
  NON_NEGATIVE,
  optionalNumber,
  optionalString,
  PERFORMANCE,
  requiredNumber,
  requiredString,
} from "../fields.ts";
import { queryId } from "../ids.ts";
import type { Located, Model, OutcomeInput, ParsedBatch, Query } from "../types.ts";
import { rowSplit, splitFromFileName } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";
import { parsePyLiteral } from "./pyliteral.ts";
import { sourceQuery } from "./query-record.ts";
import {
  detectTables,
  peekColumns,
  readTable,
  requireColumns,
  type Table,
  tableFilesOf,
  tableKind,
} from "./tabular.ts";

/**
 * RouterBench's wide table (withmartian/routerbench): one row per prompt with `sample_id`, `prompt`,
 * `eval_name` (the task) and, per model, a score column `<model>` in [0,1], `<model>|total_cost` (USD) and
 * `<model>|model_response`; other columns (`oracle_model_to_route_to`, ...) are ignored. The models are the
 * columns that have a `|total_cost` or `|model_response` companion. `prompt` may be the text of a Python list
 * of turns (`"['...']"`), joined with blank lines. CSV or Parquet; a folder of them imports whole; the split
 * comes from the file name or a `split` column. RouterBench gives no prices: a missing cost cell is an error.
 */

const COST = "|total_cost";
const RESPONSE = "|model_response";
const REQUIRED = ["prompt", "eval_name"] as const;

function modelsOf(columns: string[]): string[] {
  const out = new Set<string>();
  for (const c of columns)
    for (const suffix of [COST, RESPONSE]) if (c.endsWith(suffix)) out.add(c.slice(0, -suffix.length));
  return [...out];
}

async function isRouterBenchTable(path: string): Promise<boolean> {
  const kind = tableKind(path);
  if (kind !== "csv" && kind !== "parquet") return false;
  const cols = await peekColumns(path);
  return !!cols && REQUIRED.every((c) => cols.includes(c)) && cols.some((c) => c.endsWith(COST));
}

/** RouterBench stores the prompt as the text of a list of turns; plain text is kept as is. */
export function promptText(raw: string): string {
  const t = raw.trim();
  if (!t.startsWith("[")) return raw;
  try {
    const turns = parsePyLiteral(t);
    if (Array.isArray(turns) && turns.length > 0 && turns.every((x) => typeof x === "string"))
      return (turns as string[]).join("\n\n");
  } catch {
    // Not a list literal after all (a prompt that starts with "["): keep the text.
  }
  return raw;
}

export const routerbenchImporter: Importer = {
  format: "routerbench",
  description: "RouterBench wide table: prompt, eval_name, <model>, <model>|total_cost, <model>|model_response",
  detect: (path) => detectTables(path, isRouterBenchTable),
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const dataset = options.dataset ?? "routerbench";
    const files = await tableFilesOf(path, ".csv or .parquet file");
    const tables: Table[] = [];
    for (const f of files) {
      const t = await readTable(f);
      requireColumns(t, REQUIRED);
      const models = modelsOf(t.columns);
      if (models.length === 0)
        throw new DataError({ file: f, line: 1 }, null, 'no model columns (none named "<model>|total_cost")');
      requireColumns(t, models);
      tables.push(t);
    }
    const models = new Map<string, Located<Model>>();
    const queries: Located<Query>[] = [];
    const seen = new QueryCollector();
    const outcomes: Located<OutcomeInput>[] = [];
    const total = tables.reduce((n, t) => n + t.rows.length, 0);
    let done = 0;
    for (const t of tables) {
      const fileSplit = splitFromFileName(t.file);
      const names = modelsOf(t.columns);
      for (const m of names)
        if (!models.has(m))
          models.set(m, { name: m, inputPrice: null, outputPrice: null, loc: { file: t.file, line: 1 } });
      for (const { row, loc } of t.rows) {
        const task = requiredString(row.eval_name, loc, "eval_name");
        const text = promptText(requiredString(row.prompt, loc, "prompt"));
        const split = rowSplit(row, loc, fileSplit);
        const id = queryId(dataset, task, text, split);
        const query = sourceQuery({ dataset, task, text, split, loc }, id);
        if (seen.add(query)) queries.push(query);
        for (const m of names) {
          // A blank score means the model was not run on this prompt: no outcome rather than a made-up 0.
          const score = row[m];
          if (score === undefined || score === null || (typeof score === "string" && score.trim() === "")) continue;
          outcomes.push({
            queryId: id,
            model: m,
            mode: "direct",
            response: optionalString(row[`${m}${RESPONSE}`], loc, `${m}${RESPONSE}`),
            performance: requiredNumber(score, loc, m, PERFORMANCE),
            cost: optionalNumber(row[`${m}${COST}`], loc, `${m}${COST}`, NON_NEGATIVE),
            loc,
          });
        }
        if (++done % 2000 === 0) options.onProgress?.(done, total);
      }
    }
    options.onProgress?.(done, total);
    return { format: "routerbench", dataset, files, models: [...models.values()], queries, outcomes };
  },
};
