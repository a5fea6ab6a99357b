import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { QueryFilter, Store } from "./store.ts";
import type { Model, Outcome, Query } from "./types.ts";

/**
 * Writes the store (or one dataset/split of it) as FusionKit canonical JSONL: model lines, then query
 * lines, then outcome lines, in store order. Null fields are left out; numbers are written by
 * JSON.stringify, which round-trips doubles exactly, so export → import gives back identical rows.
 */

export interface ExportSummary {
  models: number;
  queries: number;
  outcomes: number;
}

/** Drop null/undefined fields so lines stay short and "absent" and "null" mean the same thing. */
function compact(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

export function modelLine(m: Model): string {
  return JSON.stringify(
    compact({
      kind: "model",
      name: m.name,
      input_price: m.inputPrice,
      output_price: m.outputPrice,
      description: m.description,
      size: m.size,
      upstream_id: m.upstreamId,
    }),
  );
}

export function queryLine(q: Query): string {
  return JSON.stringify(
    compact({
      kind: "query",
      id: q.id,
      dataset: q.dataset,
      task: q.task,
      domain: q.domain,
      text: q.text,
      ground_truth: q.groundTruth,
      metric: q.metric,
      task_description: q.taskDescription,
      choices: q.choices,
      split: q.split,
    }),
  );
}

export function outcomeLine(o: Outcome): string {
  return JSON.stringify(
    compact({
      kind: "outcome",
      query_id: o.queryId,
      model: o.model,
      mode: o.mode,
      performance: o.performance,
      input_tokens: o.inputTokens,
      output_tokens: o.outputTokens,
      cost: o.cost,
      judge: o.judge,
      latency_ms: o.latencyMs,
      response: o.response,
    }),
  );
}

/**
 * Write the canonical JSONL for `filter` to `out`. Unfiltered, every model is written (catalog entries without
 * outcomes too, so the whole store round-trips); filtered, only models that answered an exported query.
 */
export async function exportCanonical(store: Store, out: string, filter: QueryFilter = {}): Promise<ExportSummary> {
  const queries = store.queries(filter);
  const outcomes = store.outcomes(filter);
  const used = new Set(outcomes.map((o) => o.model));
  const filtered = filter.dataset !== undefined || filter.split !== undefined;
  const models = store.models().filter((m) => !filtered || used.has(m.name));
  const stream = createWriteStream(out, { encoding: "utf8" });
  const write = async (line: string) => {
    if (!stream.write(`${line}\n`)) await once(stream, "drain");
  };
  for (const m of models) await write(modelLine(m));
  for (const q of queries) await write(queryLine(q));
  for (const o of outcomes) await write(outcomeLine(o));
  stream.end();
  await once(stream, "finish");
  return { models: models.length, queries: queries.length, outcomes: outcomes.length };
}
