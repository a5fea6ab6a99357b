import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { ProvidersConfig } from "../llm/providers.ts";
import type { Breakers } from "./breaker.ts";
import type { RouteOn } from "./conversation.ts";
import { asHttpError, badRequest, errorBody, HttpError } from "./errors.ts";
import { clientGone, type Served, shuttingDown, type Trace, tryCandidates } from "./fallback.ts";
import type { Exchange, ExchangeLog } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type Plan, planRequest } from "./plan.ts";
import { policyLabel, type ServedPolicy, servePolicy } from "./policy.ts";
import { Relay, type UpstreamTry } from "./relay.ts";
import type { Reporter } from "./report.ts";
import { type ChatBody, parseChatBody } from "./request.ts";
import type { Sessions } from "./sessions.ts";
import type { UpstreamPool } from "./upstream.ts";
import type { VirtualModel } from "./virtual.ts";

/**
 * The gateway's logic, independent of the HTTP framework: validate a chat request, plan its candidates
 * (plan.ts: virtual model → router ranking, filters, sticky sessions; upstream name → itself), try them in
 * order (fallback.ts) through the relay (relay.ts), turn any error into the client's OpenAI-style error in one
 * place, and log the exchange. It also owns the requests in flight, so shutdown can end and log each one.
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
  /** Multi-call policies served as virtual models (fusionkit/cascade, fusionkit/vote). */
  policies?: Map<string, ServedPolicy>;
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
  /** Sessions spread over the candidates within this much of the top score (0: the top one). */
  sessionTolerance: number;
  /** `--explore`: share of routed requests sent to the runner-up (explore.ts). */
  explore?: number;
  random?: () => number;
}

export interface ChatCall {
  requestId: string;
  keyId: string | null;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  start: number;
}

export function newRequestId(): string {
  return `fkreq-${randomUUID()}`;
}

export class Gateway {
  readonly deps: GatewayDeps;
  /** Requests being served: shutdown ends each one (with an error if unfinished) and waits until it is logged. */
  private readonly active = new Set<{ stop: AbortController; done: Promise<void> }>();
  private draining = false;
  private readonly relay: Relay;
  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.relay = new Relay(deps);
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
    let policyRouter: string | null = null;
    const trace: Trace = { attempts: 0 };
    d.metrics.inFlight++;
    try {
      body = parseChatBody(value);
      if (this.draining) throw shuttingDown();
      const policy = d.policies?.get(body.model);
      if (policy) {
        policyRouter = policyLabel(policy);
        served = await servePolicy(d, this.relay, policy, body, rawBody, call, out, clientGone(out, stop));
      } else {
        plan = await planRequest(d, body, call.headers);
        served = await this.attempt(body, plan, call, out, trace, stop);
      }
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
    if (plan?.explored && served.model && served.status < 400)
      d.metrics.explored(served.model, served.cost ?? 0, plan.explored.predictedExtraCost);
    if (!body) return; // not a chat request at all (bad JSON shape): nothing to learn from
    const exchange: Exchange = {
      requestId: call.requestId,
      at: Date.now(),
      keyId: call.keyId,
      session: plan?.session ?? null,
      requestedModel: body.model,
      router: plan?.router ?? policyRouter,
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
      explored: plan?.explored?.ranked ?? null,
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

  /** Try the planned candidates in order (fallback.ts), each through the relay; a served session sticks. */
  private async attempt(
    body: ChatBody,
    plan: Plan,
    call: ChatCall,
    out: ServerResponse,
    trace: Trace,
    stop: AbortSignal,
  ): Promise<Served> {
    const d = this.deps;
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
    const served = await tryCandidates(d, plan.tried, closed, trace, (cand, attempts) => {
      const upstreamBody = this.relay.forwardBody(body, cand, template);
      const job: UpstreamTry = { cand, upstreamBody, plan, call, out, closed, attempts };
      return body.stream ? this.relay.stream(job, body) : this.relay.plain(job);
    });
    return served;
  }
}

// Re-exported for the chat route, which does not otherwise need these modules.
export type { IncomingMessage };
