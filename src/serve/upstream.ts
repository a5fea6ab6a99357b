import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { ModelConfig, ProviderConfig, ProvidersConfig } from "../llm/providers.ts";
import { type Redact, redactor } from "../util/redact.ts";

/**
 * The gateway's connection to upstream OpenAI-compatible servers: a keep-alive agent per provider and, per
 * model, the precomputed request target. This is a byte-level relay, not a chat client: the gateway forwards
 * the client's body (model name swapped) and relays the upstream's reply as is, so tool calls, logprobs and
 * any field the upstream adds reach the client unchanged, and falling back to another model is the
 * gateway's decision rather than a retry of the same upstream. Upstream keys come only from the environment,
 * are sent only upstream and never appear in logs, errors or responses.
 */

export interface Upstream {
  /** FusionKit model name (providers file). */
  name: string;
  model: ModelConfig;
  provider: ProviderConfig;
  /** The model id as the upstream names it, as a JSON string literal (spliced into the body). */
  upstreamIdJson: string;
}

const CLIENT_FAULTS = new Set([400, 413, 422]);

export type FailureKind = "connect" | "timeout" | "status" | "malformed" | "error_event" | "aborted";

/** Why an attempt at one upstream failed; `retryable` failures move on to the next candidate. */
export class UpstreamFailure extends Error {
  readonly kind: FailureKind;
  readonly status: number | null;
  readonly retryable: boolean;
  /** The upstream's own error body (4xx that are the client's fault are passed through). */
  readonly body: string | null;
  constructor(kind: FailureKind, message: string, status: number | null = null, body: string | null = null) {
    super(message);
    this.name = "UpstreamFailure";
    this.kind = kind;
    this.status = status;
    this.body = body;
    // 400/413/422 mean the request itself is bad: another model would refuse it too. Everything else
    // (429, 5xx, and 401/403/404, which are the gateway's configuration, not the client's fault) moves on.
    this.retryable = kind !== "status" || !CLIENT_FAULTS.has(status ?? 0);
  }
}

interface Target {
  https: boolean;
  hostname: string;
  port: number;
  path: string;
  agent: HttpAgent;
  headers: Record<string, string>;
  timeoutMs: number;
}

export class UpstreamPool {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly targets = new Map<string, Target>();
  private readonly agents: HttpAgent[] = [];
  /** Removes every upstream key from a text (the gateway's one redaction, see util/redact.ts). */
  readonly redact: Redact;

  constructor(config: ProvidersConfig, env: NodeJS.ProcessEnv = process.env) {
    const secrets: string[] = [];
    const byProvider = new Map<string, Target>();
    for (const provider of config.providers.values()) {
      const url = new URL(`${provider.baseUrl}/chat/completions`);
      const https = url.protocol === "https:";
      const agentOpts = { keepAlive: true, maxSockets: provider.maxConcurrency, keepAliveMsecs: 1000 };
      const agent = https ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
      this.agents.push(agent);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      };
      if (provider.apiKeyEnv) {
        const key = env[provider.apiKeyEnv];
        if (key) {
          headers.authorization = `Bearer ${key}`;
          secrets.push(key);
        }
      }
      byProvider.set(provider.name, {
        https,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port) || (https ? 443 : 80),
        path: url.pathname + url.search,
        agent,
        headers,
        timeoutMs: provider.timeoutMs,
      });
    }
    for (const model of config.models.values()) {
      const provider = config.providers.get(model.provider) as ProviderConfig;
      this.upstreams.set(model.name, {
        name: model.name,
        model,
        provider,
        upstreamIdJson: JSON.stringify(model.upstreamId),
      });
      this.targets.set(model.name, byProvider.get(provider.name) as Target);
    }
    this.redact = redactor(secrets);
  }

  get(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  all(): Upstream[] {
    return [...this.upstreams.values()];
  }

  /** Providers whose key variable is named but unset (reported at startup, never the value). */
  static missingKeys(config: ProvidersConfig, env: NodeJS.ProcessEnv = process.env): string[] {
    const out: string[] = [];
    for (const p of config.providers.values())
      if (p.apiKeyEnv && !env[p.apiKeyEnv]) out.push(`${p.name} (${p.apiKeyEnv})`);
    return out;
  }

  timeoutOf(name: string): number {
    return (this.targets.get(name) as Target).timeoutMs;
  }

  /**
   * POST the body to the model's upstream; resolves with the response once its status line and headers
   * arrive. Connection errors, the timeout (to the headers) and `signal` reject with an UpstreamFailure.
   */
  send(name: string, body: Buffer, signal: AbortSignal): Promise<{ res: IncomingMessage; req: ClientRequest }> {
    const t = this.targets.get(name) as Target;
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = (t.https ? httpsRequest : httpRequest)(
        {
          agent: t.agent,
          hostname: t.hostname,
          port: t.port,
          path: t.path,
          method: "POST",
          headers: { ...t.headers, "content-length": body.length },
        },
        (res) => {
          if (settled) {
            res.resume();
            return;
          }
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve({ res, req });
        },
      );
      const fail = (f: UpstreamFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        req.destroy();
        reject(f);
      };
      const timer = setTimeout(
        () => fail(new UpstreamFailure("timeout", `no response from upstream within ${t.timeoutMs} ms`)),
        t.timeoutMs,
      );
      const onAbort = () => fail(new UpstreamFailure("aborted", "request aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", (e: NodeJS.ErrnoException) =>
        fail(new UpstreamFailure("connect", `upstream connection failed: ${e.code ?? e.message}`)),
      );
      req.end(body);
    });
  }

  close(): void {
    for (const a of this.agents) a.destroy();
  }
}
