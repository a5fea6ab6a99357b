import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { costOf } from "../data/cost.ts";
import type { Mode } from "../data/types.ts";
import type { ProvidersConfig } from "../llm/providers.ts";
import type { RankedCandidate } from "../routing/router.ts";
import type { Breakers } from "./breaker.ts";
import { needsOf, unfit } from "./capabilities.ts";
import { type RouteOn, routingText } from "./conversation.ts";
import { badRequest, errorBody, HttpError } from "./errors.ts";
import type { Exchange, ExchangeLog } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type ChatBody, parseChatBody } from "./request.ts";
import type { Sessions } from "./sessions.ts";
import { acceptsTrailers, errorEvent, SseRelay } from "./sse.ts";
import { estimateTokens } from "./tokens.ts";
import { UpstreamFailure, type UpstreamPool } from "./upstream.ts";
import { rankText, routerLabel, type VirtualModel } from "./virtual.ts";

/**
 * The gateway's logic, independent of the HTTP framework: validate a chat request, pick the candidates
 * (virtual model → router ranking; upstream name → itself), filter them by capability and the request's
 * knobs, keep sessions sticky, then try candidates in order until one answers — falling back on connection
 * errors, timeouts, 429 and 5xx before the first byte reaches the client — and log the exchange.
 */

/** Retrieves thought templates for a query as one system-message text; null when none fits. */
export interface ThoughtSource {
  /** The template set's name (reported in x-fusionkit-thought). */
  set: string;
  template(text: string): Promise<string | null>;
}

export interface GatewayDeps {
  providers: ProvidersConfig;
  upstreams: UpstreamPool;
  virtuals: Map<string, VirtualModel>;
  breakers: Breakers;
  sessions: Sessions;
  log: ExchangeLog;
  metrics: Metrics;
  routeOn: RouteOn;
  /** Characters of conversation the router reads. */
  routeChars: number;
  thoughts: ThoughtSource | null;
  /** Inject thought templates unless the request says otherwise. */
  thoughtByDefault: boolean;
  /** How many ranked candidates the x-fusionkit-candidates header lists. */
  headerCandidates: number;
}

export interface ChatCall {
  requestId: string;
  keyId: string | null;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  start: number;
}

/** A candidate to try: the upstream model, its mode and what the router predicted. */
interface Planned {
  model: string;
  mode: Mode;
  ranked: RankedCandidate | null;
}

interface Plan {
  virtual: VirtualModel | null;
  router: string | null;
  query: string;
  tried: Planned[];
  candidatesHeader: string | null;
  sticky: boolean;
  session: string | null;
  /** Template set injected into this request, if any. */
  thought: string | null;
}

interface Served {
  status: number;
  model: string | null;
  mode: Mode | null;
  response: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cost: number | null;
  ttfbMs: number | null;
  error: string | null;
  attempts: number;
}

/** One try of one candidate: what the plain and the streamed path both need. */
interface UpstreamTry {
  cand: Planned;
  upstreamBody: Buffer;
  plan: Plan;
  call: ChatCall;
  out: ServerResponse;
  closed: ClientGone;
  attempts: number;
}

const THINK_INSTRUCTION = "Think step by step before giving the final answer.";

export function newRequestId(): string {
  return `fkreq-${randomUUID()}`;
}

export class Gateway {
  readonly deps: GatewayDeps;
  constructor(deps: GatewayDeps) {
    this.deps = deps;
  }

  /** Serve one chat-completions request; writes the whole response to `out`. Never throws. */
  async chat(value: unknown, rawBody: string, call: ChatCall, out: ServerResponse): Promise<void> {
    const d = this.deps;
    let body: ChatBody | null = null;
    let plan: Plan | null = null;
    let served: Served | null = null;
    d.metrics.inFlight++;
    try {
      body = parseChatBody(value);
      plan = await this.plan(body, call);
      served = await this.attempt(body, plan, call, out);
    } catch (e) {
      const err =
        e instanceof HttpError ? e : new HttpError(500, "api_error", "internal gateway error", "internal_error");
      if (!(e instanceof HttpError)) process.stderr.write(`fusionkit serve: ${(e as Error).stack ?? e}\n`);
      if (!out.headersSent) {
        out.writeHead(err.status, { "content-type": "application/json", "x-request-id": call.requestId });
        out.end(errorBody(err));
      } else if (!out.writableEnded) out.end();
      d.metrics.error(err.code ?? err.type);
      served = {
        status: err.status,
        model: null,
        mode: null,
        response: null,
        inputTokens: null,
        outputTokens: null,
        cost: null,
        ttfbMs: null,
        error: err.message,
        attempts: served?.attempts ?? 0,
      };
    } finally {
      d.metrics.inFlight--;
    }
    const latencyMs = performance.now() - call.start;
    d.metrics.request("chat", served.status, latencyMs / 1000);
    if (served.model && served.status < 400)
      d.metrics.served(
        served.model,
        body?.model ?? "",
        served.cost ?? 0,
        served.inputTokens ?? 0,
        served.outputTokens ?? 0,
      );
    if (!body) return; // not a chat request at all (bad JSON shape): nothing to learn from
    const exchange: Exchange = {
      requestId: call.requestId,
      at: Date.now(),
      keyId: call.keyId,
      session: plan?.session ?? null,
      requestedModel: body.model,
      router: plan?.router ?? null,
      servedModel: served.model,
      mode: served.mode,
      query: plan?.query ?? "",
      request: rawBody,
      response: served.response,
      inputTokens: served.inputTokens,
      outputTokens: served.outputTokens,
      cost: served.cost,
      latencyMs,
      ttfbMs: served.ttfbMs,
      status: served.status,
      error: served.error,
      stream: body.stream,
      attempts: served.attempts,
      candidates: plan?.candidatesHeader ?? null,
    };
    d.log.push(exchange);
  }

  /** Choose and order the candidates for a request. */
  private async plan(body: ChatBody, call: ChatCall): Promise<Plan> {
    const d = this.deps;
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
      };
    }

    const knob = body.knobs.knob ?? virtual.knob;
    const ranked = await rankText(virtual.router, query, knob, body.knobs.task);
    const kept: Planned[] = [];
    const allowed = body.knobs.models;
    const maxCost = body.knobs.maxCost;
    for (const r of ranked) {
      const up = d.upstreams.get(r.model);
      if (!up) continue; // checked at startup: every router candidate has an upstream
      if (allowed && !allowed.has(r.model) && !allowed.has(r.key)) {
        excluded.push(`${r.key}: not in fusionkit.models`);
        continue;
      }
      const why = unfit(up.model, needs);
      if (why) {
        excluded.push(`${r.key}: ${why}`);
        continue;
      }
      if (maxCost !== null && r.predictedCost > maxCost) {
        excluded.push(`${r.key}: predicted cost $${r.predictedCost.toPrecision(3)} > max_cost $${maxCost}`);
        continue;
      }
      kept.push({ model: r.model, mode: r.mode, ranked: r });
    }
    if (kept.length === 0)
      throw badRequest(
        `no candidate model can serve this request (${virtual.name}): ${excluded.join("; ")}`,
        "no_capable_model",
      );

    // Stickiness: a known session goes back to the model that served it, if that model is still a candidate.
    const session = (call.headers["x-session-id"] as string | undefined) || body.user;
    let sticky = false;
    if (session) {
      const prev = d.sessions.get(`${virtual.name}\u0000${session}`);
      if (prev) {
        const i = kept.findIndex((p) => `${p.model}${p.mode === "think" ? "_think" : ""}` === prev);
        if (i > 0) kept.unshift(kept.splice(i, 1)[0]);
        sticky = i >= 0;
      }
    }
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
      session: session ? `${virtual.name}\u0000${session}` : null,
      thought: null,
    };
  }

  /** Try the planned candidates in order. */
  private async attempt(body: ChatBody, plan: Plan, call: ChatCall, out: ServerResponse): Promise<Served> {
    const d = this.deps;
    const failures: string[] = [];
    let attempts = 0;
    let only429 = true;
    let skipped = 0;
    const useThought = body.knobs.thought ?? d.thoughtByDefault;
    if (useThought && !d.thoughts)
      throw badRequest(
        "thought templates were requested, but the gateway runs without --thought-set",
        null,
        "fusionkit.thought",
      );
    const template = useThought && d.thoughts ? await d.thoughts.template(plan.query) : null;
    if (template) plan.thought = d.thoughts?.set ?? null;
    const closed = clientGone(out);

    for (const cand of plan.tried) {
      if (closed.gone) break;
      if (!d.breakers.tryAcquire(cand.model)) {
        skipped++;
        failures.push(`${cand.model}: circuit open`);
        continue;
      }
      attempts++;
      const upstreamBody = this.forwardBody(body, cand, template);
      try {
        const job: UpstreamTry = { cand, upstreamBody, plan, call, out, closed, attempts };
        const result = body.stream ? await this.streamOnce(job, body) : await this.plainOnce(job);
        if (result.status < 500) d.breakers.success(cand.model);
        else d.breakers.failure(cand.model);
        if (plan.session && result.status < 400)
          d.sessions.set(plan.session, cand.mode === "think" ? `${cand.model}_think` : cand.model);
        return { ...result, attempts };
      } catch (e) {
        if (!(e instanceof UpstreamFailure)) {
          d.breakers.release(cand.model);
          throw e;
        }
        if (e.kind === "aborted") {
          d.breakers.release(cand.model);
          return clientClosed(cand, attempts);
        }
        if (!e.retryable) {
          // The upstream refused the request itself (400/413/422...): another model would too. Relay it.
          d.breakers.release(cand.model);
          throw new HttpError(
            e.status ?? 400,
            "invalid_request_error",
            `upstream '${cand.model}' rejected the request: ${upstreamMessage(e, d.upstreams)}`,
            "upstream_rejected",
          );
        }
        d.breakers.failure(cand.model);
        d.metrics.fallback(cand.model, e.kind === "status" ? String(e.status) : e.kind);
        if (e.status !== 429) only429 = false;
        failures.push(`${cand.model}: ${e.message}`);
      }
    }
    if (closed.gone) return clientClosed(null, attempts);
    if (attempts === 0)
      throw new HttpError(
        503,
        "service_unavailable",
        `every candidate's circuit breaker is open (${failures.join("; ")}); retry shortly`,
        "circuit_open",
      );
    if (only429 && skipped === 0)
      throw new HttpError(
        429,
        "rate_limit_error",
        `every candidate is rate limited: ${failures.join("; ")}`,
        "upstream_rate_limited",
      );
    throw new HttpError(
      502,
      "upstream_error",
      `all ${plan.tried.length} candidates failed: ${failures.join("; ")}`,
      "upstream_failed",
    );
  }

  /** The client's body for one upstream: its model id, knobs removed, templates and mode applied. */
  private forwardBody(body: ChatBody, cand: Planned, template: string | null): Buffer {
    const up = this.deps.upstreams.get(cand.model);
    const { fusionkit: _knobs, model: _model, ...rest } = body.raw;
    const extraSystem: string[] = [];
    if (template) extraSystem.push(template);
    if (cand.mode === "think") extraSystem.push(THINK_INSTRUCTION);
    if (extraSystem.length) rest.messages = [{ role: "system", content: extraSystem.join("\n\n") }, ...body.messages];
    if (body.stream && !body.wantsUsage)
      rest.stream_options = { ...((rest.stream_options as object | undefined) ?? {}), include_usage: true };
    // The upstream id is already a JSON literal; splice it in front instead of copying the whole object again.
    const json = JSON.stringify(rest);
    return Buffer.from(`{"model":${up?.upstreamIdJson},${json.slice(1)}`);
  }

  private headers(cand: Planned, plan: Plan, call: ChatCall, attempts: number): Record<string, string> {
    const h: Record<string, string> = {
      "x-request-id": call.requestId,
      "x-fusionkit-model": cand.mode === "think" ? `${cand.model}_think` : cand.model,
      "x-fusionkit-attempts": String(attempts),
    };
    if (plan.router) h["x-fusionkit-router"] = plan.router;
    if (plan.candidatesHeader) h["x-fusionkit-candidates"] = plan.candidatesHeader;
    if (plan.sticky) h["x-fusionkit-sticky"] = "1";
    if (plan.thought) h["x-fusionkit-thought"] = plan.thought;
    return h;
  }

  /** Send the body to the candidate's upstream; a reply other than 200 is read whole and thrown as a failure. */
  private async sendOk(cand: Planned, upstreamBody: Buffer, closed: ClientGone): Promise<IncomingMessage> {
    const { upstreams } = this.deps;
    const { res } = await upstreams.send(cand.model, upstreamBody, closed.signal);
    if (res.statusCode === 200) return res;
    const raw = await readAll(res, upstreams.timeoutOf(cand.model), closed.signal);
    throw new UpstreamFailure(
      "status",
      `upstream returned ${res.statusCode}`,
      res.statusCode ?? 0,
      raw.toString("utf8"),
    );
  }

  private async plainOnce(job: UpstreamTry): Promise<Omit<Served, "attempts">> {
    const { cand, upstreamBody, plan, call, out, closed, attempts } = job;
    const d = this.deps;
    const res = await this.sendOk(cand, upstreamBody, closed);
    const ttfbMs = performance.now() - call.start;
    const raw = await readAll(res, d.upstreams.timeoutOf(cand.model), closed.signal);
    const text = raw.toString("utf8");
    let parsed: {
      choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
      usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
    };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UpstreamFailure("malformed", "upstream sent a body that is not JSON");
    }
    if (!parsed || !Array.isArray(parsed.choices))
      throw new UpstreamFailure("malformed", "upstream reply has no 'choices' array");
    const content = parsed.choices[0]?.message?.content;
    const response = typeof content === "string" ? content : null;
    const { inputTokens, outputTokens } = this.tokens(
      plan,
      response,
      parsed.usage?.prompt_tokens,
      parsed.usage?.completion_tokens,
    );
    const cost = this.cost(cand.model, inputTokens, outputTokens);
    const headers = this.headers(cand, plan, call, attempts);
    headers["content-type"] = "application/json";
    headers["content-length"] = String(raw.length);
    headers["x-fusionkit-cost"] = cost.toPrecision(6);
    out.writeHead(200, headers);
    out.end(raw);
    return {
      status: 200,
      model: cand.model,
      mode: cand.mode,
      response,
      inputTokens,
      outputTokens,
      cost,
      ttfbMs,
      error: null,
    };
  }

  private async streamOnce(job: UpstreamTry, body: ChatBody): Promise<Omit<Served, "attempts">> {
    const { cand, upstreamBody, plan, call, out, closed, attempts } = job;
    const d = this.deps;
    const res = await this.sendOk(cand, upstreamBody, closed);
    const relay = new SseRelay(!body.wantsUsage);
    const timeoutMs = d.upstreams.timeoutOf(cand.model);
    const trailers = acceptsTrailers(out.req);
    res.setEncoding("utf8");
    return new Promise((resolve, reject) => {
      let committed = false;
      let settled = false;
      let ttfbMs: number | null = null;
      const idle = setTimeout(() => fail(`no data from upstream for ${timeoutMs} ms`, "timeout"), timeoutMs);
      const onAbort = () => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        res.destroy();
        if (!committed) reject(new UpstreamFailure("aborted", "client closed the connection"));
        else resolve(result(499, "client closed the connection"));
      };
      closed.signal.addEventListener("abort", onAbort, { once: true });
      const result = (status: number, error: string | null): Omit<Served, "attempts"> => {
        const response = relay.content();
        const t = relay.tally;
        const { inputTokens, outputTokens } = this.tokens(plan, response, t.inputTokens, t.outputTokens);
        const cost = this.cost(cand.model, inputTokens, outputTokens);
        if (trailers && !out.writableEnded && out.headersSent)
          out.addTrailers({ "x-fusionkit-cost": cost.toPrecision(6) });
        return { status, model: cand.model, mode: cand.mode, response, inputTokens, outputTokens, cost, ttfbMs, error };
      };
      const fail = (message: string, kind: "timeout" | "connect" | "malformed") => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        closed.signal.removeEventListener("abort", onAbort);
        res.destroy();
        if (!committed) {
          reject(new UpstreamFailure(kind, message));
          return;
        }
        // The client already has part of the answer: end the stream with an error event, never a silent stop.
        d.metrics.error("stream_interrupted");
        const r = result(502, `mid-stream failure: ${message}`);
        out.end(errorEvent(`upstream '${cand.model}' failed mid-stream: ${message}`, "upstream_stream_error"));
        resolve(r);
      };
      res.on("data", (chunk: string) => {
        if (settled) return;
        idle.refresh();
        if (!committed) {
          committed = true;
          ttfbMs = performance.now() - call.start;
          const headers = this.headers(cand, plan, call, attempts);
          headers["content-type"] = "text/event-stream; charset=utf-8";
          headers["cache-control"] = "no-cache";
          if (trailers) headers.trailer = "x-fusionkit-cost";
          out.writeHead(200, headers);
        }
        const forward = relay.feed(chunk);
        if (forward) out.write(forward);
      });
      res.on("end", () => {
        if (settled) return;
        if (!committed) return fail("upstream closed the stream before sending any event", "malformed");
        if (!relay.tally.done) {
          if (relay.tally.error) {
            // The upstream's own error event was relayed; end there.
            settled = true;
            clearTimeout(idle);
            closed.signal.removeEventListener("abort", onAbort);
            const r = result(502, `upstream error event: ${relay.tally.error}`);
            out.end();
            resolve(r);
            return;
          }
          return fail("upstream ended the stream without [DONE]", "connect");
        }
        settled = true;
        clearTimeout(idle);
        closed.signal.removeEventListener("abort", onAbort);
        const r = result(200, null);
        out.end();
        resolve(r);
      });
      res.on("error", (e: Error) => fail(`upstream connection lost (${e.message})`, "connect"));
      res.on("close", () => {
        if (!settled) fail("upstream connection closed", "connect");
      });
    });
  }

  /** Token counts: the upstream's usage when given, else an estimate with gpt-tokenizer. */
  private tokens(plan: Plan, response: string | null, inTok: unknown, outTok: unknown) {
    return {
      inputTokens: typeof inTok === "number" ? inTok : estimateTokens(plan.query),
      outputTokens: typeof outTok === "number" ? outTok : estimateTokens(response ?? ""),
    };
  }

  private cost(model: string, inputTokens: number, outputTokens: number): number {
    const m = this.deps.upstreams.get(model)?.model;
    return m ? costOf(m.inputPrice, m.outputPrice, inputTokens, outputTokens) : 0;
  }
}

function round(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e4) / 1e4) : "nan";
}

interface ClientGone {
  gone: boolean;
  signal: AbortSignal;
}

/** Tracks the client going away (connection closed before the response finished). */
function clientGone(out: ServerResponse): ClientGone {
  const ctrl = new AbortController();
  const state: ClientGone = { gone: false, signal: ctrl.signal };
  out.once("close", () => {
    if (out.writableFinished) return;
    state.gone = true;
    ctrl.abort();
  });
  return state;
}

function clientClosed(cand: Planned | null, attempts: number): Served {
  return {
    status: 499,
    model: cand?.model ?? null,
    mode: cand?.mode ?? null,
    response: null,
    inputTokens: null,
    outputTokens: null,
    cost: null,
    ttfbMs: null,
    error: "client closed the connection",
    attempts,
  };
}

/** The upstream's error message (keys redacted), for relaying a rejection the client caused. */
function upstreamMessage(e: UpstreamFailure, pool: UpstreamPool): string {
  let msg = e.message;
  if (e.body) {
    try {
      const parsed = JSON.parse(e.body) as { error?: { message?: unknown } };
      if (typeof parsed.error?.message === "string") msg = parsed.error.message;
    } catch {
      msg = e.body.slice(0, 300);
    }
  }
  return pool.redact(msg);
}

/** Read a whole upstream body, bounded in time. */
function readAll(res: IncomingMessage, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (f: UpstreamFailure | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (f) {
        res.destroy();
        reject(f);
      } else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    };
    const onAbort = () => done(new UpstreamFailure("aborted", "client closed the connection"));
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () => done(new UpstreamFailure("timeout", `upstream body not complete within ${timeoutMs} ms`)),
      timeoutMs,
    );
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => done(null));
    res.on("error", (e) => done(new UpstreamFailure("connect", `upstream connection lost (${e.message})`)));
    res.on("close", () => {
      if (!res.complete) done(new UpstreamFailure("connect", "upstream closed the connection mid-body"));
    });
  });
}

// Re-exported for the chat route, which does not otherwise need these modules.
export type { IncomingMessage };
