import type { Mode } from "../data/types.ts";
import type { Knob, ScalesState } from "./objective.ts";

/**
 * The one Router abstraction (scikit-learn style): every router fits on the same TrainingSet and predicts
 * the same way, so evaluation, the CLI and the gateway never special-case a router.
 *
 * A router predicts, for each candidate (model, mode), the expected performance and cost of sending the
 * query there. Choosing a candidate from those predictions under a knob (scenario or λ) is one shared
 * function in objective.ts, so a frontier sweep never retrains.
 */

/** A routing candidate; `key` is FusionBench's name (model, or model + "_think"). */
export interface CandidateInfo {
  key: string;
  model: string;
  mode: Mode;
  inputPrice: number | null;
  outputPrice: number | null;
  description: string | null;
}

/** One query as a router sees it. */
export interface RouteQuery {
  text: string;
  /** The query embedding (unit-normalised) from the embedder the router was trained with. */
  embedding: Float32Array;
  task?: string | null;
  domain?: string | null;
  taskDescription?: string | null;
}

/** Training data: n queries × c candidates, row-major, NaN where no outcome is known. */
export interface TrainingSet {
  candidates: CandidateInfo[];
  queries: RouteQuery[];
  performance: Float64Array;
  cost: Float64Array;
  /** LLM-judge scores when the data has them (same layout), else null. */
  judge: Float64Array | null;
  /**
   * Optional embedding of each candidate's model description (same embedder as the queries), so a
   * graph router can place a model that has a description but little data. Missing → id only.
   */
  descriptionEmbeddings?: (Float32Array | null)[];
}

/** Predictions for a batch: n × c, row-major. */
export interface Prediction {
  performance: Float64Array;
  cost: Float64Array;
  /** Predicted LLM-judge score (same layout) when the router was trained on data with judge scores. */
  judge?: Float64Array;
  /** Optional per-(query, candidate) explanation, e.g. "7 of 10 nearest neighbours solved it". */
  reasons?: string[];
  /**
   * The predictions to choose from under a given objective, for a router whose choice of predictor depends
   * on what is served (`auto` picks, per task and per scenario or λ, the predictor that won out of fold
   * for that objective). Absent: these predictions serve every knob.
   */
  underKnob?: (knob: Knob) => Prediction;
  /**
   * Scores (n × c) a strong/weak threshold sweep ranks queries by (RouteLLM's APGR/CPT: the strong model
   * is called where score(strong) − score(weak) is above the threshold), when they are not `performance`.
   */
  rankingScore?: Float64Array;
  /**
   * Scores (n × c) that order candidates tied on the objective and on predicted cost, higher first, before
   * the column order decides (`auto` gives its policy's prediction for queries it remembers: auto.ts).
   */
  tieBreak?: Float64Array;
}

export interface RankedCandidate {
  key: string;
  model: string;
  mode: Mode;
  predictedPerformance: number;
  predictedCost: number;
  /** The objective value the ranking is sorted by. */
  score: number;
  reason: string;
}

/** Serialised router: loads in another process with `loadRouter`. */
export interface RouterArtifact {
  format: "fusionkit-router";
  version: 1;
  router: string;
  params: Record<string, unknown>;
  embedder: string;
  candidates: CandidateInfo[];
  /** Default knob for `route` and per-task min–max scales learned on the train split (objective.ts). */
  knob: Knob;
  scales: ScalesState;
  state: unknown;
  trainedAt: string;
}

export interface Router {
  readonly name: string;
  fit(data: TrainingSet): void;
  /** `explain` asks for per-candidate reasons (skipped by default: evaluation predicts thousands of rows). */
  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction;
  /** JSON-serialisable learned state; `restore` is its inverse. */
  state(): unknown;
  restore(state: unknown, candidates: CandidateInfo[]): void;
}
