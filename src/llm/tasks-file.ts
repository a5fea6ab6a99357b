import { DataError } from "../data/errors.ts";
import { queryId } from "../data/ids.ts";
import { parseJsonLines } from "../data/importers/files.ts";
import { domainOfTask } from "../data/tasks.ts";
import type { Located, Query, Split } from "../data/types.ts";
import { canonicalMetric, METRICS } from "../scoring/score.ts";
import { readInputFile } from "../util/read-input.ts";

/**
 * The task file `fusionkit collect` reads: JSONL, one query per line:
 *   {"task": "gsm8k", "query": "...", "ground_truth": "#### 42", "metric": "gsm8k",
 *    "choices"?: [...] | {...} | "python/JSON text", "context"?: "passage", "id"?: "q1", "split"?: "train"|"test"}
 * `ground_truth` may be a list of acceptable answers (stored as a JSON array) or, for code tasks, the tests
 * (HumanEval: the `check` function; MBPP: the list of asserts). A `context` is stored in the query text as
 * "Context: ...\n\nQuestion: ..." so every later step (routers, replay, judge) sees it.
 */

const FIELDS = new Set(["task", "query", "ground_truth", "metric", "choices", "context", "id", "task_id", "split"]);

export function readTasksFile(file: string, dataset: string): Located<Query>[] {
  const text = readInputFile(file, "task");
  const out: Located<Query>[] = [];
  const seen = new Map<string, number>();
  for (const { value: r, loc } of parseJsonLines(text, file)) {
    const line = loc.line;
    for (const k of Object.keys(r))
      if (!FIELDS.has(k)) throw new DataError(loc, k, `unknown field (known: ${[...FIELDS].join(", ")})`);
    const str = (field: string, required: boolean): string | null => {
      const v = r[field];
      if (v === undefined || v === null) {
        if (required) throw new DataError(loc, field, "missing (required)");
        return null;
      }
      if (typeof v === "number") return String(v);
      if (typeof v !== "string") throw new DataError(loc, field, `must be a string, got ${JSON.stringify(v)}`);
      if (required && !v.trim()) throw new DataError(loc, field, "is empty");
      return v;
    };
    const task = str("task", true) as string;
    const query = str("query", true) as string;
    const metric = str("metric", true) as string;
    if (!canonicalMetric(metric))
      throw new DataError(loc, "metric", `unknown metric "${metric}" (known: ${METRICS.join(", ")})`);
    const gtRaw = r.ground_truth;
    let groundTruth: string;
    if (Array.isArray(gtRaw) && gtRaw.length && gtRaw.every((x) => typeof x === "string"))
      groundTruth = JSON.stringify(gtRaw);
    else groundTruth = str("ground_truth", true) as string;
    const ch = r.choices;
    const choices = ch === undefined || ch === null ? null : typeof ch === "string" ? ch : JSON.stringify(ch);
    const context = str("context", false);
    const split = str("split", false);
    if (split !== null && split !== "train" && split !== "test")
      throw new DataError(loc, "split", `must be "train" or "test", got "${split}"`);
    const textOf = context ? `Context: ${context}\n\nQuestion: ${query}` : query;
    const id = str("id", false) ?? queryId(dataset, task, textOf, split);
    const dup = seen.get(id);
    if (dup !== undefined) throw new DataError(loc, "id", `duplicate query (same id as line ${dup})`);
    seen.set(id, line);
    out.push({
      id,
      dataset,
      task,
      domain: domainOfTask(task),
      text: textOf,
      groundTruth,
      metric,
      choices,
      split: (split as Split | null) ?? null,
      loc,
    });
  }
  if (!out.length) throw new DataError({ file, line: 1 }, null, "the task file holds no queries");
  return out;
}
