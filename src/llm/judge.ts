import type { Store } from "../data/store.ts";
import type { Mode } from "../data/types.ts";
import { LlmError } from "./errors.ts";
import type { ChatClient } from "./types.ts";

/**
 * LLM judge with FusionFactory's rubric: a judge model grades a stored response against the query and its
 * ground truth, answering a score in <answer></answer> tags (clamped to [0,1]). The verdict of every judged
 * response is kept in `judge_results` (status "ok" with the score, or "unparseable" with the raw text — an
 * unreadable verdict is not a 0); "ok" scores are also written to outcomes.judge, which distillation and
 * thought templates read. The table is migration 9 (data/migrations.ts).
 */

export function judgePrompt(query: string, groundTruth: string, response: string): string {
  return `You are an expert judge of the quality of an AI model's response. Consider:
1. Correctness: is the answer right according to the ground truth?
2. Reasoning: does the response show clear reasoning and explanation?
3. Training value: is the response well structured and suitable for supervised fine-tuning?

Query: ${query}
Ground truth: ${groundTruth}
Response: ${response}

Give one score between 0 and 1:
- 0: incorrect answer
- 0.3: correct answer with minimal reasoning
- 0.6: correct answer with some reasoning
- 0.8: correct answer with good reasoning
- 1.0: correct answer with excellent reasoning, well suited for training

Reply with the score in this format: <answer>SCORE</answer>`;
}

export type Verdict = { status: "ok"; score: number } | { status: "unparseable" };

/**
 * The score in the judge's last <answer> tag (reasoning inside <think> blocks ignored), clamped to [0,1];
 * "unparseable" when there is no tag or its content is not a number.
 */
export function parseVerdict(text: string): Verdict {
  const visible = text.replace(/<think>[\s\S]*?<\/think>/gi, "");
  const tags = [...visible.matchAll(/<answer>([\s\S]*?)<\/answer>/gi)];
  if (!tags.length) return { status: "unparseable" };
  const inner = ((tags.at(-1) as RegExpMatchArray)[1] ?? "").trim();
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(inner)) return { status: "unparseable" };
  const score = Number(inner);
  if (!Number.isFinite(score)) return { status: "unparseable" };
  return { status: "ok", score: Math.min(1, Math.max(0, score)) };
}

export interface JudgeOptions {
  store: Store;
  client: ChatClient;
  judgeModel: string;
  dataset?: string;
  /** Judge at most this many responses (in store order). */
  limit?: number;
  concurrency?: number;
  /** Judge again responses whose earlier verdict was unparseable. */
  retryUnparseable?: boolean;
  maxTokens?: number;
  onProgress?: (p: JudgeProgress) => void;
  onFailure?: (item: { queryId: string; model: string; mode: Mode }, error: Error) => void;
  signal?: AbortSignal;
}

export interface JudgeProgress {
  total: number;
  done: number;
  ok: number;
  unparseable: number;
  failed: number;
  /** Responses that already have a verdict from this judge. */
  skipped: number;
  spentUsd: number;
  elapsedMs: number;
}

export interface JudgeSummary extends JudgeProgress {
  stoppedBy: string | null;
}

interface Pending {
  query_id: string;
  model: string;
  mode: Mode;
  response: string;
  text: string;
  ground_truth: string | null;
}

export async function judge(opts: JudgeOptions): Promise<JudgeSummary> {
  const { store, client, judgeModel } = opts;
  const skipStatuses = opts.retryUnparseable ? "('ok')" : "('ok', 'unparseable')";
  const params: unknown[] = [judgeModel];
  let where = "o.response IS NOT NULL";
  if (opts.dataset) {
    where += " AND q.dataset = ?";
    params.push(opts.dataset);
  }
  const all = store.db
    .prepare<unknown[], Pending & { judged: number }>(
      `SELECT o.query_id, o.model, o.mode, o.response, q.text, q.ground_truth,
              (j.status IS NOT NULL AND j.status IN ${skipStatuses}) AS judged
       FROM outcomes o JOIN queries q ON q.id = o.query_id
       LEFT JOIN judge_results j ON j.query_id = o.query_id AND j.model = o.model AND j.mode = o.mode AND j.judge_model = ?
       WHERE ${where} ORDER BY q.rowid, o.model, o.mode`,
    )
    .all(...params);
  const scoped = opts.limit !== undefined ? all.slice(0, opts.limit) : all;
  const todo = scoped.filter((r) => !r.judged);
  const record = store.db.prepare(
    `INSERT OR REPLACE INTO judge_results (query_id, model, mode, judge_model, status, score, raw, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setJudge = store.db.prepare("UPDATE outcomes SET judge = ? WHERE query_id = ? AND model = ? AND mode = ?");
  const save = store.db.transaction((p: Pending, verdict: Verdict, raw: string) => {
    const score = verdict.status === "ok" ? verdict.score : null;
    record.run(p.query_id, p.model, p.mode, judgeModel, verdict.status, score, raw, new Date().toISOString());
    if (score !== null) setJudge.run(score, p.query_id, p.model, p.mode);
  });

  const started = Date.now();
  const state: JudgeProgress = {
    total: scoped.length,
    done: 0,
    ok: 0,
    unparseable: 0,
    failed: 0,
    skipped: scoped.length - todo.length,
    spentUsd: 0,
    elapsedMs: 0,
  };
  let fatal: Error | null = null;
  const worker = async () => {
    for (;;) {
      if (fatal || opts.signal?.aborted) return;
      const p = todo.shift();
      if (!p) return;
      try {
        const r = await client.chat(
          {
            model: judgeModel,
            messages: [{ role: "user", content: judgePrompt(p.text, p.ground_truth ?? "(none given)", p.response) }],
            temperature: 0.1,
            maxTokens: opts.maxTokens,
            // A cached unreadable verdict would come back unchanged: ask afresh when retrying those.
            noCache: opts.retryUnparseable === true,
          },
          opts.signal,
        );
        if (!r.cached) state.spentUsd += r.cost;
        const verdict = parseVerdict(r.content);
        save(p, verdict, r.content);
        state.done++;
        if (verdict.status === "ok") state.ok++;
        else state.unparseable++;
      } catch (e) {
        if (e instanceof LlmError && e.fatal) {
          fatal ??= e;
          return;
        }
        if (opts.signal?.aborted) return;
        state.failed++;
        opts.onFailure?.({ queryId: p.query_id, model: p.model, mode: p.mode }, e as Error);
      }
      opts.onProgress?.({ ...state, elapsedMs: Date.now() - started });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 8, todo.length)) }, worker));
  return { ...state, elapsedMs: Date.now() - started, stoppedBy: fatal ? (fatal as Error).message : null };
}
