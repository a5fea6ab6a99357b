import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import type { Query } from "../data/types.ts";
import { cached } from "../embed/cache.ts";
import { LlmError } from "../llm/errors.ts";
import type { ChatClient, ChatMessage } from "../llm/types.ts";
import { forEachConcurrently } from "../util/concurrent.ts";
import { progress } from "../util/progress.ts";
import { type TemplateIndex, templatePrompt } from "./retrieve.ts";

/**
 * `thought eval`: the same model answers each test query twice — with the task prompt alone, and with the
 * top-k retrieved thought templates as guidance — and both answers are scored with the task's metric.
 * The difference per task is the templates' effect for that model.
 */
export interface EvalOptions {
  dataset: string;
  model: string;
  client: ChatClient;
  index: TemplateIndex;
  k: number;
  /** The task prompt for a query (prompt format around the query text). */
  promptOf: (q: Query) => string;
  /** Score in [0,1]; throws UsageError when the query cannot be scored (e.g. code execution not allowed). */
  score: (q: Query, response: string) => Promise<number>;
  /** At most this many test queries per task (first by store order). */
  limitPerTask?: number;
  concurrency: number;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface EvalRow {
  queryId: string;
  task: string;
  templates: string[];
  without: { score: number; cost: number; response: string };
  with: { score: number; cost: number; response: string };
}

export interface TaskEval {
  n: number;
  without: number;
  with: number;
  delta: number;
  costWithout: number;
  costWith: number;
  /** Queries where templates turned a wrong answer right, and right into wrong (for binary metrics). */
  helped: number;
  hurt: number;
}

export interface EvalReport {
  dataset: string;
  model: string;
  set: string;
  k: number;
  perTask: Record<string, TaskEval>;
  overall: TaskEval;
  /** Tasks left out, with the reason (e.g. code execution not allowed). */
  skippedTasks: Record<string, string>;
  /** Queries left out because a model call failed after its retries (the first few reasons kept). */
  failedCalls: number;
  failures: Array<{ queryId: string; error: string }>;
  rows: EvalRow[];
}

function summarise(rows: EvalRow[]): TaskEval {
  const n = rows.length;
  const sum = (f: (r: EvalRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  const without = n ? sum((r) => r.without.score) / n : Number.NaN;
  const withT = n ? sum((r) => r.with.score) / n : Number.NaN;
  return {
    n,
    without,
    with: withT,
    delta: withT - without,
    costWithout: sum((r) => r.without.cost),
    costWith: sum((r) => r.with.cost),
    helped: rows.filter((r) => r.with.score > r.without.score).length,
    hurt: rows.filter((r) => r.with.score < r.without.score).length,
  };
}

export async function evalTemplates(store: Store, set: string, opts: EvalOptions): Promise<EvalReport> {
  let test = store.queries({ dataset: opts.dataset, split: "test" });
  if (test.length === 0)
    throw new UsageError(`dataset "${opts.dataset}" has no test split; run "fusionkit split" first`);
  if (opts.limitPerTask !== undefined) {
    const seen = new Map<string, number>();
    test = test.filter((q) => {
      const n = seen.get(q.task) ?? 0;
      seen.set(q.task, n + 1);
      return n < (opts.limitPerTask as number);
    });
  }
  const vectors = await cached(opts.index.embedder, store).embed(test.map((q) => q.text));
  const skippedTasks: Record<string, string> = {};
  let rows: EvalRow[] = [];
  let failedCalls = 0;
  const failures: EvalReport["failures"] = [];
  const bar = progress(`thought eval (${opts.model})`, test.length);
  const ask = async (messages: ChatMessage[]) =>
    opts.client.chat(
      { model: opts.model, messages, temperature: opts.temperature ?? 0, maxTokens: opts.maxTokens },
      opts.signal,
    );
  let finished = 0;
  const evaluate = async (q: Query, i: number) => {
    if (skippedTasks[q.task] === undefined) {
      const templates = opts.index.nearest(vectors[i] as Float32Array, q.task, opts.k, q.id);
      const base = opts.promptOf(q);
      let plain: Awaited<ReturnType<typeof ask>>;
      let guided: Awaited<ReturnType<typeof ask>>;
      try {
        [plain, guided] = await Promise.all([ask(templatePrompt(base, [])), ask(templatePrompt(base, templates))]);
      } catch (e) {
        // A call that failed for good on this query only: leave the query out and go on; a fatal one ends the run.
        if (!(e instanceof LlmError) || e.fatal) throw e;
        failedCalls++;
        if (failures.length < 10) failures.push({ queryId: q.id, error: e.message });
        bar.update(++finished);
        return;
      }
      try {
        const [s0, s1] = [await opts.score(q, plain.content), await opts.score(q, guided.content)];
        rows.push({
          queryId: q.id,
          task: q.task,
          templates: templates.map((t) => t.queryId),
          without: { score: s0, cost: plain.cost, response: plain.content },
          with: { score: s1, cost: guided.cost, response: guided.content },
        });
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        skippedTasks[q.task] = e.message;
      }
    }
    bar.update(++finished);
  };
  try {
    await forEachConcurrently(test, opts.concurrency, evaluate, opts.signal);
  } finally {
    bar.stop();
  }
  rows = rows.filter((r) => skippedTasks[r.task] === undefined);
  rows.sort((a, b) => a.task.localeCompare(b.task) || a.queryId.localeCompare(b.queryId));
  const tasks = [...new Set(rows.map((r) => r.task))].sort();
  return {
    dataset: opts.dataset,
    model: opts.model,
    set,
    k: opts.k,
    perTask: Object.fromEntries(tasks.map((t) => [t, summarise(rows.filter((r) => r.task === t))])),
    overall: summarise(rows),
    skippedTasks,
    failedCalls,
    failures,
    rows,
  };
}
