import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";

/** Token estimate for upstreams that report no usage (cl100k, the common chat tokenizer). */
export function estimateTokens(text: string): number {
  return text ? countTokens(text) : 0;
}
