import { DataError } from "./errors.ts";
import { gpt2Tokens } from "./tokens.ts";
import type { Model, SourceLoc } from "./types.ts";

/** USD cost of one answer: tokens × price, prices in USD per 1M tokens (FusionBench convention). */
export function costOf(inputPrice: number, outputPrice: number, inputTokens: number, outputTokens: number): number {
  return (inputTokens * inputPrice + outputTokens * outputPrice) / 1e6;
}

/**
 * Cost when the source gives none. A model without a price is an error naming the model —
 * never a silent $0. When the source counts no tokens either, `estimate` (if given) counts them.
 */
export function computeCost(
  model: Model,
  inputTokens: number | null,
  outputTokens: number | null,
  loc: SourceLoc | null,
  estimate?: () => { inputTokens: number; outputTokens: number },
): number {
  if (model.inputPrice === null || model.outputPrice === null)
    throw new DataError(
      loc,
      "cost",
      `no cost given and model "${model.name}" has no price (input/output USD per 1M tokens)`,
    );
  if (inputTokens === null && outputTokens === null && estimate) {
    const e = estimate();
    return costOf(model.inputPrice, model.outputPrice, e.inputTokens, e.outputTokens);
  }
  if (inputTokens === null || outputTokens === null)
    throw new DataError(loc, "cost", `no cost given and no token counts to compute it for model "${model.name}"`);
  return costOf(model.inputPrice, model.outputPrice, inputTokens, outputTokens);
}

/**
 * Token counts of an answer whose source gives none, with the GPT-2 BPE (as FusionBench costed): the query
 * text in, the response out (0 without a response, so the cost is then the prompt's alone).
 */
export function estimatedTokens(
  queryText: string,
  response: string | null,
): { inputTokens: number; outputTokens: number } {
  return { inputTokens: gpt2Tokens(queryText), outputTokens: response ? gpt2Tokens(response) : 0 };
}
