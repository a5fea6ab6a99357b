import type { Outcome } from "../data/types.ts";

/**
 * Ranking a query's responses for fusion (FusionFactory thought- and model-level fusion).
 *  - performance: higher performance first, then lower cost;
 *  - judge: higher LLM-judge score first (unjudged responses last), then lower cost;
 *  - hybrid: the paper's two stages — the top `pool` by performance (then lower cost), re-ranked by judge
 *    score (then lower cost). Responses outside the pool follow in performance order.
 * Remaining ties are broken by model name and mode so that the order never depends on row order.
 */
export type RankBy = "performance" | "judge" | "hybrid";
export const RANK_BY: readonly RankBy[] = ["performance", "judge", "hybrid"];

/** First-stage pool of the hybrid ranking in the paper (top 5 by performance). */
export const HYBRID_POOL = 5;

export function parseRankBy(value: string): RankBy {
  if ((RANK_BY as readonly string[]).includes(value)) return value as RankBy;
  throw new RangeError(`rank must be one of ${RANK_BY.join(", ")}, got "${value}"`);
}

function byNameThenMode(a: Outcome, b: Outcome): number {
  return a.model < b.model ? -1 : a.model > b.model ? 1 : a.mode < b.mode ? -1 : a.mode > b.mode ? 1 : 0;
}

export function comparePerformance(a: Outcome, b: Outcome): number {
  return b.performance - a.performance || a.cost - b.cost || byNameThenMode(a, b);
}

export function compareJudge(a: Outcome, b: Outcome): number {
  const ja = a.judge ?? Number.NEGATIVE_INFINITY;
  const jb = b.judge ?? Number.NEGATIVE_INFINITY;
  if (ja !== jb) return jb > ja ? 1 : -1;
  return a.cost - b.cost || byNameThenMode(a, b);
}

/** The full ranking of one query's responses (a new array; the input is not reordered). */
export function rankOutcomes(outcomes: readonly Outcome[], by: RankBy, pool: number = HYBRID_POOL): Outcome[] {
  if (by === "performance") return [...outcomes].sort(comparePerformance);
  if (by === "judge") return [...outcomes].sort(compareJudge);
  const byPerf = [...outcomes].sort(comparePerformance);
  const head = byPerf.slice(0, pool).sort(compareJudge);
  return [...head, ...byPerf.slice(pool)];
}

export interface Selection {
  /** The chosen responses, best first. */
  selected: Outcome[];
  /** The ranking stopped at a response with performance 0 before reaching k. */
  stoppedAtZero: boolean;
  /** Responses skipped because they carry no response text (nothing to learn from). */
  withoutText: number;
}

export interface SelectOptions {
  by: RankBy;
  k: number;
  /** Hybrid first-stage pool size (default 5, as in the paper). */
  pool?: number;
}

/**
 * Rank, then take responses in order until k are taken or a response with performance 0 is reached (a
 * failed answer must not be taught or summarised). For hybrid the zero cut applies to the first stage, so
 * the pool holds only successful responses before the judge re-ranks it. Responses without text are passed
 * over.
 */
export function selectTop(outcomes: readonly Outcome[], opts: SelectOptions): Selection {
  if (!(Number.isInteger(opts.k) && opts.k >= 1))
    throw new RangeError(`top-k must be a positive integer, got ${opts.k}`);
  const withText = outcomes.filter((o) => !!o.response?.trim());
  const withoutText = outcomes.length - withText.length;
  if (opts.by === "hybrid") {
    const byPerf = withText.sort(comparePerformance);
    const zero = byPerf.findIndex((o) => o.performance === 0);
    const successes = zero < 0 ? byPerf : byPerf.slice(0, zero);
    const pool = successes.slice(0, opts.pool ?? HYBRID_POOL).sort(compareJudge);
    return { selected: pool.slice(0, opts.k), stoppedAtZero: zero >= 0 && successes.length < opts.k, withoutText };
  }
  const ranked = rankOutcomes(withText, opts.by);
  const selected: Outcome[] = [];
  let stoppedAtZero = false;
  for (const o of ranked) {
    if (selected.length >= opts.k) break;
    if (o.performance === 0) {
      stoppedAtZero = true;
      break;
    }
    selected.push(o);
  }
  return { selected, stoppedAtZero, withoutText };
}

/** The query's failing responses (performance 0, with text), in the same ranking order: DPO rejections. */
export function failingResponses(outcomes: readonly Outcome[], by: RankBy, pool: number = HYBRID_POOL): Outcome[] {
  return rankOutcomes(outcomes, by, pool).filter((o) => o.performance === 0 && !!o.response?.trim());
}

/** Group outcomes by query id, keeping first-seen query order. */
export function groupByQuery(outcomes: readonly Outcome[]): Map<string, Outcome[]> {
  const out = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const list = out.get(o.queryId);
    if (list) list.push(o);
    else out.set(o.queryId, [o]);
  }
  return out;
}
