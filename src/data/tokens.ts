import { countTokens } from "gpt-tokenizer/encoding/r50k_base";

/**
 * Token count with the GPT-2 BPE (r50k_base), the tokenizer FusionBench used for its cost column,
 * so costs we estimate are comparable with the published ones.
 */
export function gpt2Tokens(text: string): number {
  return countTokens(text);
}
