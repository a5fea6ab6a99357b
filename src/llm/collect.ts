import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import type { Mode, Query } from "../data/types.ts";
import { queryPrompt } from "../scoring/prompts.ts";
import { canonicalMetric, type ScoreOptions, scoreResponse } from "../scoring/score.ts";
import { LlmError } from "./errors.ts";
import { type ProvidersConfig, resolveModel } from "./providers.ts";
import type { ChatClient } from "./types.ts";

/**
 * Routing-data collection: every (query, model, mode) without a stored outcome is asked, scored and stored.
 * Each finished outcome is its own SQLite commit, so a crash (even kill -9) loses only the calls in flight and
 * a rerun skips what is stored. Calls run in one worker pool per provider, sized by the provider's
 * maxConcurrency. The spend cap stops new calls once reached; calls in flight finish and are stored.
 */

export interface CollectOptions {
  store: Store;
  client: ChatClient;
  providers: ProvidersConfig;
  queries: Query[];
  models: string[];
  modes: Mode[];
  /** Stop starting calls once this much USD has been spent (cache hits are free). */
  maxUsd?: number;
  /** Per-provider worker cap (default: each provider's maxConcurrency). */
  concurrency?: number;
  temperature?: number;
  maxTokens?: number;
  scoring?: ScoreOptions;
  onProgress?: (p: CollectProgress) => void;
  /** Called for each failed call that does not stop the run. */
  onFailure?: (job: { queryId: string; model: string; mode: Mode }, error: Error) => void;
  signal?: AbortSignal;
}

export interface CollectProgress {
  total: number;
  skipped: number;
  done: number;
  cached: number;
  failed: number;
  spentUsd: number;
  elapsedMs: number;
}

export interface CollectSummary extends CollectProgress {
  /** Why the run ended early, if it did: "spend cap", or the fatal error's message. */
  stoppedBy: string | null;
  /** Outcomes still missing (failed, not started because of the cap, or lost to a fatal error). */
  remaining: number;
}

interface Job {
  query: Query;
  model: string;
  mode: Mode;
}

export async function collect(opts: CollectOptions): Promise<CollectSummary> {
  const { store, client, providers, queries, models, modes } = opts;
  for (const m of models) resolveModel(providers, m);
  if (!opts.scoring?.allowCodeExec) {
    const code = queries.find((q) => canonicalMetric(q.metric) === "code_eval");
    if (code)
      throw new UsageError(
        `task "${code.task}" is scored with code_eval, which runs model-written code on this machine; ` +
          "pass --allow-code-exec to enable it (see README: what its isolation does not protect against)",
      );
  }

  const exists = store.db.prepare<[string, string, string], { n: number }>(
    "SELECT 1 AS n FROM outcomes WHERE query_id = ? AND model = ? AND mode = ?",
  );
  const insert = store.db.prepare(
    `INSERT OR IGNORE INTO outcomes (query_id, model, mode, response, performance, input_tokens, output_tokens, cost, judge, latency_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
  );

  // Jobs grouped by provider; within a provider query-major so each query fills up across models.
  const byProvider = new Map<string, Job[]>();
  let skipped = 0;
  for (const query of queries)
    for (const model of models)
      for (const mode of modes) {
        if (exists.get(query.id, model, mode)) {
          skipped++;
          continue;
        }
        const p = resolveModel(providers, model).provider.name;
        const list = byProvider.get(p) ?? [];
        list.push({ query, model, mode });
        byProvider.set(p, list);
      }

  const started = Date.now();
  const state: CollectProgress = {
    total: queries.length * models.length * modes.length,
    skipped,
    done: 0,
    cached: 0,
    failed: 0,
    spentUsd: 0,
    elapsedMs: 0,
  };
  let stoppedBy: string | null = null;
  let fatal: Error | null = null;
  const report = () => opts.onProgress?.({ ...state, elapsedMs: Date.now() - started });

  const runJob = async (job: Job): Promise<void> => {
    const prompt = queryPrompt(job.query, job.mode);
    const result = await client.chat(
      {
        model: job.model,
        messages: [{ role: "user", content: prompt }],
        temperature: opts.temperature ?? 0,
        maxTokens: opts.maxTokens,
      },
      opts.signal,
    );
    if (!result.cached) state.spentUsd += result.cost;
    else state.cached++;
    const score = await scoreResponse(
      {
        task: job.query.task,
        metric: job.query.metric ?? "",
        query: job.query.text,
        groundTruth: job.query.groundTruth ?? null,
      },
      result.content,
      opts.scoring,
    );
    insert.run(
      job.query.id,
      job.model,
      job.mode,
      result.content,
      score.score,
      result.inputTokens,
      result.outputTokens,
      result.cost,
      result.latencyMs,
    );
    state.done++;
  };

  const worker = async (jobs: Job[]): Promise<void> => {
    for (;;) {
      if (fatal || opts.signal?.aborted) return;
      if (opts.maxUsd !== undefined && state.spentUsd >= opts.maxUsd) {
        stoppedBy ??= "spend cap";
        return;
      }
      const job = jobs.shift();
      if (!job) return;
      try {
        await runJob(job);
      } catch (e) {
        if ((e instanceof LlmError && e.fatal) || e instanceof UsageError) {
          fatal ??= e as Error;
          return;
        }
        if (opts.signal?.aborted) return;
        state.failed++;
        opts.onFailure?.({ queryId: job.query.id, model: job.model, mode: job.mode }, e as Error);
      }
      report();
    }
  };

  const pools: Promise<void>[] = [];
  for (const [provider, jobs] of byProvider) {
    const limit = providers.providers.get(provider)?.maxConcurrency ?? 1;
    const size = Math.max(1, Math.min(limit, opts.concurrency ?? limit, jobs.length));
    for (let i = 0; i < size; i++) pools.push(worker(jobs));
  }
  await Promise.all(pools);
  if (fatal) stoppedBy = (fatal as Error).message;
  const remaining = state.total - state.skipped - state.done;
  return { ...state, elapsedMs: Date.now() - started, stoppedBy, remaining };
}
