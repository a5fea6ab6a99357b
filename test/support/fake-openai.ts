/**
 * A real local HTTP server speaking the OpenAI chat-completions protocol — the one fake the project allows.
 * Production client code runs against it over real sockets. Each model gets a behaviour: a fixed reply, an
 * echo, answers chosen by a substring of the prompt, or a script of steps consumed one per request (429 with
 * Retry-After, 5xx, delays, hangs, malformed bodies, mid-stream failures); the last step repeats.
 *
 * In-process: `const fake = await startFakeOpenAI({ models: { m: { reply: "hi" } } })`, then `fake.url`.
 * Standalone: `node --import tsx test/support/fake-openai.ts --port 0 [--config cfg.json] [--api-key K]`
 * prints `fake-openai listening <url>` on stdout; GET /_fake/stats and POST /_fake/config control it.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pathToFileURL } from "node:url";

export interface FakeReply {
  /** Fixed answer text. */
  reply?: string;
  /** Answer with the last user message. */
  echo?: boolean;
  /** Wait before sending headers (a client timeout shorter than this triggers). */
  delayMs?: number;
  /** Wait between streamed chunks. */
  chunkDelayMs?: number;
  /** Override the usage numbers; false omits the usage object. Default: whitespace word counts. */
  usage?: { prompt: number; completion: number } | false;
  finishReason?: string;
}
export interface FakeStatus {
  status: number;
  /** Retry-After header value (seconds, or an HTTP date). */
  retryAfter?: number | string;
  message?: string;
  delayMs?: number;
}
export interface FakeMalformed {
  /** "json": invalid JSON with a JSON content type; "shape": valid JSON without choices; "html": an HTML page. */
  malformed: "json" | "shape" | "html";
}
export interface FakeHang {
  /** Never answer; the connection stays open until the client gives up. */
  hang: true;
}
export interface FakeMidStreamFailure {
  /** Streaming: send this many content chunks, then destroy the socket. Non-streaming: destroy at once. */
  failAfterChunks: number;
  reply?: string;
}
export interface FakeStreamError {
  /**
   * Streaming: send `afterChunks` content chunks (default 0), then `data: {"error": {"message": streamError}}` and
   * end without [DONE], as providers do when a stream fails upstream. Non-streaming: a 500 with that message.
   */
  streamError: string;
  afterChunks?: number;
}
export type FakeStep = FakeReply | FakeStatus | FakeMalformed | FakeHang | FakeMidStreamFailure | FakeStreamError;

export interface FakeModel extends FakeReply {
  /** Consumed one per request to this model; the last step repeats. Takes precedence over the fields below. */
  steps?: FakeStep[];
  /** Prompt substring → answer; the first key found in the last user message wins, else `reply`/`echo`. */
  answers?: Record<string, string>;
}

export interface FakeOpenAIOptions {
  port?: number;
  host?: string;
  models?: Record<string, FakeModel>;
  /** Behaviour for models not listed; when absent they get 404 model_not_found. */
  defaultModel?: FakeModel;
  /** When set, requests must send "Authorization: Bearer <apiKey>"; others get a 401 that quotes the key sent. */
  apiKey?: string;
}

export interface RecordedRequest {
  model: string;
  stream: boolean;
  body: Record<string, unknown>;
  authorization: string | null;
  /** Outcome as served: "ok", "status 429", "malformed json", "hang", "mid-stream failure", ... */
  served: string;
}

interface Message {
  role: string;
  content: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : ""))
      .join(" ");
  return "";
}

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private readonly inFlightByModel = new Map<string, number>();
  readonly maxInFlightByModel = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private options: FakeOpenAIOptions;
  url = "";
  port = 0;

  constructor(options: FakeOpenAIOptions = {}) {
    this.options = options;
  }

  /** Replace a model's behaviour and restart its step script. */
  setModel(name: string, model: FakeModel): void {
    this.options.models = { ...(this.options.models ?? {}), [name]: model };
    this.calls.delete(name);
  }

  configure(options: Pick<FakeOpenAIOptions, "models" | "defaultModel" | "apiKey">): void {
    this.options = { ...this.options, ...options };
    this.calls.clear();
  }

  /** Forget recorded requests and concurrency peaks (behaviours stay). */
  reset(): void {
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
    this.maxInFlightByModel.clear();
    this.calls.clear();
  }

  requestsFor(model: string): RecordedRequest[] {
    return this.requests.filter((r) => r.model === model);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `fake server bug: ${(e as Error).message}` } }));
      });
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.port = addr.port;
    this.url = `http://${this.options.host ?? "127.0.0.1"}:${addr.port}/v1`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private stats() {
    return {
      requests: this.requests.length,
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
      maxInFlightByModel: Object.fromEntries(this.maxInFlightByModel),
      byModel: Object.fromEntries(
        [...new Set(this.requests.map((r) => r.model))].map((m) => [m, this.requestsFor(m).length]),
      ),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };

    if (req.method === "GET" && path === "/_fake/stats") return json(200, this.stats());
    if (req.method === "POST" && path === "/_fake/config") {
      this.configure(JSON.parse(raw) as FakeOpenAIOptions);
      return json(200, { ok: true });
    }
    if (req.method === "POST" && path === "/_fake/reset") {
      this.reset();
      return json(200, { ok: true });
    }
    if (req.method === "GET" && (path === "/v1/models" || path === "/models"))
      return json(200, {
        object: "list",
        data: Object.keys(this.options.models ?? {}).map((id) => ({ id, object: "model", owned_by: "fake" })),
      });
    if (req.method !== "POST" || !(path === "/v1/chat/completions" || path === "/chat/completions"))
      return json(404, { error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error" } });

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(400, { error: { message: "request body is not JSON", type: "invalid_request_error" } });
    }
    const model = String(body.model ?? "");
    const stream = body.stream === true;
    const authorization = req.headers.authorization ?? null;
    const record: RecordedRequest = { model, stream, body, authorization, served: "ok" };
    this.requests.push(record);

    if (this.options.apiKey && authorization !== `Bearer ${this.options.apiKey}`) {
      const sent = (authorization ?? "").replace(/^Bearer /, "");
      record.served = "status 401";
      // Real providers quote the offending key in the message; clients must not pass it on.
      return json(401, {
        error: {
          message: `Incorrect API key provided: ${sent}.`,
          type: "invalid_request_error",
          code: "invalid_api_key",
        },
      });
    }
    const cfg = this.options.models?.[model] ?? this.options.defaultModel;
    if (!cfg) {
      record.served = "status 404";
      return json(404, {
        error: {
          message: `The model '${model}' does not exist`,
          type: "invalid_request_error",
          code: "model_not_found",
        },
      });
    }
    const n = this.calls.get(model) ?? 0;
    this.calls.set(model, n + 1);
    const step: FakeStep = cfg.steps?.length ? (cfg.steps[Math.min(n, cfg.steps.length - 1)] as FakeStep) : cfg;

    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const m = (this.inFlightByModel.get(model) ?? 0) + 1;
    this.inFlightByModel.set(model, m);
    this.maxInFlightByModel.set(model, Math.max(this.maxInFlightByModel.get(model) ?? 0, m));
    try {
      await this.serve(step, cfg, body, stream, record, req, res);
    } finally {
      this.inFlight--;
      this.inFlightByModel.set(model, (this.inFlightByModel.get(model) ?? 1) - 1);
    }
  }

  private async serve(
    step: FakeStep,
    cfg: FakeModel,
    body: Record<string, unknown>,
    stream: boolean,
    record: RecordedRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    if ("hang" in step) {
      record.served = "hang";
      await new Promise<void>((resolve) => {
        req.socket.once("close", () => resolve());
      });
      return;
    }
    if ("status" in step) {
      record.served = `status ${step.status}`;
      if (step.delayMs) await sleep(step.delayMs);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (step.retryAfter !== undefined) headers["retry-after"] = String(step.retryAfter);
      res.writeHead(step.status, headers);
      res.end(JSON.stringify({ error: { message: step.message ?? `fake status ${step.status}`, type: "fake_error" } }));
      return;
    }
    if ("streamError" in step) {
      record.served = "stream error";
      if (!stream) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: step.streamError, type: "server_error" } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const chunk = (content: string) =>
        `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", created: 0, model: String(body.model), choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      for (let i = 0; i < (step.afterChunks ?? 0); i++) res.write(chunk(`part${i} `));
      res.end(`data: ${JSON.stringify({ error: { message: step.streamError, type: "server_error" } })}\n\n`);
      return;
    }
    if ("malformed" in step) {
      record.served = `malformed ${step.malformed}`;
      if (step.malformed === "html") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><body>502 Bad Gateway</body></html>");
      } else if (step.malformed === "json") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"id": "x", "choices": [');
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion", result: "no choices here" }));
      }
      return;
    }

    const messages = (Array.isArray(body.messages) ? body.messages : []) as Message[];
    const lastUser = textOf([...messages].reverse().find((x) => x.role === "user")?.content);
    const failAfter = "failAfterChunks" in step ? step.failAfterChunks : null;
    const r = step as FakeReply;
    const matched = cfg.answers ? Object.keys(cfg.answers).find((k) => lastUser.includes(k)) : undefined;
    let text: string;
    if (r.reply !== undefined && step !== cfg)
      text = r.reply; // a scripted step's own reply wins
    else if (matched !== undefined) text = cfg.answers?.[matched] as string;
    else if (r.echo) text = lastUser;
    else text = r.reply ?? "";
    if (r.delayMs) await sleep(r.delayMs);
    if (res.destroyed) return;

    const promptTokens = words(messages.map((x) => textOf(x.content)).join(" "));
    const usage =
      r.usage === false
        ? undefined
        : r.usage
          ? { prompt_tokens: r.usage.prompt, completion_tokens: r.usage.completion }
          : { prompt_tokens: promptTokens, completion_tokens: words(text) };
    const fullUsage = usage && { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
    const id = `chatcmpl-fake-${this.requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body.model);
    const finish = r.finishReason ?? "stop";

    if (!stream) {
      if (failAfter !== null) {
        record.served = "mid-stream failure";
        res.socket?.destroy();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: finish }],
          ...(fullUsage ? { usage: fullUsage } : {}),
        }),
      );
      return;
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
      send({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      });
    chunk({ role: "assistant", content: "" }, null);
    const pieces = text.match(/\S+\s*|\s+/g) ?? [];
    let sent = 0;
    for (const p of pieces) {
      if (failAfter !== null && sent >= failAfter) break;
      if (r.chunkDelayMs) await sleep(r.chunkDelayMs);
      if (res.destroyed) return;
      chunk({ content: p }, null);
      sent++;
    }
    if (failAfter !== null) {
      record.served = "mid-stream failure";
      // Let the written chunks reach the client before the connection dies.
      await sleep(20);
      res.socket?.destroy();
      return;
    }
    chunk({}, finish);
    const opts = body.stream_options as { include_usage?: boolean } | undefined;
    if (opts?.include_usage && fullUsage)
      send({ id, object: "chat.completion.chunk", created, model, choices: [], usage: fullUsage });
    res.write("data: [DONE]\n\n");
    res.end();
  }
}

/**
 * A providers file (YAML text) with one provider at `url` serving `models` (upstream id = name), for tests.
 * Prices default to 1 USD / 2 USD per 1M tokens so costs are easy to check by hand.
 */
export function providersYaml(
  url: string,
  models: string[],
  opts: {
    provider?: string;
    apiKeyEnv?: string;
    maxConcurrency?: number;
    timeoutMs?: number;
    retries?: number;
    inputPrice?: number;
    outputPrice?: number;
  } = {},
): string {
  const p = opts.provider ?? "fake";
  const lines = [
    "providers:",
    `  - name: ${p}`,
    `    baseUrl: ${url}`,
    ...(opts.apiKeyEnv ? [`    apiKeyEnv: ${opts.apiKeyEnv}`] : []),
    `    maxConcurrency: ${opts.maxConcurrency ?? 4}`,
    `    timeoutMs: ${opts.timeoutMs ?? 5000}`,
    `    retries: ${opts.retries ?? 3}`,
    "models:",
  ];
  for (const m of models)
    lines.push(
      `  - name: ${m}`,
      `    provider: ${p}`,
      `    upstreamId: ${m}`,
      `    inputPrice: ${opts.inputPrice ?? 1}`,
      `    outputPrice: ${opts.outputPrice ?? 2}`,
    );
  return `${lines.join("\n")}\n`;
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  return new FakeOpenAI(options).start();
}

/** Standalone process for integration tests that want the upstream in another process. */
async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const config = arg("--config");
  const options: FakeOpenAIOptions = config ? (JSON.parse(readFileSync(config, "utf8")) as FakeOpenAIOptions) : {};
  if (!options.models && !options.defaultModel) options.defaultModel = { echo: true };
  const port = arg("--port");
  if (port !== undefined) options.port = Number(port);
  const key = arg("--api-key");
  if (key) options.apiKey = key;
  const fake = await startFakeOpenAI(options);
  process.stdout.write(`fake-openai listening ${fake.url}\n`);
  const stop = () => fake.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
