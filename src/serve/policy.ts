import type { ServerResponse } from "node:http";
import type { Embedder } from "../embed/embedder.ts";
import { createEmbedder } from "../embed/registry.ts";
import { toRouteQuery } from "../routing/dataset.ts";
import { decideAfterStage } from "../routing/policy.ts";
import type { LoadedPolicy } from "../routing/policy-artifacts.ts";
import { liveAnswerView } from "../routing/policy-data.ts";
import { restrictPlan } from "../routing/policy-fit.ts";
import type { ChatCall } from "./controller.ts";
import { routingText } from "./conversation.ts";
import { HttpError } from "./errors.ts";
import { type ClientGone, type FallbackDeps, type Outcome, type Trace, tryCandidates } from "./fallback.ts";
import type { Exchange } from "./log.ts";
import type { Plan, PlanDeps, Planned } from "./plan.ts";
import type { Relay } from "./relay.ts";
import type { ChatBody } from "./request.ts";

/**
 * Serving a multi-call policy (fusionkit/cascade, fusionkit/vote): the artifact `fusionkit train --policy`
 * wrote plans stages of candidates; each stage's candidates are called in parallel (each call through the
 * gateway's fallback loop, so breakers and failure handling are the same as for one routed call), and after
 * each stage `decideAfterStage` — the decision evaluation replays on recorded answers — reads the live answers
 * and accepts one or goes on. Only the accepted answer reaches the client; every call is logged as an exchange.
 */

export interface ServedPolicy {
  /** Virtual model name, e.g. fusionkit/cascade. */
  name: string;
  loaded: LoadedPolicy;
  embedder: Embedder;
  /** The λ index served: the policy's cross-validated "within-cost" operating point. */
  point: number;
  /** Each task's metric (from the store), so answers are extracted as evaluation extracted them. */
  metrics: ReadonlyMap<string, string | null>;
}

/** `x-fusionkit-router` of a policy's requests: the policy and the operating point served. */
export function policyLabel(sp: ServedPolicy): string {
  return `${sp.loaded.name};point=within-cost`;
}

export function servedPolicy(loaded: LoadedPolicy, metrics: ReadonlyMap<string, string | null>): ServedPolicy {
  return {
    name: `fusionkit/${loaded.name}`,
    loaded,
    embedder: createEmbedder(loaded.embedder),
    point: loaded.policy.point("within-cost"),
    metrics,
  };
}

export interface PolicyDeps extends FallbackDeps, Pick<PlanDeps, "upstreams" | "routeOn" | "routeChars"> {
  onExchange?: (e: Exchange) => void;
  log: { push(e: Exchange): void };
}

/** One call of a policy run, as the headers and the exchange log see it. */
interface PolicyCall {
  column: number;
  cand: Planned;
  outcome: Outcome | null;
  status: number;
  error: string | null;
  reply: Record<string, unknown> | null;
  latencyMs: number;
  attempts: number;
}

/** What the controller logs for the request as a whole is the accepted call; the other calls are logged here. */
export interface PolicyServed extends Outcome {
  attempts: number;
}

export async function servePolicy(
  d: PolicyDeps,
  relay: Relay,
  sp: ServedPolicy,
  body: ChatBody,
  rawBody: string,
  call: ChatCall,
  out: ServerResponse,
  closed: ClientGone,
): Promise<PolicyServed> {
  const query = routingText(body.messages, body.knobs.routeOn ?? d.routeOn, d.routeChars);
  const task = body.knobs.task;
  const rq = await toRouteQuery(query, { task, domain: null }, sp.embedder);
  const [planned] = sp.loaded.policy.plans([rq], sp.point);
  if (!planned) throw new Error("policy returned no plan");
  const cands = sp.loaded.candidates;
  const plan = restrictPlan(planned.plan, (j) => d.upstreams.get((cands[j] as { model: string }).model) !== undefined);
  if (!plan)
    throw new HttpError(
      503,
      "service_unavailable",
      `${sp.name}: none of its candidates has an upstream in this gateway`,
      "no_upstream",
    );
  // Calls are plain even for a streaming client: an answer is only sent once accepted.
  const { stream_options: _so, ...raw } = body.raw;
  const plainBody: ChatBody = { ...body, stream: false, raw: { ...raw, stream: false } };
  const routerLabel = policyLabel(sp);
  const calls: PolicyCall[] = [];
  const responses = new Map<number, string>();
  const called: number[] = [];
  let accepted: { column: number; reason: string } | null = null;
  for (let s = 0; s < plan.stages.length && !accepted; s++) {
    const stage = plan.stages[s] as number[];
    const results = await Promise.all(
      stage.map((j) =>
        callOne(
          d,
          relay,
          j,
          cands[j] as { model: string; mode: Planned["mode"] },
          plainBody,
          query,
          routerLabel,
          call,
          out,
          closed,
        ),
      ),
    );
    for (const r of results) {
      calls.push(r);
      called.push(r.column);
      if (r.outcome?.response) responses.set(r.column, r.outcome.response);
    }
    if (closed.gone || closed.shutdown) break;
    // A failed call has no answer: the decision treats it as a candidate that gave none.
    const view = await liveAnswerView(task ? (sp.metrics.get(task) ?? null) : null, responses);
    const answeredCalls = called.filter((j) => responses.has(j));
    if (answeredCalls.length === 0) continue;
    const decision = decideAfterStage(plan, s, answeredCalls, view, planned.weights);
    if (decision) accepted = { column: decision.accepted, reason: decision.reason };
  }
  const totalCost = calls.reduce((a, c) => a + (c.outcome?.cost ?? 0), 0);
  const callsHeader = calls.map((c) => `${servedName(c.cand)};status=${c.status}`).join(", ");
  const win = accepted ? calls.find((c) => c.column === accepted?.column && c.reply) : undefined;
  // Every call but the accepted one is logged here; the controller logs the accepted one as the request.
  for (const c of calls) if (c !== win) logCall(d, c, sp, body, rawBody, call, query, routerLabel);
  if (!win || !accepted) {
    const failed = new HttpError(
      502,
      "upstream_error",
      `${sp.name}: no call gave an answer (${calls.map((c) => `${servedName(c.cand)}: ${c.error ?? "no answer"}`).join("; ")})`,
      "upstream_failed",
    );
    failed.headers["x-fusionkit-calls"] = callsHeader;
    failed.headers["x-fusionkit-cost"] = totalCost.toPrecision(6);
    failed.headers["x-should-retry"] = "false";
    throw failed;
  }
  const reply = win.reply as Record<string, unknown>;
  const headers: Record<string, string> = {
    "x-request-id": call.requestId,
    "x-fusionkit-model": servedName(win.cand),
    "x-fusionkit-router": routerLabel,
    "x-fusionkit-calls": callsHeader,
    "x-fusionkit-stop": accepted.reason,
    "x-fusionkit-cost": totalCost.toPrecision(6),
    "x-fusionkit-attempts": String(calls.reduce((a, c) => a + c.attempts, 0)),
  };
  const usage = (reply.usage ?? {}) as Record<string, unknown>;
  usage.cost = totalCost;
  reply.usage = usage;
  if (body.stream) writeAsStream(out, headers, reply, body.wantsUsage, d.upstreams.redact);
  else {
    const bytes = Buffer.from(d.upstreams.redact(JSON.stringify(reply)));
    out.writeHead(200, { ...headers, "content-type": "application/json", "content-length": String(bytes.length) });
    out.end(bytes);
  }
  return { ...(win.outcome as Outcome), attempts: win.attempts };
}

async function callOne(
  d: PolicyDeps,
  relay: Relay,
  column: number,
  cand: { model: string; mode: Planned["mode"] },
  body: ChatBody,
  query: string,
  router: string,
  call: ChatCall,
  out: ServerResponse,
  closed: ClientGone,
): Promise<PolicyCall> {
  const planned: Planned = { model: cand.model, mode: cand.mode, ranked: null };
  const plan: Plan = {
    virtual: null,
    router,
    query,
    tried: [planned],
    candidatesHeader: null,
    sticky: false,
    session: null,
    thought: null,
    explored: null,
  };
  const trace: Trace = { attempts: 0 };
  const t0 = performance.now();
  let reply: Record<string, unknown> | null = null;
  try {
    const served = await tryCandidates(d, [planned], closed, trace, async (c, attempts) => {
      const upstreamBody = relay.forwardBody(body, c, null);
      const r = await relay.fetchPlain({ cand: c, upstreamBody, plan, call, out, closed, attempts });
      reply = r.reply;
      return r.outcome;
    });
    return {
      column,
      cand: planned,
      outcome: served,
      status: served.status,
      error: served.error,
      reply,
      latencyMs: performance.now() - t0,
      attempts: trace.attempts,
    };
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 500;
    return {
      column,
      cand: planned,
      outcome: null,
      status,
      error: (e as Error).message,
      reply: null,
      latencyMs: performance.now() - t0,
      attempts: trace.attempts,
    };
  }
}

function logCall(
  d: PolicyDeps,
  c: PolicyCall,
  sp: ServedPolicy,
  body: ChatBody,
  rawBody: string,
  call: ChatCall,
  query: string,
  router: string,
): void {
  const o = c.outcome;
  const e: Exchange = {
    // One exchange per call; the request's own id stays with the accepted call.
    requestId: `${call.requestId}.${servedName(c.cand)}`,
    at: Date.now(),
    keyId: call.keyId,
    session: null,
    requestedModel: sp.name,
    router,
    servedModel: c.cand.model,
    mode: c.cand.mode,
    query,
    request: rawBody,
    response: o?.response ?? null,
    inputTokens: o?.inputTokens ?? null,
    outputTokens: o?.outputTokens ?? null,
    cost: o?.cost ?? null,
    latencyMs: c.latencyMs,
    ttfbMs: o?.ttfbMs ?? null,
    status: c.status,
    error: c.error,
    stream: body.stream,
    attempts: c.attempts,
    candidates: null,
  };
  d.onExchange?.(e);
  d.log.push(e);
}

/** The accepted answer to a streaming client: one content chunk, a finish chunk (with usage if asked), [DONE]. */
function writeAsStream(
  out: ServerResponse,
  headers: Record<string, string>,
  reply: Record<string, unknown>,
  wantsUsage: boolean,
  redact: (s: string) => string,
): void {
  const choice = (reply.choices as Array<{ message?: { content?: unknown }; finish_reason?: unknown }>)[0];
  const base = {
    id: reply.id ?? "chatcmpl-fusionkit",
    object: "chat.completion.chunk",
    created: reply.created ?? Math.floor(Date.now() / 1000),
    model: reply.model,
  };
  const events = [
    {
      ...base,
      choices: [
        { index: 0, delta: { role: "assistant", content: choice?.message?.content ?? "" }, finish_reason: null },
      ],
    },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? "stop" }] },
  ];
  if (wantsUsage) events.push({ ...base, choices: [], usage: reply.usage } as never);
  out.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
  out.end(`${events.map((e) => `data: ${redact(JSON.stringify(e))}\n\n`).join("")}data: [DONE]\n\n`);
}

function servedName(cand: Planned): string {
  return cand.mode === "think" ? `${cand.model}_think` : cand.model;
}
