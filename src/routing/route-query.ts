import { UsageError } from "../data/errors.ts";
import { artifactEmbedder, type LoadedArtifact } from "./artifacts.ts";
import { toRouteQuery } from "./dataset.ts";
import { judgeKnobProblem } from "./judge.ts";
import { type Knob, rank, rowsUnderKnob, scaleFor } from "./objective.ts";
import type { RankedCandidate, RouteQuery } from "./router.ts";

export interface RouteQueryOptions {
  /** The query's task (a strong feature when the router knows it). */
  task?: string | null;
  domain?: string | null;
  /** Default: the artifact's knob. */
  knob?: Knob;
}

export interface RoutedQuery {
  query: RouteQuery;
  knob: Knob;
  /** Every candidate, best first, with predicted performance, cost, score and a reason. */
  ranked: RankedCandidate[];
}

/** Embed one query with the artifact's embedder, predict, and rank every candidate under the knob. */
export async function routeQuery(
  loaded: LoadedArtifact,
  text: string,
  o: RouteQueryOptions = {},
): Promise<RoutedQuery> {
  const knob = o.knob ?? loaded.knob;
  const problem = judgeKnobProblem(knob, loaded.router, loaded.source);
  if (problem) throw new UsageError(problem);
  const query = await toRouteQuery(text, { task: o.task ?? null, domain: o.domain ?? null }, artifactEmbedder(loaded));
  const pred = loaded.router.predict([query], { explain: true });
  const [row] = rowsUnderKnob(pred, knob, loaded.candidates.length);
  const ranked = rank(row, loaded.candidateInfo, knob, scaleFor(loaded.scales, query.task));
  return { query, knob, ranked };
}
