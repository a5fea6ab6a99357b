import type { Planned } from "./plan.ts";

/**
 * ε exploration (`serve --explore 0.05`): that share of routed requests goes to the runner-up instead of the
 * candidate the router ranked first, so the labelled traffic also covers models the router does not favour
 * (and a retrained router can be compared with the live one where their choices differ). A sticky session is
 * never explored (it would change model mid-conversation), nor a request with a single usable candidate.
 */
export interface Exploration {
  /** The key of the candidate the router ranked first (the one not tried first). */
  ranked: string;
  /** Predicted cost of the runner-up minus that of the first-ranked candidate (USD; negative when cheaper). */
  predictedExtraCost: number;
}

/** Swap the first two candidates with probability `share`; returns what was explored, or null. */
export function explore(
  kept: Planned[],
  share: number,
  sticky: boolean,
  random: () => number = Math.random,
): Exploration | null {
  if (share <= 0 || sticky || kept.length < 2 || random() >= share) return null;
  const [top, runnerUp] = kept as [Planned, Planned];
  if (!top.ranked || !runnerUp.ranked) return null;
  kept[0] = runnerUp;
  kept[1] = top;
  return { ranked: top.ranked.key, predictedExtraCost: runnerUp.ranked.predictedCost - top.ranked.predictedCost };
}
