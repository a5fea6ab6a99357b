import { createHash } from "node:crypto";
import { memoryKey } from "../routing/memory.ts";
import { type Knob, objective, type Scale } from "../routing/objective.ts";

/**
 * The held-back comparison of `serve --retrain-every`: a share of the labelled gateway traffic is never
 * trained on, and a retrained router replaces the live one only if, on that share, the candidates it would
 * choose score at least as well under the objective the gateway routes by.
 *
 * A router's choice can only be scored where the traffic has a label for it (the gateway knows how the
 * models it sent a query to answered, not the others), so both routers are scored on the same queries: those
 * where both choices are labelled. Scoring each on its own covered queries would compare different questions.
 */

/**
 * Whether a labelled query is held back (deterministic: a hash of its id, so the same query stays on the same
 * side through every retrain, and a router trained at one retrain never saw the held-back queries of the next).
 */
export function isHeldOut(queryId: string, share: number): boolean {
  if (share <= 0) return false;
  const h = createHash("sha256").update(queryId).digest().readUInt32BE(0);
  return h / 2 ** 32 < share;
}

/**
 * The rows of a retrain's merged training set it learns from, and the held-back labelled gateway queries it is
 * compared on (isHeldOut by query id). A gateway query whose text equals a held-back one's up to whitespace
 * is in neither: trained on, its label would reach the held-back query through `auto`'s memory of the routing
 * data, which matches whitespace-normalised text (the gateway's query ids do not normalise).
 */
export function retrainRows(
  queries: ReadonlyArray<{ id: string; text: string }>,
  gatewayIds: ReadonlySet<string>,
  share: number,
): { trainRows: number[]; heldRows: number[] } {
  const heldRows: number[] = [];
  queries.forEach((q, i) => {
    if (gatewayIds.has(q.id) && isHeldOut(q.id, share)) heldRows.push(i);
  });
  const heldKeys = new Set(heldRows.map((i) => memoryKey((queries[i] as { text: string }).text)));
  const held = new Set(heldRows);
  const trainRows: number[] = [];
  queries.forEach((q, i) => {
    if (!held.has(i) && !(gatewayIds.has(q.id) && heldKeys.has(memoryKey(q.text)))) trainRows.push(i);
  });
  return { trainRows, heldRows };
}

/** One held-back query: the label (performance) and cost per candidate column, NaN where it has none. */
export interface HeldOutRow {
  performance: ArrayLike<number>;
  cost: ArrayLike<number>;
}

export interface HeldOutScores {
  /** Held-back queries. */
  queries: number;
  /** Queries where both routers' choices are labelled: the ones scored. */
  compared: number;
  /** Mean objective of the live router's choices over the compared queries (null when none). */
  live: number | null;
  candidate: number | null;
}

/**
 * Score two routers' choices (column per query, −1 for none) on the held-back rows with one objective and
 * one scale, over the queries where both choices carry a label.
 */
export function scoreHeldOut(
  rows: readonly HeldOutRow[],
  liveChoice: ArrayLike<number>,
  candidateChoice: ArrayLike<number>,
  knob: Knob,
  scale: Scale,
): HeldOutScores {
  let compared = 0;
  let live = 0;
  let candidate = 0;
  const value = (r: HeldOutRow, j: number) =>
    j < 0 || Number.isNaN(r.performance[j]) || Number.isNaN(r.cost[j])
      ? Number.NaN
      : objective(r.performance[j], r.cost[j], knob, scale);
  rows.forEach((r, i) => {
    const a = value(r, liveChoice[i]);
    const b = value(r, candidateChoice[i]);
    if (Number.isNaN(a) || Number.isNaN(b)) return;
    compared++;
    live += a;
    candidate += b;
  });
  return {
    queries: rows.length,
    compared,
    live: compared ? live / compared : null,
    candidate: compared ? candidate / compared : null,
  };
}

/** Scores closer than this are equal (means of floats summed in different orders). */
const EQUAL = 1e-12;

/** Swap when the candidate is not worse on at least one compared query; otherwise keep the live router, saying why. */
export function decide(s: HeldOutScores): { swap: boolean; reason: string } {
  if (s.queries === 0) return { swap: false, reason: "no held-back labelled traffic yet" };
  if (s.compared === 0 || s.live === null || s.candidate === null)
    return {
      swap: false,
      reason: `none of the ${s.queries} held-back queries has labels for both routers' choices`,
    };
  const d = s.candidate - s.live;
  if (d >= -EQUAL)
    return {
      swap: true,
      reason: `not worse on ${s.compared} held-back queries (${fmt(s.candidate)} vs ${fmt(s.live)})`,
    };
  return { swap: false, reason: `worse on ${s.compared} held-back queries (${fmt(s.candidate)} vs ${fmt(s.live)})` };
}

const fmt = (v: number) => v.toFixed(4);
