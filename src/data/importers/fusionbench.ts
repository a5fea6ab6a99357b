import { basename } from "node:path";
import { costOf } from "../cost.ts";
import { QueryCollector } from "../duplicates.ts";
import { DataError } from "../errors.ts";
import {
  NON_NEGATIVE,
  optionalNumber,
  optionalString,
  PERFORMANCE,
  preview,
  requiredNumber,
  requiredString,
  TOKENS,
} from "../fields.ts";
import { queryId } from "../ids.ts";
import {
  type Located,
  type Model,
  type OutcomeInput,
  type ParsedBatch,
  parseCandidateKey,
  type Query,
  type SourceLoc,
  type Split,
} from "../types.ts";
import { rowSplit, splitFromFileName } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";
import { parsePyLiteral } from "./pyliteral.ts";
import { sourceQuery } from "./query-record.ts";
import { detectTables, peekColumns, readTable, requireColumns, type TableRow, tableFilesOf } from "./tabular.ts";

/**
 * FusionBench's published layout (FusionFactory, arXiv 2507.10540): one row per (query × LLM) with columns
 * task_name, task_id, task_description, query, ground_truth, metric, llm, input_price, output_price,
 * input_tokens_num, output_tokens_num, performance, cost, response, llm_description, llm_judge
 * (+ query_embedding, task_description_embedding), as Parquet, CSV, JSONL or a JSON array; a folder of such
 * files imports whole, and the split comes from the file name (`train`, `partial_test`) or a `split` column.
 *
 * Quirks it survives:
 * - `<llm>_think` rows are the reasoning mode of <llm>; their query has "Let's think step by step" appended,
 *   which is stripped so both modes land on the same query.
 * - The embeddings are filled only on a query's first row, as text `tensor([...])`: never decoded.
 * - Code tasks may give performance as the text `{'pass@1': 0.5}`.
 * - cost = input tokens × input price + output tokens × output price, prices in USD per 1M tokens. A given
 *   cost is checked against that; a file that left out the division by 1M (cost 1e6× the USD figure) is
 *   recognised and scaled; any other mismatch is an error. An absent cost is computed.
 */

const REQUIRED = ["task_name", "query", "llm", "performance"] as const;
/** Columns the importer reads; everything else (embeddings above all) is left undecoded in Parquet. */
const READ = [
  ...REQUIRED,
  "task_id",
  "task_description",
  "ground_truth",
  "metric",
  "input_price",
  "output_price",
  "input_tokens_num",
  "output_tokens_num",
  "cost",
  "response",
  "llm_description",
  "llm_judge",
  "split",
];

const THINK_SUFFIX = /\s*Let['’]s think step by step\.?\s*$/i;

/** The query as asked in direct mode: `_think` rows carry the reasoning prompt appended. */
export function stripThinkSuffix(text: string): string {
  return text.replace(THINK_SUFFIX, "");
}

/** A performance cell: a number, numeric text, or a Python dict text like `{'pass@1': 0.5}`. */
export function parsePerformance(v: unknown, loc: SourceLoc, field = "performance"): number {
  if (typeof v === "string" && v.trim().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = parsePyLiteral(v);
    } catch (e) {
      throw new DataError(loc, field, `cannot read ${preview(v)} (${(e as Error).message})`);
    }
    const dict = parsed as Record<string, unknown>;
    const value =
      "pass@1" in dict ? dict["pass@1"] : Object.values(dict).length === 1 ? Object.values(dict)[0] : undefined;
    if (value === undefined) throw new DataError(loc, field, `expected {'pass@1': x}, got ${preview(v)}`);
    return requiredNumber(value, loc, field, PERFORMANCE);
  }
  return requiredNumber(v, loc, field, PERFORMANCE);
}

async function isFusionBenchTable(path: string): Promise<boolean> {
  const cols = await peekColumns(path);
  return !!cols && REQUIRED.every((c) => cols.includes(c)) && cols.includes("input_tokens_num");
}

export const fusionbenchImporter: Importer = {
  format: "fusionbench",
  description: "FusionBench rows (query × LLM, `_think` = reasoning mode) from Parquet, CSV, JSONL or a folder of them",
  detect: (path) => detectTables(path, isFusionBenchTable),
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const dataset = options.dataset ?? "fusionbench";
    const files = await tableFilesOf(path, ".parquet, .csv, .jsonl or .json file");
    const out: Rows = { models: new Map(), queries: [], seen: new QueryCollector(), outcomes: [] };
    const tables = [];
    for (const file of files) {
      const table = await readTable(file, { columns: READ });
      requireColumns(table, REQUIRED);
      tables.push(table);
    }
    const total = tables.reduce((n, t) => n + t.rows.length, 0);
    let done = 0;
    for (const table of tables) {
      const fileSplit = splitFromFileName(table.file);
      for (const r of table.rows) {
        parseRow(r, dataset, fileSplit, out);
        if (++done % 2000 === 0) options.onProgress?.(done, total);
      }
    }
    options.onProgress?.(done, total);
    return {
      format: "fusionbench",
      dataset,
      files,
      models: [...out.models.values()],
      queries: out.queries,
      outcomes: out.outcomes,
    };
  },
};

interface Rows {
  models: Map<string, Located<Model>>;
  queries: Located<Query>[];
  /** Queries already pushed: a query spans 40 rows but is stored once, and its rows must agree. */
  seen: QueryCollector;
  outcomes: Located<OutcomeInput>[];
}

function parseRow({ row, loc }: TableRow, dataset: string, fileSplit: Split | null, out: Rows): void {
  const { models, queries, outcomes } = out;
  const task = requiredString(row.task_name, loc, "task_name");
  const { model, mode } = parseCandidateKey(requiredString(row.llm, loc, "llm"));
  const asked = requiredString(row.query, loc, "query");
  const text = mode === "think" ? stripThinkSuffix(asked) : asked;
  const split = rowSplit(row, loc, fileSplit, ["partial_test"]);
  const id = queryId(dataset, task, text, split);
  const query = sourceQuery(
    {
      dataset,
      task,
      text,
      groundTruth: optionalString(row.ground_truth, loc, "ground_truth"),
      metric: optionalString(row.metric, loc, "metric"),
      taskDescription: optionalString(row.task_description, loc, "task_description"),
      split,
      loc,
    },
    id,
  );
  if (out.seen.add(query)) queries.push(query);

  const inputPrice = optionalNumber(row.input_price, loc, "input_price", NON_NEGATIVE);
  const outputPrice = optionalNumber(row.output_price, loc, "output_price", NON_NEGATIVE);
  const known = models.get(model);
  if (!known) {
    models.set(model, {
      name: model,
      inputPrice,
      outputPrice,
      description: optionalString(row.llm_description, loc, "llm_description"),
      loc,
    });
  } else {
    for (const [field, was, now] of [
      ["input_price", known.inputPrice, inputPrice],
      ["output_price", known.outputPrice, outputPrice],
    ] as const) {
      if (was !== null && now !== null && was !== now)
        throw new DataError(
          loc,
          field,
          `model "${model}" has ${field} ${now} here but ${was} at ${basename(known.loc.file)} ${known.loc.unit ?? "line"} ${known.loc.line}`,
        );
    }
  }

  const inputTokens = optionalNumber(row.input_tokens_num, loc, "input_tokens_num", TOKENS);
  const outputTokens = optionalNumber(row.output_tokens_num, loc, "output_tokens_num", TOKENS);
  outcomes.push({
    queryId: id,
    model,
    mode,
    response: optionalString(row.response, loc, "response"),
    performance: parsePerformance(row.performance, loc),
    inputTokens,
    outputTokens,
    cost: checkedCost(row.cost, loc, inputPrice, outputPrice, inputTokens, outputTokens),
    judge: optionalNumber(row.llm_judge, loc, "llm_judge", PERFORMANCE),
    loc,
  });
}

/** The row's cost in USD, checked against tokens × price when both are there (see the module comment). */
function checkedCost(
  raw: unknown,
  loc: SourceLoc,
  inputPrice: number | null,
  outputPrice: number | null,
  inputTokens: number | null,
  outputTokens: number | null,
): number | null {
  const given = optionalNumber(raw, loc, "cost", NON_NEGATIVE);
  if (inputPrice === null || outputPrice === null || inputTokens === null || outputTokens === null) return given;
  const expected = costOf(inputPrice, outputPrice, inputTokens, outputTokens);
  if (given === null) return expected;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
  if (close(given, expected)) return given;
  if (close(given, expected * 1e6)) return given / 1e6;
  throw new DataError(
    loc,
    "cost",
    `cost ${given} does not match tokens × price (${inputTokens} × ${inputPrice} + ${outputTokens} × ${outputPrice} per 1M = ${expected} USD)`,
  );
}
