/**
 * The chat interface every LLM caller uses (collect, judge, thought templates, the gateway).
 * Production implementation: the `openai` package against any OpenAI-compatible base URL (client.ts);
 * offline implementation: answers recorded in the store (replay.ts).
 */

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

export interface ChatRequest {
  /** FusionKit model name (resolved to provider + upstream id by the providers file). */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Extra OpenAI body fields passed through unchanged (top_p, stop, tools, ...); part of the cache key. */
  extra?: Record<string, unknown>;
  /** Skip the response cache for this call (read and write). */
  noCache?: boolean;
}

export interface ChatResult {
  model: string;
  content: string;
  inputTokens: number;
  outputTokens: number;
  /** USD for this answer from the model's prices (also for cached answers: it is the answer's price, not a payment). */
  cost: number;
  latencyMs: number;
  /** True when served from the response cache or the replay provider: nothing was paid for it now. */
  cached: boolean;
  finishReason: string | null;
  /** The upstream JSON body (non-streaming) or the last chunk (streaming), for callers that forward extra fields. */
  raw?: unknown;
}

/** What a streamed call yields: text deltas as they arrive, then exactly one final result. */
export type ChatStreamEvent =
  | { type: "delta"; content: string /** The upstream chunk as received (tool-call deltas etc.). */; raw?: unknown }
  | { type: "done"; result: ChatResult };

export interface ChatClient {
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult>;
  /**
   * Streaming variant. Retries happen only before the first delta; a failure after that is thrown
   * to the consumer (the text already yielded cannot be taken back).
   */
  chatStream(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatStreamEvent>;
}
