/**
 * The routing-data model (FusionBench-compatible).
 * A query is answered by a candidate — a (model, mode) pair — and each answer is an outcome
 * with its performance in [0,1], tokens and cost in USD.
 */

export type Mode = "direct" | "think";
export type Split = "train" | "test";

/** Where a record came from, so that every validation error can name file, line/row and field. */
export interface SourceLoc {
  file: string;
  /** 1-based line (JSONL, CSV) or row/element index (JSON arrays, Parquet rows). */
  line: number;
  /** "line" for text lines, "row" for table rows, "item" for JSON array elements. */
  unit?: "line" | "row" | "item";
}

export interface Model {
  name: string;
  /** USD per 1M input tokens; null when unknown. */
  inputPrice: number | null;
  /** USD per 1M output tokens; null when unknown. */
  outputPrice: number | null;
  description?: string | null;
  size?: string | null;
  /** Identifier at the upstream provider (e.g. "qwen/qwen2.5-7b-instruct"). */
  upstreamId?: string | null;
}

export interface Query {
  /** Stable id: hash of (dataset, task, text) unless the source gives one. */
  id: string;
  dataset: string;
  task: string;
  domain?: string | null;
  text: string;
  groundTruth?: string | null;
  metric?: string | null;
  taskDescription?: string | null;
  /** JSON text of answer choices for multiple-choice tasks, when the source gives them. */
  choices?: string | null;
  split?: Split | null;
}

export interface Outcome {
  queryId: string;
  model: string;
  mode: Mode;
  response?: string | null;
  /** In [0,1]. */
  performance: number;
  inputTokens?: number | null;
  outputTokens?: number | null;
  /** USD for this answer. */
  cost: number;
  /** LLM-judge score in [0,1]. */
  judge?: number | null;
  latencyMs?: number | null;
}

/** An outcome as an importer reads it: cost may be absent (computed from tokens × price). */
export interface OutcomeInput extends Omit<Outcome, "cost"> {
  cost?: number | null;
}

export type Located<T> = T & { loc: SourceLoc };

/** What one importer produces from one file or folder; the store validates and writes it in one transaction. */
export interface ParsedBatch {
  format: string;
  dataset: string;
  files: string[];
  models: Located<Model>[];
  queries: Located<Query>[];
  outcomes: Located<OutcomeInput>[];
}

/** Candidate key as FusionBench names it: the model, with "_think" for the reasoning mode. */
export function candidateKey(model: string, mode: Mode): string {
  return mode === "think" ? `${model}_think` : model;
}

export function parseCandidateKey(key: string): { model: string; mode: Mode } {
  return key.endsWith("_think")
    ? { model: key.slice(0, -"_think".length), mode: "think" }
    : { model: key, mode: "direct" };
}
