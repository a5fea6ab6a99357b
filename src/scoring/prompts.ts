import { type PyValue, parsePyLiteral } from "../data/importers/pyliteral.ts";
import type { Mode, Query } from "../data/types.ts";
import { canonicalMetric, isHumanEval } from "./score.ts";

/**
 * FusionBench prompt formats, per task type, so that answers come back in the shape the metric reads:
 * multiple choice answers as "(X)", maths inside \boxed{}, code between [BEGIN] and [DONE], reading tasks
 * with their context. The "think" mode appends the step-by-step cue FusionBench's `_think` candidates got.
 */

export const THINK_CUE = "Let's think step by step.";

export interface PromptItem {
  task: string;
  metric: string;
  query: string;
  /** Choices as JSON or Python-literal text: a list, or {text: [...], label(s): [...]}. */
  choices?: string | null;
  /** Passage for reading-comprehension tasks. */
  context?: string | null;
  /** Code tasks: MBPP's tests are shown in the prompt. */
  groundTruth?: string | null;
  taskId?: string | null;
}

/** Parsed answer options as (label, text) pairs; null when the text is not a recognised choices value. */
export function parseChoices(raw: string | null | undefined): Array<{ label: string; text: string }> | null {
  if (!raw?.trim()) return null;
  let v: PyValue;
  try {
    v = parsePyLiteral(raw);
  } catch {
    return null;
  }
  const letters = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  if (Array.isArray(v)) {
    const texts = v.map(String);
    return letters(texts.length).map((label, i) => ({ label, text: texts[i] as string }));
  }
  if (v && typeof v === "object" && Array.isArray(v.text)) {
    const texts = v.text.map(String);
    const given = (Array.isArray(v.label) ? v.label : Array.isArray(v.labels) ? v.labels : null)?.map(String);
    const labels = given && given.length === texts.length ? given : letters(texts.length);
    return labels.map((label, i) => ({ label, text: texts[i] as string }));
  }
  return null;
}

function mbppTests(groundTruth: string | null | undefined): string {
  if (!groundTruth) return "";
  try {
    const v = parsePyLiteral(groundTruth);
    if (Array.isArray(v)) return v.map(String).join("\n");
  } catch {
    // plain assert lines
  }
  return groundTruth;
}

function withThink(prompt: string, mode: Mode): string {
  return mode === "think" ? `${prompt}\n\n${THINK_CUE}` : prompt;
}

/** The user message for one query in one mode. */
export function formatPrompt(item: PromptItem, mode: Mode): string {
  const metric = canonicalMetric(item.metric);
  switch (metric) {
    case "em_mc": {
      const choices = parseChoices(item.choices);
      const options = choices ? `\n\nOptions:\n${choices.map((c) => `(${c.label}) ${c.text}`).join("\n")}` : "";
      return withThink(
        "Answer the following multiple-choice question by selecting the correct option. " +
          "You must put your final answer letter in parentheses, like (A).\n\n" +
          `Question: ${item.query}${options}`,
        mode,
      );
    }
    case "math":
      return withThink(
        "Answer the following question. Put the final answer (and only the answer) inside \\boxed{}.\n\n" +
          `Question: ${item.query}`,
        mode,
      );
    case "gsm8k":
      return withThink(`Answer the following question.\n\nQuestion: ${item.query}`, mode);
    case "code_eval":
      if (isHumanEval({ ...item, groundTruth: item.groundTruth ?? null }))
        return withThink(
          "You are an expert Python programmer. Complete the following function:\n\n" +
            `${item.query}\n\n` +
            "Write the function body only; do not repeat the signature or the docstring. " +
            "Put the code in this format: [BEGIN] <your code> [DONE]",
          mode,
        );
      return withThink(
        `You are an expert Python programmer, and here is your task: ${item.query} ` +
          `Your code should pass these tests:\n\n${mbppTests(item.groundTruth)}\n\n` +
          "Implement the function (no irrelevant words or comments) in this format: [BEGIN] <your code> [DONE]",
        mode,
      );
    case "f1_tagged":
      return withThink(
        `Answer the following question. Put your final answer inside <answer></answer> tags.\n\nQuestion: ${item.query}`,
        mode,
      );
    case "commongen_coverage":
      return withThink(`Write one coherent sentence that uses all of the following concepts: ${item.query}`, mode);
    default:
      if (item.context)
        return withThink(
          `Use the following context to answer the question.\n\n## Context:\n${item.context}\n\n## Question:\n${item.query}`,
          mode,
        );
      return withThink(item.query, mode);
  }
}

/** The prompt a stored query is asked with (and its stored responses answered): its task's format, in `mode`. */
export function queryPrompt(q: Query, mode: Mode): string {
  return formatPrompt(
    { task: q.task, metric: q.metric ?? "", query: q.text, choices: q.choices, groundTruth: q.groundTruth },
    mode,
  );
}
