import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { costOf } from "../data/cost.ts";
import type { Mode } from "../data/types.ts";
import type { ProvidersConfig } from "../llm/providers.ts";
import type { RankedCandidate } from "../routing/router.ts";
import type { Breakers } from "./breaker.ts";
import { needsOf, unfit } from "./capabilities.ts";
import { type RouteOn, routingText } from "./conversation.ts";
import { asHttpError, badRequest, errorBody, HttpError } from "./errors.ts";
import type { Exchange, ExchangeLog } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Reporter } from "./report.ts";
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
  /** Told of every finished exchange before it is logged (per-key spend and token accounting). */
  onExchange?: (e: Exchange) => void;
  providers: ProvidersConfig;
  upstreams: UpstreamPool;
  virtuals: Map<string, VirtualModel>;
  breakers: Breakers;
  sessions: Sessions;
  log: ExchangeLog;
  metrics: Metrics;
  report: Reporter;
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

/** What a request did so far, kept even when it ends in an error (the exchange log records the attempts). */
interface Trace {
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

/** Characters a stream may send before its first complete event; past that it is not the stream we asked for. */
const MAX_FIRST_EVENT = 64 * 1024;

const THINK_INSTRUCTION = "Think step by step before giving the final answer.";

export function newRequestId(): string {
  return `fkreq-${randomUUID()}`;
}

export class Gateway {
  readonly deps: GatewayDeps;
  /** Requests being served: shutdown ends each one (with an error if unfinished) and waits until it is logged. */
  private readonly active = new Set<{ stop: AbortController; done: Promise<void> }>();
  private draining = false;
  constructor(deps: GatewayDeps) {
    this.deps = deps;
  }

  /** Serve one chat-completions request; writes the whole response to `out`. Never throws. */
  async chat(value: unknown, rawBody: string, call: ChatCall, out: ServerResponse): Promise<void> {
    const stop = new AbortController();
    let finished = () => {};
    const entry = { stop, done: new Promise<void>((resolve) => (finished = resolve)) };
    this.active.add(entry);
    try {
      await this.serve(value, rawBody, call, out, stop.signal);
    } catch (e) {
      this.deps.report.error("request bookkeeping failed", e, call.requestId);
    } finally {
      this.active.delete(entry);
      finished();
    }
  }

  /**
   * Shutdown, after the grace period: new requests are refused with 503 (and logged), requests still running
   * are ended — a started stream with an error event, others with a 503 — and each is logged before this
   * resolves (bounded by `waitMs`).
   */
  async stopAll(waitMs: number): Promise<void> {
    this.draining = true;
    const running = [...this.active];
    for (const r of running) r.stop.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running.map((r) => r.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Refuse new chat requests from now on (shutdown began); they are still logged. */
  drain(): void {
    this.draining = true;
  }

  private async serve(
    value: unknown,
    rawBody: string,
    call: ChatCall,
    out: ServerResponse,
    stop: AbortSignal,
  ): Promise<void> {
    const d = this.deps;
    let body: ChatBody | null = null;
    let plan: Plan | null = null;
    let served: Served | null = null;
    const trace: Trace = { attempts: 0 };
    d.metrics.inFlight++;
    try {
      body = parseChatBody(value);
      if (this.draining) throw shuttingDown();
      plan = await this.plan(body, call);
      served = await this.attempt(body, plan, call, out, trace, stop);
    } catch (e) {
      const err = this.errorResponse(e, call.requestId);
      if (!out.headersSent) {
        out.writeHead(err.status, {
          ...err.headers,
          "content-type": "application/json",
          "x-request-id": call.requestId,
        });
        out.end(err.body);
      } else if (!out.writableEnded) out.end();
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
        attempts: trace.attempts,
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
    d.onExchange?.(exchange);
    d.log.push(exchange);
  }

  /**
   * The one place an error in a request becomes what the client sees: an HttpError as it is, anything else a
   * 500 without internals (its stack goes to the operator's log). The body is an OpenAI-style error, redacted.
   */
  errorResponse(
    e: unknown,
    requestId: string,
  ): { status: number; body: string; message: string; headers: Record<string, string> } {
    const d = this.deps;
    if (!(e instanceof HttpError)) d.report.error("request failed unexpectedly", e, requestId);
    const err = asHttpError(e);
    d.metrics.error(err.code ?? err.type);
    return {
      status: err.status,
      body: d.upstreams.redact(errorBody(err)),
      message: err.message,
      headers: err.headers,
    };
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
      if (!up) continue; // a candidate the config does not provide is not served (listed at start)
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
  private async attempt(
    body: ChatBody,
    plan: Plan,
    call: ChatCall,
    out: ServerResponse,
    trace: Trace,
    stop: AbortSignal,
  ): Promise<Served> {
    const d = this.deps;
    const failures: string[] = [];
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
    const closed = clientGone(out, stop);

    for (const cand of plan.tried) {
      if (closed.shutdown) throw shuttingDown();
      if (closed.gone) break;
      if (!d.breakers.tryAcquire(cand.model)) {
        skipped++;
        failures.push(`${cand.model}: circuit open`);
        continue;
      }
      const attempts = ++trace.attempts;
      // Whether this try told the breaker how the upstream did; if not, its slot (maybe the half-open probe)
      // is released whatever happened — a throw before sending included.
      let judged = false;
      try {
        const upstreamBody = this.forwardBody(body, cand, template);
        const job: UpstreamTry = { cand, upstreamBody, plan, call, out, closed, attempts };
        const result = body.stream ? await this.streamOnce(job, body) : await this.plainOnce(job);
        if (result.status < 500) d.breakers.success(cand.model);
        else d.breakers.failure(cand.model);
        judged = true;
        if (plan.session && result.status < 400)
          d.sessions.set(plan.session, cand.mode === "think" ? `${cand.model}_think` : cand.model);
        return { ...result, attempts };
      } catch (e) {
        if (!(e instanceof UpstreamFailure)) throw e;
        if (e.kind === "aborted") {
          if (closed.shutdown) throw shuttingDown();
          return clientClosed(cand, attempts);
        }
        if (!e.retryable)
          // The upstream refused the request itself (400/413/422...): another model would too. Relay it.
          throw new HttpError(
            e.status ?? 400,
            "invalid_request_error",
            `upstream '${cand.model}' rejected the request: ${upstreamMessage(e)}`,
            "upstream_rejected",
          );
        d.breakers.failure(cand.model);
        judged = true;
        d.metrics.fallback(cand.model, e.kind === "status" ? String(e.status) : e.kind);
        if (e.status !== 429) only429 = false;
        failures.push(`${cand.model}: ${e.message}`);
      } finally {
        if (!judged) d.breakers.release(cand.model);
      }
    }
    const attempts = trace.attempts;
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
    if (closed.signal.aborted) throw new UpstreamFailure("aborted", "request ended before it was sent");
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
    const safe = d.upstreams.redact(text);
    const reply = safe === text ? raw : Buffer.from(safe);
    const headers = this.headers(cand, plan, call, attempts);
    headers["content-type"] = "application/json";
    headers["content-length"] = String(reply.length);
    headers["x-fusionkit-cost"] = cost.toPrecision(6);
    out.writeHead(200, headers);
    out.end(reply);
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

  /**
   * Relay one upstream stream. Nothing is sent to the client until the first event with data proves the reply
   * is a real stream (a JSON chunk or [DONE]): a 200 with HTML, invalid JSON or an error event before that is
   * a failure of this candidate, and the next one serves. Once committed, any failure ends the client's stream
   * with an error event. No callback here throws: an unexpected error ends the attempt like an upstream fault.
   */
  private async streamOnce(job: UpstreamTry, body: ChatBody): Promise<Omit<Served, "attempts">> {
    const { cand, upstreamBody, plan, call, out, closed, attempts } = job;
    const d = this.deps;
    const res = await this.sendOk(cand, upstreamBody, closed);
    const relay = new SseRelay(!body.wantsUsage, d.upstreams.redact);
    const timeoutMs = d.upstreams.timeoutOf(cand.model);
    const trailers = acceptsTrailers(out.req);
    res.setEncoding("utf8");
    return new Promise((resolve, reject) => {
      let committed = false;
      let settled = false;
      let ttfbMs: number | null = null;
      /** Complete events received before the stream proved itself (sent on commit). */
      let held = "";
      const idle = setTimeout(() => fail(`no data from upstream for ${timeoutMs} ms`, "timeout"), timeoutMs);
      const settle = () => {
        settled = true;
        clearTimeout(idle);
        closed.signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        if (settled) return;
        settle();
        res.destroy();
        if (!committed) reject(new UpstreamFailure("aborted", "client closed the connection"));
        else if (closed.shutdown)
          endWithError(
            503,
            "the gateway shut down before the stream ended",
            "the gateway is shutting down; the answer is incomplete",
            "shutting_down",
          );
        else resolve(result(499, "client closed the connection"));
      };
      closed.signal.addEventListener("abort", onAbort, { once: true });
      if (closed.signal.aborted) queueMicrotask(onAbort);
      const result = (status: number, error: string | null): Omit<Served, "attempts"> => {
        const response = relay.content();
        const t = relay.tally;
        const { inputTokens, outputTokens } = this.tokens(plan, response, t.inputTokens, t.outputTokens);
        const cost = this.cost(cand.model, inputTokens, outputTokens);
        if (trailers && !out.writableEnded && out.headersSent)
          out.addTrailers({ "x-fusionkit-cost": cost.toPrecision(6) });
        return { status, model: cand.model, mode: cand.mode, response, inputTokens, outputTokens, cost, ttfbMs, error };
      };
      /** End the client's stream with an error event (it already has part of the answer). */
      const endWithError = (status: number, error: string, message: string, code: string) => {
        d.metrics.error(code);
        const r = result(status, error);
        out.end(d.upstreams.redact(errorEvent(message, code)));
        resolve(r);
      };
      const fail = (message: string, kind: "timeout" | "connect" | "malformed" | "error_event") => {
        if (settled) return;
        settle();
        res.destroy();
        if (!committed) reject(new UpstreamFailure(kind, message));
        else
          endWithError(
            502,
            `mid-stream failure: ${message}`,
            `upstream '${cand.model}' failed mid-stream: ${message}`,
            "upstream_stream_error",
          );
      };
      const crash = (e: unknown) => {
        if (settled) return;
        settle();
        res.destroy();
        if (!committed) return reject(e);
        d.report.error("stream relay failed", e, call.requestId);
        endWithError(
          500,
          "internal gateway error while relaying the stream",
          "internal gateway error",
          "internal_error",
        );
      };
      const commit = () => {
        committed = true;
        ttfbMs = performance.now() - call.start;
        const headers = this.headers(cand, plan, call, attempts);
        headers["content-type"] = "text/event-stream; charset=utf-8";
        headers["cache-control"] = "no-cache";
        if (trailers) headers.trailer = "x-fusionkit-cost";
        out.writeHead(200, headers);
        if (held) out.write(held);
        held = "";
      };
      const onData = (chunk: string) => {
        if (settled) return;
        idle.refresh();
        const forward = relay.feed(chunk);
        if (committed) {
          if (forward) out.write(forward);
          return;
        }
        held += forward;
        if (relay.first === "valid") return commit();
        if (relay.first === "invalid")
          return fail("upstream answered 200 with a body that is not an SSE stream of JSON events", "malformed");
        if (relay.first === "error")
          return fail(`upstream sent an error event before any data: ${relay.tally.error}`, "error_event");
        if (relay.buffered > MAX_FIRST_EVENT)
          fail(`upstream sent ${MAX_FIRST_EVENT} characters without a complete SSE event`, "malformed");
      };
      const onEnd = () => {
        if (settled) return;
        if (!committed) return fail("upstream closed the stream before sending any event", "malformed");
        if (!relay.tally.done) {
          if (relay.tally.error) {
            // The upstream's own error event was relayed; end there.
            settle();
            const r = result(502, `upstream error event: ${relay.tally.error}`);
            out.end();
            resolve(r);
            return;
          }
          return fail("upstream ended the stream without [DONE]", "connect");
        }
        settle();
        const r = result(200, null);
        out.end();
        resolve(r);
      };
      const guarded =
        <A extends unknown[]>(f: (...a: A) => void) =>
        (...a: A) => {
          try {
            f(...a);
          } catch (e) {
            crash(e);
          }
        };
      res.on("data", guarded(onData));
      res.on("end", guarded(onEnd));
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
  /** The gateway is shutting down and ended this request. */
  shutdown: boolean;
  /** Aborts when the client goes away or the gateway ends the request. */
  signal: AbortSignal;
}

/** Tracks the client going away (connection closed before the response finished) and shutdown's `stop`. */
function clientGone(out: ServerResponse, stop: AbortSignal): ClientGone {
  const ctrl = new AbortController();
  const state: ClientGone = { gone: false, shutdown: false, signal: ctrl.signal };
  out.once("close", () => {
    if (out.writableFinished) return;
    state.gone = true;
    ctrl.abort();
  });
  const onStop = () => {
    state.shutdown = true;
    ctrl.abort();
  };
  if (stop.aborted) onStop();
  else stop.addEventListener("abort", onStop, { once: true });
  return state;
}

function shuttingDown(): HttpError {
  return new HttpError(503, "service_unavailable", "the gateway is shutting down", "shutting_down");
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

/** The upstream's error message, for relaying a rejection the client caused (redacted where it is sent). */
function upstreamMessage(e: UpstreamFailure): string {
  let msg = e.message;
  if (e.body) {
    try {
      const parsed = JSON.parse(e.body) as { error?: { message?: unknown } };
      if (typeof parsed.error?.message === "string") msg = parsed.error.message;
    } catch {
      msg = e.body.slice(0, 300);
    }
  }
  return msg;
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
    if (signal.aborted) queueMicrotask(onAbort);
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
