import type { ModelConfig } from "../llm/providers.ts";
import { byteBound, contentText, hasImages, type WireMessage } from "./conversation.ts";
import { estimateTokens } from "./tokens.ts";

/**
 * Capability filters applied before ranking: a candidate must fit the prompt (plus the requested output
 * budget) in its context window, and support tools or image input when the request uses them. Exact token
 * counting (gpt-tokenizer, cl100k) only runs when the cheap byte bound does not already prove the prompt fits.
 */

export interface Needs {
  tools: boolean;
  images: boolean;
  /** Requested completion budget (max_tokens / max_completion_tokens), 0 when not given. */
  maxOutput: number;
  messages: readonly WireMessage[];
  bytes: number;
  tokens: number | null;
}

export function needsOf(body: Record<string, unknown>, messages: readonly WireMessage[]): Needs {
  const tools =
    (Array.isArray(body.tools) && body.tools.length > 0) ||
    (Array.isArray(body.functions) && body.functions.length > 0);
  const out = Number(body.max_completion_tokens ?? body.max_tokens ?? 0);
  return {
    tools,
    images: hasImages(messages),
    maxOutput: Number.isFinite(out) && out > 0 ? out : 0,
    messages,
    bytes: byteBound(messages),
    tokens: null,
  };
}

/** Prompt tokens as chat models count them (content tokens + ~4 per message of role/format overhead). */
export function promptTokens(needs: Needs): number {
  if (needs.tokens === null) {
    let n = 3;
    for (const m of needs.messages) n += 4 + estimateTokens(contentText(m.content));
    needs.tokens = n;
  }
  return needs.tokens;
}

/** Null when `model` can serve the request, else the reason it cannot. */
export function unfit(model: ModelConfig, needs: Needs): string | null {
  if (needs.tools && !model.capabilities.tools) return "does not support tools";
  if (needs.images && !model.capabilities.images) return "does not accept images";
  const ctx = model.contextLength;
  if (ctx !== undefined && needs.bytes + needs.maxOutput > ctx) {
    const need = promptTokens(needs) + needs.maxOutput;
    if (need > ctx)
      return `context ${ctx} tokens < ${need} needed (${promptTokens(needs)} prompt${needs.maxOutput ? ` + ${needs.maxOutput} max output` : ""})`;
  }
  return null;
}
