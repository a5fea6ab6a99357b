/**
 * Comparable answers: what a response says, extracted with the task's metric, so that two models'
 * answers can be checked for agreement (cascades accept when cheap answers agree; votes count them).
 *
 * The extraction is the scoring code's own (text-metrics.ts, math-answer.ts): the letter em_mc scores, the
 * number gsm8k scores, the `\boxed{}` math scores, the `<answer>` tag f1_tagged scores. Short-answer text
 * metrics (cem, em, f1) keep the SQuAD-normalised text and compare it by token F1, since two correct
 * answers rarely match word for word ("1992" vs "It was released in 1992"). Anything else (code,
 * CommonGen sentences, unknown metrics) is free text, compared by the cosine of response embeddings.
 */
import { dot } from "../embed/embedder.ts";
import { lastBoxed, normalizeMathAnswer, unbox } from "./math-answer.ts";
import { canonicalMetric } from "./score.ts";
import { answerTagContent, f1, lastChoice, lastNumber, normalizeAnswer } from "./text-metrics.ts";

/**
 * - `exact`: a canonical key (choice letter, number, normalised math); equal keys agree.
 * - `text`: normalised short text; agrees when token F1 ≥ the text threshold.
 * - `free`: the raw response; agrees when the cosine of the two response embeddings ≥ the free threshold.
 * `null` (no answer found, e.g. no `(X)` in a multiple-choice reply) never agrees with anything.
 */
export type Answer = { kind: "exact"; key: string } | { kind: "text"; text: string } | { kind: "free"; text: string };

/** How a metric's answers are compared. */
export type AnswerKind = Answer["kind"];

export function answerKindOf(metric: string | null | undefined): AnswerKind {
  switch (canonicalMetric(metric)) {
    case "em_mc":
    case "gsm8k":
    case "math":
      return "exact";
    case "cem":
    case "em":
    case "f1":
    case "f1_tagged":
      return "text";
    default:
      return "free";
  }
}

/** The comparable answer of one response under a metric; null when the response holds none. */
export function extractAnswer(metric: string | null | undefined, response: string | null | undefined): Answer | null {
  if (response === null || response === undefined || response.trim() === "") return null;
  switch (canonicalMetric(metric)) {
    case "em_mc": {
      const letter = lastChoice(response);
      return letter ? { kind: "exact", key: letter.replace(/[()]/g, "") } : null;
    }
    case "gsm8k": {
      const n = lastNumber(response);
      // The gsm8k metric's own key ("," "$" "." dropped): two answers agree when the metric cannot tell them apart.
      return n ? { kind: "exact", key: n } : null;
    }
    case "math": {
      const boxed = lastBoxed(response);
      if (boxed === null) return null;
      const key = normalizeMathAnswer(unbox(boxed));
      return key ? { kind: "exact", key } : null;
    }
    case "f1_tagged": {
      const tagged = answerTagContent(response);
      const text = tagged === null ? "" : normalizeAnswer(tagged);
      return text ? { kind: "text", text } : null;
    }
    case "cem":
    case "em":
    case "f1": {
      const text = normalizeAnswer(response);
      return text ? { kind: "text", text } : null;
    }
    default:
      return { kind: "free", text: response };
  }
}

export interface AgreementThresholds {
  /** Token F1 at or above which two `text` answers agree. */
  text: number;
  /** Cosine at or above which two `free` answers (their response embeddings) agree. */
  free: number;
}

/**
 * Defaults, checked on the bundled RouteProfile train split (test/scoring/answers.test.ts measures how
 * often agreeing answers are both right): token F1 ≥ 0.5 is SQuAD's usual "same answer" line, cosine
 * ≥ 0.9 of hashed n-gram vectors is near-identical text. Cascades can override both per task.
 */
export const DEFAULT_AGREEMENT: AgreementThresholds = { text: 0.5, free: 0.9 };

/**
 * Similarity of two answers in [0,1]: 1/0 for exact keys, token F1 for short text, cosine of the response
 * embeddings `va`/`vb` (unit vectors) for free text; NaN when either has no answer (or free text has no
 * embedding).
 */
export function answerSimilarity(
  a: Answer | null,
  b: Answer | null,
  va?: Float32Array | null,
  vb?: Float32Array | null,
): number {
  if (a === null || b === null || a.kind !== b.kind) return Number.NaN;
  if (a.kind === "exact") return a.key === (b as { key: string }).key ? 1 : 0;
  if (a.kind === "text") {
    const bt = (b as { text: string }).text;
    return a.text === bt ? 1 : f1(a.text, bt);
  }
  if (!va || !vb || va.length !== vb.length) return Number.NaN;
  return Math.max(0, Math.min(1, dot(va, vb)));
}

/** The similarity at or above which two answers of a kind agree. */
export function agreementThreshold(kind: AnswerKind, th: AgreementThresholds): number {
  return kind === "exact" ? 1 : kind === "text" ? th.text : th.free;
}

/** True when two answers say the same thing (see answerSimilarity for `va`/`vb`). */
export function answersAgree(
  a: Answer | null,
  b: Answer | null,
  thresholds: AgreementThresholds = DEFAULT_AGREEMENT,
  va?: Float32Array | null,
  vb?: Float32Array | null,
): boolean {
  const s = answerSimilarity(a, b, va, vb);
  return !Number.isNaN(s) && s >= agreementThreshold((a as Answer).kind, thresholds) - 1e-6;
}
