import { createHash } from "node:crypto";

export function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/**
 * Stable query id from (dataset, task, text, source split): re-importing the same query maps to the same row.
 * The source's split is part of the identity because published sets repeat queries across splits with
 * different outcomes (LLMRouter: 119 of its 500 test queries also occur in train, re-answered).
 */
export function queryId(dataset: string, task: string, text: string, split: string | null = null): string {
  return sha1(`${dataset}\u0000${task}\u0000${text}${split ? `\u0000${split}` : ""}`).slice(0, 16);
}
