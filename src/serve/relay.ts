import type { IncomingMessage, ServerResponse } from "node:http";
import { costOf } from "../data/cost.ts";
import type { ChatCall } from "./controller.ts";
import type { ClientGone, Outcome } from "./fallback.ts";
import type { Metrics } from "./metrics.ts";
import type { Plan, Planned } from "./plan.ts";
import type { Reporter } from "./report.ts";
import type { ChatBody } from "./request.ts";
import { acceptsTrailers, errorEvent, SseRelay } from "./sse.ts";
import { estimateTokens } from "./tokens.ts";
import { UpstreamFailure, type UpstreamPool } from "./upstream.ts";

/**
 * The byte-level relay between one upstream and the client: the body sent upstream (the client's, model id
 * swapped, knobs removed), then the reply — a plain one read whole and checked, a stream relayed event by event
 * once its first event proves it is one. Everything relayed goes through the one redaction.
 */

export interface RelayDeps {
  upstreams: UpstreamPool;
  metrics: Metrics;
  report: Reporter;
}

/** One try of one candidate: what the plain and the streamed path both need. */
export interface UpstreamTry {
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

export class Relay {
  readonly deps: RelayDeps;
  constructor(deps: RelayDeps) {
    this.deps = deps;
  }

  /** The client's body for one upstream: its model id, knobs removed, templates and mode applied. */
  forwardBody(body: ChatBody, cand: Planned, template: string | null): Buffer {
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
      "x-fusionkit-model": servedName(cand),
      "x-fusionkit-upstream-model": this.deps.upstreams.get(cand.model)?.model.upstreamId ?? cand.model,
      "x-fusionkit-attempts": String(attempts),
    };
    if (plan.router) h["x-fusionkit-router"] = plan.router;
    if (plan.virtual) h["x-fusionkit-router-artifact"] = encodeURI(plan.virtual.router.artifact);
    if (plan.explored) h["x-fusionkit-explore"] = plan.explored.ranked;
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

  /** Relay one plain (non-streamed) reply: read whole, checked, redacted, sent with its cost header. */
  async plain(job: UpstreamTry): Promise<Outcome> {
    const { cand, plan, call, out, attempts } = job;
    const { outcome, reply: parsed } = await this.fetchPlain(job);
    const reply = Buffer.from(this.deps.upstreams.redact(JSON.stringify(parsed)));
    const headers = this.headers(cand, plan, call, attempts);
    headers["content-type"] = "application/json";
    headers["content-length"] = String(reply.length);
    headers["x-fusionkit-cost"] = (outcome.cost ?? 0).toPrecision(6);
    out.writeHead(200, headers);
    out.end(reply);
    return outcome;
  }

  /**
   * One plain reply read whole and checked, without sending anything to the client: the reply object (model
   * set to the FusionKit name, cost in usage; not yet redacted) and its outcome. Multi-call policies
   * (policy.ts) gather several of these before answering.
   */
  async fetchPlain(job: UpstreamTry): Promise<{ outcome: Outcome; reply: Record<string, unknown> }> {
    const { cand, upstreamBody, plan, call, closed } = job;
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
    // OpenAI compatibility: `model` is the FusionKit name that served (the upstream id is a header), and the
    // cost is in the body (`usage.cost`, as OpenRouter reports it), where SDKs can read it.
    (parsed as { model?: unknown }).model = servedName(cand);
    const usage = (parsed.usage && typeof parsed.usage === "object" ? parsed.usage : {}) as Record<string, unknown>;
    usage.cost = cost;
    (parsed as { usage?: unknown }).usage = usage;
    const outcome: Outcome = {
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
    return { outcome, reply: parsed as Record<string, unknown> };
  }

  /**
   * Relay one upstream stream. Nothing is sent to the client until the first event with data proves the reply
   * is a real stream (a JSON chunk or [DONE]): a 200 with HTML, invalid JSON or an error event before that is
   * a failure of this candidate, and the next one serves. Once committed, any failure ends the client's stream
   * with an error event. No callback here throws: an unexpected error ends the attempt like an upstream fault.
   */
  async stream(job: UpstreamTry, body: ChatBody): Promise<Outcome> {
    const { cand, upstreamBody, plan, call, out, closed, attempts } = job;
    const d = this.deps;
    const res = await this.sendOk(cand, upstreamBody, closed);
    const relay = new SseRelay(!body.wantsUsage, d.upstreams.redact);
    // OpenAI compatibility, as for plain replies: each chunk's `model` is the FusionKit name that serves, and
    // the usage chunk (sent when the client asks for usage) carries the cost. String edits on the relayed
    // events: chunks are already JSON text, and re-serialising each would cost more than the relay itself.
    const upstreamModel = new RegExp(
      `"model":\\s*${escapeRegExp(d.upstreams.get(cand.model)?.upstreamIdJson ?? "")}`,
      "g",
    );
    const fkModel = `"model":${JSON.stringify(servedName(cand))}`;
    const compat = (events: string): string => {
      if (!events) return events;
      let text = events.replace(upstreamModel, fkModel);
      const t = relay.tally;
      if (t.inputTokens !== null && t.outputTokens !== null && /"usage":\s*\{/.test(text))
        text = text.replace(
          /"usage":\s*\{/,
          `"usage":{"cost":${this.cost(cand.model, t.inputTokens, t.outputTokens)},`,
        );
      return text;
    };
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
      const result = (status: number, error: string | null): Outcome => {
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
        const forward = compat(relay.feed(chunk));
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

/** The FusionKit name of a candidate as clients see it (`<model>_think` for the think mode). */
function servedName(cand: Planned): string {
  return cand.mode === "think" ? `${cand.model}_think` : cand.model;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
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
