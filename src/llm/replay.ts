import type { Store } from "../data/store.ts";
import { gpt2Tokens } from "../data/tokens.ts";
import { parseCandidateKey } from "../data/types.ts";
import { LlmError } from "./errors.ts";
import type { ChatClient, ChatRequest, ChatResult, ChatStreamEvent } from "./types.ts";

export interface ReplayOptions {
  /** Only answer from this dataset's queries (default: every dataset in the store). */
  dataset?: string;
}

interface Row {
  response: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost: number;
  latency_ms: number | null;
}

/** Shortest stored query text that may be matched by containment (shorter texts match too much by accident). */
const MIN_CONTAINED = 12;

/**
 * A ChatClient that answers with responses recorded in the store, so pipelines run end to end offline on real
 * model outputs. The model is a candidate key ("qwen2.5-7b-instruct" or "qwen2.5-7b-instruct_think" for the
 * think mode); the query is found from the last user message: a stored query with exactly that text, else the
 * longest stored query text contained in it (prompts wrap the query in instructions).
 */
export class ReplayChatClient implements ChatClient {
  private byText: Map<string, string[]> | null = null;
  private longestFirst: Array<{ text: string; ids: string[] }> = [];

  constructor(
    private readonly store: Store,
    private readonly options: ReplayOptions = {},
  ) {}

  private index(): Map<string, string[]> {
    if (this.byText) return this.byText;
    const map = new Map<string, string[]>();
    for (const q of this.store.queries({ dataset: this.options.dataset })) {
      const key = q.text.trim();
      const ids = map.get(key) ?? [];
      ids.push(q.id);
      map.set(key, ids);
    }
    this.byText = map;
    this.longestFirst = [...map]
      .filter(([text]) => text.length >= MIN_CONTAINED)
      .map(([text, ids]) => ({ text, ids }))
      .sort((a, b) => b.text.length - a.text.length);
    return map;
  }

  /** Query ids whose text the prompt is or contains, best match first. */
  private candidates(prompt: string): string[] {
    const map = this.index();
    const exact = map.get(prompt.trim());
    if (exact) return exact;
    const out: string[] = [];
    for (const { text, ids } of this.longestFirst) if (prompt.includes(text)) out.push(...ids);
    return out;
  }

  private lookup(req: ChatRequest): ChatResult {
    const { model, mode } = parseCandidateKey(req.model);
    const prompt = [...req.messages].reverse().find((m) => m.role === "user")?.content ?? "";
    const ids = this.candidates(prompt);
    const get = this.store.db.prepare<[string, string, string], Row>(
      "SELECT response, input_tokens, output_tokens, cost, latency_ms FROM outcomes WHERE query_id = ? AND model = ? AND mode = ?",
    );
    for (const id of ids) {
      const row = get.get(id, model, mode);
      if (!row || row.response === null) continue;
      return {
        model: req.model,
        content: row.response,
        inputTokens: row.input_tokens ?? gpt2Tokens(prompt),
        outputTokens: row.output_tokens ?? gpt2Tokens(row.response),
        cost: row.cost,
        latencyMs: row.latency_ms ?? 0,
        cached: true,
        finishReason: "stop",
      };
    }
    const where = `${this.store.path}${this.options.dataset ? ` (dataset ${this.options.dataset})` : ""}`;
    const what = ids.length
      ? `the query was found (${ids.length} match${ids.length > 1 ? "es" : ""}) but has no recorded response of`
      : "no stored query matches this prompt for";
    throw new LlmError(
      `replay: ${what} model "${model}" in ${mode} mode in ${where}; prompt starts ${JSON.stringify(prompt.slice(0, 80))}`,
      { status: null },
    );
  }

  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    signal?.throwIfAborted();
    return this.lookup(req);
  }

  async *chatStream(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    signal?.throwIfAborted();
    const result = this.lookup(req);
    for (const piece of result.content.match(/\S+\s*|\s+/g) ?? []) {
      signal?.throwIfAborted();
      yield { type: "delta", content: piece };
    }
    yield { type: "done", result };
  }
}
