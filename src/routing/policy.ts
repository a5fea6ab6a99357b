import type { AnswerKind } from "../scoring/answers.ts";
import type { CandidateInfo, RouteQuery, TrainingSet } from "./router.ts";

/**
 * Multi-call policies: a plan of one or more calls per query, decided from the answers as they come in.
 * A Router picks one candidate per query before any call; a Policy plans stages (each stage one or more
 * candidates called in parallel) and a stop rule read after each stage. The decision function below is
 * the only place a stop rule is interpreted: evaluation replays it on recorded responses and the gateway
 * runs it on live ones, so the two cannot drift apart.
 */

/** Accept an answer after a stage (other than the last) when either holds. */
export interface StopRule {
  /** At least this many answers gathered so far agree (Infinity: never by agreement). */
  agree: number;
  /** The agreeing answers' summed predicted success is at least this (Infinity: never by confidence). */
  support: number;
  /** Two answers agree when their similarity is at least this (exact answers: 1 when equal, else 0). */
  similarity: number;
}

export interface CallPlan {
  /** Candidate columns per stage, cheap → strong; a stage's candidates are called in parallel. */
  stages: number[][];
  stop: StopRule;
}

export type StopReason = "agree" | "confident" | "vote" | "single";

export interface Acceptance {
  /** The candidate column whose answer is returned. */
  accepted: number;
  reason: StopReason;
}

/** What a decision reads about the answers of the candidates called so far (recorded or live). */
export interface AnswerView {
  /** Candidate j gave an answer that could be extracted. */
  answered(j: number): boolean;
  /**
   * Similarity of the answers of a and b in [0,1] (symmetric; only asked about answered candidates):
   * 1/0 for exact answers, token F1 for short text, embedding cosine for free text.
   */
  similarity(a: number, b: number): number;
}

export interface DecisionWeights {
  /** Predicted success of each candidate for this query (vote weights; the `support` of a stop rule). */
  success: ArrayLike<number>;
  /** Tie-break order: higher is stronger (mean performance on train). */
  strength: ArrayLike<number>;
}

interface Group {
  pivot: number;
  members: number[];
  support: number;
}

/** Groups of agreeing answers among the called candidates, one per answered candidate (its agreeing set). */
function groups(called: readonly number[], view: AnswerView, w: DecisionWeights, minSimilarity: number): Group[] {
  const answered = called.filter((j) => view.answered(j));
  return answered.map((pivot) => {
    const members = answered.filter((j) => j === pivot || view.similarity(pivot, j) >= minSimilarity - 1e-6);
    let support = 0;
    for (const j of members) support += w.success[j] as number;
    return { pivot, members, support };
  });
}

/** The member whose answer stands for its group: highest predicted success, then the stronger candidate. */
function spokesman(members: readonly number[], w: DecisionWeights): number {
  let best = members[0] as number;
  for (const j of members) {
    const dj = (w.success[j] as number) - (w.success[best] as number);
    if (dj > 1e-12 || (Math.abs(dj) <= 1e-12 && (w.strength[j] as number) > (w.strength[best] as number))) best = j;
  }
  return best;
}

function stronger(a: Group, b: Group, w: DecisionWeights, bySize: boolean): boolean {
  if (bySize && a.members.length !== b.members.length) return a.members.length > b.members.length;
  if (Math.abs(a.support - b.support) > 1e-12) return a.support > b.support;
  return (w.strength[a.pivot] as number) > (w.strength[b.pivot] as number);
}

/**
 * The decision after stage `stage` of `plan`, with `called` every candidate called up to and including
 * it: an acceptance, or null to go on to the next stage. At the last stage there is always an answer:
 * the weighted majority over every answer gathered (ties to the stronger candidate), or, when nobody gave
 * an extractable answer, the strongest candidate called.
 */
export function decideAfterStage(
  plan: CallPlan,
  stage: number,
  called: readonly number[],
  view: AnswerView,
  w: DecisionWeights,
): Acceptance | null {
  const last = stage >= plan.stages.length - 1;
  if (last && called.length === 1) return { accepted: called[0] as number, reason: "single" };
  const gs = groups(called, view, w, plan.stop.similarity);
  if (!last) {
    let lead: Group | null = null;
    for (const g of gs) if (!lead || stronger(g, lead, w, true)) lead = g;
    if (!lead) return null;
    if (lead.members.length >= plan.stop.agree) return { accepted: spokesman(lead.members, w), reason: "agree" };
    if (lead.support >= plan.stop.support) return { accepted: spokesman(lead.members, w), reason: "confident" };
    return null;
  }
  let win: Group | null = null;
  for (const g of gs) if (!win || stronger(g, win, w, false)) win = g;
  if (win) return { accepted: spokesman(win.members, w), reason: "vote" };
  let strongest = called[0] as number;
  for (const j of called) if ((w.strength[j] as number) > (w.strength[strongest] as number)) strongest = j;
  return { accepted: strongest, reason: "vote" };
}

export interface Execution extends Acceptance {
  /** Every candidate called, in stage order. */
  calls: number[];
  /** Stages run (sequential round trips). */
  stages: number;
}

/** Run a plan on answers that are all known in advance (recorded responses): stage by stage until accepted. */
export function executePlan(plan: CallPlan, view: AnswerView, w: DecisionWeights): Execution {
  const calls: number[] = [];
  for (let s = 0; s < plan.stages.length; s++) {
    calls.push(...(plan.stages[s] as number[]));
    const d = decideAfterStage(plan, s, calls, view, w);
    if (d) return { ...d, calls, stages: s + 1 };
  }
  throw new Error("a call plan needs at least one stage");
}

/**
 * Agreement between the recorded answers of every pair of candidates on every query: n × c × c
 * similarities (1/0 for exact answers, token F1 for short text, cosine for free text), NaN where either
 * candidate gave no extractable answer. Thresholds turn similarities into agreement per answer kind.
 */
export interface AgreementTable {
  /** Per query: how its answers are compared (from the task's metric). */
  kinds: AnswerKind[];
  similarity: Float32Array;
}

/** A TrainingSet with the agreement of its recorded answers: what multi-call policies learn from. */
export interface PolicyData extends TrainingSet {
  agreement: AgreementTable;
}

/** The recorded answers of query row i as an AnswerView. */
export function recordedView(t: AgreementTable, c: number, i: number): AnswerView {
  const base = i * c * c;
  return {
    answered: (j) => !Number.isNaN(t.similarity[base + j * c + j] as number),
    similarity: (a, b) => {
      const s = t.similarity[base + a * c + b] as number;
      return Number.isNaN(s) ? 0 : s;
    },
  };
}

/** Operating points of a policy, chosen by cross-validation inside train (see the policies for how). */
export type PolicyPoint = "match-best" | "within-cost" | "max-performance";

export const POLICY_POINTS: readonly PolicyPoint[] = ["match-best", "within-cost", "max-performance"];

/** A multi-call policy: learns from PolicyData, plans calls per query at a knob. */
export interface Policy {
  readonly name: string;
  fit(data: PolicyData): void;
  /** The λ values of its frontier (performance − λ·cost), cheapest last. */
  lambdas(): number[];
  /** The λ index of each operating point (chosen inside fit). */
  point(p: PolicyPoint): number;
  /** One plan per query at λ index `k`, with the weights its decisions use. */
  plans(queries: RouteQuery[], k: number): Array<{ plan: CallPlan; weights: DecisionWeights }>;
  state(): unknown;
  restore(state: unknown, candidates: CandidateInfo[]): void;
}
