import type { IncomingHttpHeaders } from "node:http";
import type { Mode } from "../data/types.ts";
import { judgeKnobProblem } from "../routing/judge.ts";
import type { RankedCandidate } from "../routing/router.ts";
import { needsOf, unfit } from "./capabilities.ts";
import { type RouteOn, routingText } from "./conversation.ts";
import { badRequest, HttpError } from "./errors.ts";
import { type Exploration, explore } from "./explore.ts";
import type { ChatBody } from "./request.ts";
import { type Sessions, sessionChoice } from "./sessions.ts";
import type { UpstreamPool } from "./upstream.ts";
import { rankText, routerLabel, type VirtualModel } from "./virtual.ts";

/** What planning reads (a subset of the gateway's dependencies). */
export interface PlanDeps {
  upstreams: UpstreamPool;
  virtuals: Map<string, VirtualModel>;
  sessions: Sessions;
  routeOn: RouteOn;
  /** Characters of conversation the router reads. */
  routeChars: number;
  /** How many ranked candidates the x-fusionkit-candidates header lists. */
  headerCandidates: number;
  /** Sessions spread over the candidates within this much of the top score (0: the top one). */
  sessionTolerance: number;
  /** `--explore`: share of routed requests sent to the runner-up (explore.ts); 0 or absent: none. */
  explore?: number;
  /** Draws for exploration (tests pass a fixed one). */
  random?: () => number;
}

/** A candidate to try: the upstream model, its mode and what the router predicted. */
export interface Planned {
  model: string;
  mode: Mode;
  ranked: RankedCandidate | null;
}

export interface Plan {
  virtual: VirtualModel | null;
  router: string | null;
  query: string;
  tried: Planned[];
  candidatesHeader: string | null;
  sticky: boolean;
  session: string | null;
  /** Template set injected into this request, if any. */
  thought: string | null;
  /** Set when exploration sent this request to the runner-up. */
  explored: Exploration | null;
}

/**
 * Choose and order the candidates for a request: a virtual model's router ranking (filtered by the request's
 * allowed models, capabilities and max cost, a known session's model first) or an upstream model by name.
 */
export async function planRequest(d: PlanDeps, body: ChatBody, headers: IncomingHttpHeaders): Promise<Plan> {
  const virtual = d.virtuals.get(body.model) ?? null;
  const routeOn = body.knobs.routeOn ?? d.routeOn;
  const query = routingText(body.messages, routeOn, d.routeChars);
  const needs = needsOf(body.raw, body.messages);
  const excluded: string[] = [];

  if (!virtual) {
    const up = d.upstreams.get(body.model);
    if (!up)
      throw new HttpError(
        404,
        "not_found_error",
        `model '${body.model}' does not exist: use a virtual model (${[...d.virtuals.keys()].join(", ") || "none configured"}) or an upstream model listed by GET /v1/models`,
        "model_not_found",
        "model",
      );
    const why = unfit(up.model, needs);
    if (why) throw badRequest(`model '${body.model}' cannot serve this request: ${why}`, "no_capable_model", "model");
    return {
      virtual: null,
      router: null,
      query,
      tried: [{ model: up.name, mode: "direct", ranked: null }],
      candidatesHeader: null,
      sticky: false,
      session: null,
      thought: null,
      explored: null,
    };
  }

  const knob = body.knobs.knob ?? virtual.knob;
  // As `fusionkit route` does: llm-judge without a judge head would silently rank by performance.
  const judgeProblem = judgeKnobProblem(knob, virtual.router.router, virtual.router.artifact);
  if (judgeProblem)
    throw badRequest(
      `${virtual.name}: ${judgeProblem}`,
      "scenario_unavailable",
      body.knobs.knob ? "fusionkit.scenario" : "model",
    );
  const task = body.knobs.task;
  const allowed = body.knobs.models;
  const maxCost = body.knobs.maxCost;
  /** The ranked candidates this request may use (allowed models, capabilities, max cost), best first. */
  const usable = (ranked: RankedCandidate[], excluded: string[] | null): Planned[] => {
    const kept: Planned[] = [];
    for (const r of ranked) {
      const up = d.upstreams.get(r.model);
      if (!up) continue; // checked at startup: every router candidate has an upstream
      if (allowed && !allowed.has(r.model) && !allowed.has(r.key)) {
        excluded?.push(`${r.key}: not in fusionkit.models`);
        continue;
      }
      const why = unfit(up.model, needs);
      if (why) {
        excluded?.push(`${r.key}: ${why}`);
        continue;
      }
      if (maxCost !== null && r.predictedCost > maxCost) {
        excluded?.push(`${r.key}: predicted cost $${r.predictedCost.toPrecision(3)} > max_cost $${maxCost}`);
        continue;
      }
      kept.push({ model: r.model, mode: r.mode, ranked: r });
    }
    return kept;
  };
  const kept = usable(await rankText(virtual.router, query, knob, task), excluded);
  if (kept.length === 0)
    throw badRequest(
      `no candidate model can serve this request (${virtual.name}): ${excluded.join("; ")}`,
      "no_capable_model",
    );

  // Stickiness: a session goes to the model chosen from its id over the ranking of its first turn, which
  // every request of the conversation carries (OpenAI clients resend the history), so every worker and
  // replica chooses alike. This process remembers its choices for requests that do not carry the history.
  // A session whose model fails is served by the next candidate for that request and goes back to its
  // model on the next one (the order after it is the ranking's, the same everywhere).
  const session = (headers["x-session-id"] as string | undefined) || body.user;
  const sessionId = session ? `${virtual.name}\u0000${session}` : null;
  let sticky = false;
  if (sessionId) {
    // The first turn: every message before the first answer (the whole request when there is none yet).
    const firstAnswer = body.messages.findIndex((m) => m.role === "assistant");
    const continuing = firstAnswer >= 0;
    let chosen = d.sessions.get(sessionId);
    const known = chosen !== null || continuing;
    if (!chosen) {
      const firstTurn = firstAnswer > 0 ? body.messages.slice(0, firstAnswer) : null;
      const candidates = firstTurn
        ? usable(await rankText(virtual.router, routingText(firstTurn, routeOn, d.routeChars), knob, task), null)
        : kept;
      const i = sessionChoice(
        sessionId,
        candidates.map((p) => p.ranked as RankedCandidate),
        d.sessionTolerance,
      );
      chosen = i >= 0 ? (candidates[i].ranked as RankedCandidate).key : null;
      if (chosen) d.sessions.set(sessionId, chosen);
    }
    const i = kept.findIndex((p) => p.ranked?.key === chosen);
    if (i > 0) kept.unshift(kept.splice(i, 1)[0]);
    sticky = known && i >= 0;
  }
  const explored = explore(kept, d.explore ?? 0, sessionId !== null, d.random);
  let header = "";
  const n = Math.min(kept.length, d.headerCandidates);
  for (let i = 0; i < n; i++) {
    const r = kept[i].ranked as RankedCandidate;
    header += `${i ? ", " : ""}${r.key};score=${round(r.score)};perf=${round(r.predictedPerformance)};cost=${r.predictedCost.toPrecision(3)}`;
  }
  return {
    virtual,
    router: routerLabel(virtual, knob),
    query,
    tried: kept,
    candidatesHeader: header,
    sticky,
    session: sessionId,
    thought: null,
    explored,
  };
}

function round(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e4) / 1e4) : "nan";
}
