import { open } from "node:fs/promises";
import { extname } from "node:path";
import { DataError } from "../errors.ts";
import {
  NON_NEGATIVE,
  type NumberRule,
  optionalNumber,
  optionalString,
  PERFORMANCE,
  requiredNumber,
  requiredString,
  TOKENS,
} from "../fields.ts";
import { queryId } from "../ids.ts";
import type { Located, Mode, Model, OutcomeInput, ParsedBatch, Query, SourceLoc, Split } from "../types.ts";
import { readJsonLines } from "./files.ts";
import type { Importer, ImportOptions } from "./importer.ts";

/**
 * FusionKit's canonical JSON Lines format (documented in README "Canonical JSONL format"), written by
 * `fusionkit export`. Three kinds of line, normalised so a query's text is stored once however many
 * models answered it, and ids survive a round trip:
 *   {"kind":"model", name, input_price, output_price, description?, size?, upstream_id?}
 *   {"kind":"query", id?, dataset, task, text, domain?, ground_truth?, metric?, task_description?, choices?, split?}
 *   {"kind":"outcome", query_id, model, mode, performance, response?, input_tokens?, output_tokens?, cost?,
 *    judge?, latency_ms?}
 * A query line without id gets queryId(dataset, task, text, split). An outcome refers to a query line of the
 * same file or to a query already in the store; cost absent = tokens × the model's price.
 */

const KINDS = new Set(["model", "query", "outcome"]);

function mode(v: unknown, loc: SourceLoc): Mode {
  if (v === undefined || v === null) return "direct";
  if (v === "direct" || v === "think") return v;
  throw new DataError(loc, "mode", `expected "direct" or "think", got ${JSON.stringify(v)}`);
}

function split(v: unknown, loc: SourceLoc): Split | null {
  if (v === undefined || v === null) return null;
  if (v === "train" || v === "test") return v;
  throw new DataError(loc, "split", `expected "train", "test" or null, got ${JSON.stringify(v)}`);
}

/**
 * JSON lines carry typed values: a number in quotes ("0.5") or a boolean is a mistake in the file, not a
 * number to coerce (the tabular importers coerce because every CSV cell is text).
 */
function jsonNumber(v: unknown, loc: SourceLoc, field: string): unknown {
  if (typeof v === "string" || typeof v === "boolean")
    throw new DataError(
      loc,
      field,
      `expected a number, got ${typeof v} ${JSON.stringify(v)} (in JSON a number is written without quotes)`,
    );
  return v;
}

const optional = (v: unknown, loc: SourceLoc, field: string, rule: NumberRule) =>
  optionalNumber(jsonNumber(v, loc, field), loc, field, rule);

function choices(v: unknown, loc: SourceLoc): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "object") return JSON.stringify(v);
  throw new DataError(loc, "choices", "expected a JSON value or its text");
}

export const fusionkitImporter: Importer = {
  format: "fusionkit",
  description: 'FusionKit canonical JSONL: {"kind":"model"|"query"|"outcome", ...} lines (see README)',
  async detect(path) {
    if (![".jsonl", ".ndjson"].includes(extname(path).toLowerCase())) return false;
    try {
      const fh = await open(path, "r");
      try {
        const buf = Buffer.alloc(64 * 1024);
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        const first = buf
          .subarray(0, bytesRead)
          .toString("utf8")
          .split("\n")
          .find((l) => l.trim());
        if (!first) return false;
        const obj = JSON.parse(first) as Record<string, unknown>;
        return typeof obj === "object" && obj !== null && typeof obj.kind === "string" && KINDS.has(obj.kind);
      } finally {
        await fh.close();
      }
    } catch {
      return false;
    }
  },
  async parse(path, options: ImportOptions): Promise<ParsedBatch> {
    const lines = await readJsonLines(path);
    if (lines.length === 0) throw new DataError({ file: path, line: 1 }, null, "the file is empty");
    const models: Located<Model>[] = [];
    const queries: Located<Query>[] = [];
    const outcomes: Located<OutcomeInput>[] = [];
    const datasets = new Set<string>();
    for (let n = 0; n < lines.length; n++) {
      const { value: v, loc } = lines[n] as (typeof lines)[number];
      const kind = v.kind;
      if (kind === "model") {
        models.push({
          name: requiredString(v.name, loc, "name"),
          inputPrice: optional(v.input_price, loc, "input_price", NON_NEGATIVE),
          outputPrice: optional(v.output_price, loc, "output_price", NON_NEGATIVE),
          description: optionalString(v.description, loc, "description"),
          size: optionalString(v.size, loc, "size"),
          upstreamId: optionalString(v.upstream_id, loc, "upstream_id"),
          loc,
        });
      } else if (kind === "query") {
        const dataset = options.dataset ?? requiredString(v.dataset, loc, "dataset");
        const task = requiredString(v.task, loc, "task");
        const text = requiredString(v.text, loc, "text");
        const s = split(v.split, loc);
        datasets.add(dataset);
        queries.push({
          id: optionalString(v.id, loc, "id") ?? queryId(dataset, task, text, s),
          dataset,
          task,
          domain: optionalString(v.domain, loc, "domain"),
          text,
          groundTruth: optionalString(v.ground_truth, loc, "ground_truth"),
          metric: optionalString(v.metric, loc, "metric"),
          taskDescription: optionalString(v.task_description, loc, "task_description"),
          choices: choices(v.choices, loc),
          split: s,
          loc,
        });
      } else if (kind === "outcome") {
        outcomes.push({
          queryId: requiredString(v.query_id, loc, "query_id"),
          model: requiredString(v.model, loc, "model"),
          mode: mode(v.mode, loc),
          response: optionalString(v.response, loc, "response"),
          performance: requiredNumber(jsonNumber(v.performance, loc, "performance"), loc, "performance", PERFORMANCE),
          inputTokens: optional(v.input_tokens, loc, "input_tokens", TOKENS),
          outputTokens: optional(v.output_tokens, loc, "output_tokens", TOKENS),
          cost: optional(v.cost, loc, "cost", NON_NEGATIVE),
          judge: optional(v.judge, loc, "judge", PERFORMANCE),
          latencyMs: optional(v.latency_ms, loc, "latency_ms", NON_NEGATIVE),
          loc,
        });
      } else {
        throw new DataError(loc, "kind", `expected "model", "query" or "outcome", got ${JSON.stringify(kind)}`);
      }
      if (n % 5000 === 0) options.onProgress?.(n + 1, lines.length);
    }
    options.onProgress?.(lines.length, lines.length);
    return {
      format: "fusionkit",
      dataset: [...datasets].join(",") || (options.dataset ?? "fusionkit"),
      files: [path],
      models,
      queries,
      outcomes,
    };
  },
};
