/**
 * The chat interface every LLM caller uses (collect, judge, thought templates, the gateway).
 * Production implementation: the `openai` package against any OpenAI-compatible base URL.
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
  /** Extra OpenAI body fields passed through unchanged. */
  extra?: Record<string, unknown>;
}

export interface ChatResult {
  model: string;
  content: string;
  inputTokens: number;
  outputTokens: number;
  /** USD from the model's prices. */
  cost: number;
  latencyMs: number;
  /** True when served from the response cache or the replay provider. */
  cached: boolean;
  finishReason: string | null;
}

export interface ChatClient {
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult>;
}
