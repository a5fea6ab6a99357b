import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { costOf } from "../data/cost.ts";
import type { Store } from "../data/store.ts";
import { gpt2Tokens } from "../data/tokens.ts";
import { redact } from "../util/redact.ts";
import { cacheKey, ResponseCache } from "./cache.ts";
import { LlmError } from "./errors.ts";
import { type ModelConfig, type ProviderConfig, type ProvidersConfig, resolveModel } from "./providers.ts";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, retryAfterMs } from "./retry.ts";
import { Semaphore } from "./semaphore.ts";
import type { ChatClient, ChatMessage, ChatRequest, ChatResult, ChatStreamEvent } from "./types.ts";

export interface RetryEvent {
  provider: string;
  model: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  reason: string;
}

export interface ClientOptions {
  /** Enables the response cache (table llm_cache in this store). */
  store?: Store;
  /** Use the cache when a store is given (default true). */
  cache?: boolean;
  backoff?: Partial<BackoffOptions>;
  /** Where API keys are read from (default process.env). */
  env?: Record<string, string | undefined>;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
}

/** Running totals; `costUsd` counts only calls actually paid for (cache hits are free). */
export interface Spend {
  calls: number;
  cacheHits: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

interface Failure {
  retryable: boolean;
  fatal: boolean;
  status: number | null;
  message: string;
  retryAfterMs: number | null;
}

/** The upstream answered 200 with something that is not a chat completion. */
class MalformedResponse extends Error {}

interface Target {
  model: ModelConfig;
  provider: ProviderConfig;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(body: unknown): string {
  if (typeof body === "string") return `text starting ${JSON.stringify(body.slice(0, 80))}`;
  if (isObject(body)) return `JSON with keys ${Object.keys(body).slice(0, 8).join(", ") || "(none)"}`;
  return String(body);
}

/** Content, finish reason and usage of a non-streamed completion, or MalformedResponse saying what is wrong. */
type Usage = { prompt_tokens?: unknown; completion_tokens?: unknown } | null;

function readCompletion(body: unknown): { content: string; finishReason: string | null; usage: Usage } {
  if (!isObject(body)) throw new MalformedResponse(`expected a JSON chat completion, got ${describe(body)}`);
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0)
    throw new MalformedResponse(`response has no "choices" (got ${describe(body)})`);
  const first = choices[0];
  if (!isObject(first) || !isObject(first.message))
    throw new MalformedResponse('response "choices[0].message" is missing or not an object');
  const content = first.message.content;
  if (content !== null && content !== undefined && typeof content !== "string")
    throw new MalformedResponse('response "choices[0].message.content" is not a string');
  return {
    content: content ?? "",
    finishReason: typeof first.finish_reason === "string" ? first.finish_reason : null,
    usage: isObject(body.usage) ? body.usage : null,
  };
}

function tokensOr(value: unknown, fallback: () => number): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback();
}

function promptText(messages: ChatMessage[]): string {
  return messages.map((m) => m.content).join("\n");
}

/** The reply's token counts, or GPT-2 counts of prompt and answer where the provider reported none. */
function countTokens(usage: Usage, req: ChatRequest, content: string): { inputTokens: number; outputTokens: number } {
  return {
    inputTokens: tokensOr(usage?.prompt_tokens, () => gpt2Tokens(promptText(req.messages))),
    outputTokens: tokensOr(usage?.completion_tokens, () => gpt2Tokens(content)),
  };
}

/** One attempt's hold on a provider: a concurrency slot and an abort signal that follows the caller's. */
interface Attempt {
  signal: AbortSignal;
  /** Set when the deadline, not the caller, aborted the attempt. */
  timedOut: boolean;
  /** (Re)start the deadline: once for a whole call, or on every chunk for an idle deadline. */
  arm(): void;
  disarm(): void;
  /** Stop the deadline, unhook from the caller's signal and free the slot. */
  end(): void;
}

async function startAttempt(sem: Semaphore, timeoutMs: number, signal?: AbortSignal): Promise<Attempt> {
  const release = await sem.acquire(signal);
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const attempt: Attempt = {
    signal: ac.signal,
    timedOut: false,
    arm() {
      clearTimeout(timer);
      timer = setTimeout(() => {
        attempt.timedOut = true;
        ac.abort();
      }, timeoutMs);
    },
    disarm() {
      clearTimeout(timer);
    },
    end() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      release();
    },
  };
  attempt.arm();
  return attempt;
}

/**
 * The production ChatClient: the official `openai` package against any OpenAI-compatible base URL.
 * Adds what the SDK does not do the way we need: retries with backoff + jitter honouring Retry-After
 * (429, 408, 409, 5xx, timeouts, connection errors), a per-provider concurrency limit, token/cost accounting
 * from the providers file, a response cache in the store, and key redaction in every error.
 */
export class OpenAIChatClient implements ChatClient {
  readonly spend: Spend = { calls: 0, cacheHits: 0, retries: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  private readonly sdks = new Map<string, OpenAI>();
  private readonly limits = new Map<string, Semaphore>();
  private readonly cache: ResponseCache | null;
  private readonly backoff: BackoffOptions;
  private readonly env: Record<string, string | undefined>;
  private readonly random: () => number;

  constructor(
    readonly config: ProvidersConfig,
    private readonly options: ClientOptions = {},
  ) {
    this.cache = options.store && options.cache !== false ? new ResponseCache(options.store.db) : null;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.env = options.env ?? process.env;
    this.random = options.random ?? Math.random;
  }

  /** Calls to this provider in flight right now (for tests and the gateway's status page). */
  inFlight(provider: string): number {
    return this.limits.get(provider)?.inUse ?? 0;
  }

  private secretOf(provider: ProviderConfig): string | undefined {
    return provider.apiKeyEnv ? this.env[provider.apiKeyEnv] : undefined;
  }

  private sdkFor(provider: ProviderConfig): OpenAI {
    const existing = this.sdks.get(provider.name);
    if (existing) return existing;
    let apiKey = "none"; // keyless local servers (vLLM, Ollama) ignore the header
    if (provider.apiKeyEnv) {
      const key = this.env[provider.apiKeyEnv];
      if (!key)
        throw new LlmError(
          `provider "${provider.name}": environment variable ${provider.apiKeyEnv} is not set (it must hold the API key)`,
          { fatal: true, attempts: 0 },
        );
      apiKey = key;
    }
    const sdk = new OpenAI({ apiKey, baseURL: provider.baseUrl, maxRetries: 0, timeout: provider.timeoutMs });
    this.sdks.set(provider.name, sdk);
    return sdk;
  }

  private limiter(provider: ProviderConfig): Semaphore {
    let s = this.limits.get(provider.name);
    if (!s) {
      s = new Semaphore(provider.maxConcurrency);
      this.limits.set(provider.name, s);
    }
    return s;
  }

  private key(t: Target, req: ChatRequest): string {
    return cacheKey({
      baseUrl: t.provider.baseUrl,
      upstreamId: t.model.upstreamId,
      messages: req.messages,
      temperature: req.temperature,
      maxTokens: req.maxTokens,
      extra: req.extra,
    });
  }

  private body(t: Target, req: ChatRequest): Record<string, unknown> {
    return {
      ...(req.extra ?? {}),
      model: t.model.upstreamId,
      messages: req.messages,
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
    };
  }

  private result(t: Target, req: ChatRequest, r: Omit<ChatResult, "model" | "cost" | "cached">): ChatResult {
    const res: ChatResult = {
      model: t.model.name,
      cost: costOf(t.model.inputPrice, t.model.outputPrice, r.inputTokens, r.outputTokens),
      cached: false,
      ...r,
    };
    this.spend.calls++;
    this.spend.inputTokens += res.inputTokens;
    this.spend.outputTokens += res.outputTokens;
    this.spend.costUsd += res.cost;
    if (this.cache && !req.noCache) this.cache.put(this.key(t, req), res);
    return res;
  }

  private cached(t: Target, req: ChatRequest): ChatResult | null {
    if (!this.cache || req.noCache) return null;
    const hit = this.cache.get(this.key(t, req));
    if (!hit) return null;
    this.spend.cacheHits++;
    return { ...hit, model: t.model.name, cached: true };
  }

  /** What went wrong, whether retrying can help; user aborts are rethrown as they are. */
  private classify(e: unknown, t: Target, signal: AbortSignal | undefined, timedOut: boolean): Failure {
    const secret = this.secretOf(t.provider);
    const clean = (s: string) => redact(s, [secret]);
    if (signal?.aborted) throw signal.reason ?? e;
    const base = { fatal: false, status: null, retryAfterMs: null };
    if (timedOut || e instanceof APIConnectionTimeoutError)
      return { ...base, retryable: true, message: `timed out after ${t.provider.timeoutMs} ms` };
    if (e instanceof APIUserAbortError) throw e;
    if (e instanceof APIConnectionError) {
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      return { ...base, retryable: true, message: clean(`connection error: ${cause ?? e.message}`) };
    }
    if (e instanceof APIError && typeof e.status === "number") {
      const status = e.status;
      const retryAfter = retryAfterMs(e.headers ?? undefined);
      const detail = clean(e.message);
      if (status === 429)
        return { retryable: true, fatal: false, status, retryAfterMs: retryAfter, message: `rate limited: ${detail}` };
      if (status === 408 || status === 409 || status >= 500)
        return {
          retryable: true,
          fatal: false,
          status,
          retryAfterMs: retryAfter,
          message: `upstream error: ${detail}`,
        };
      if (status === 401 || status === 403)
        return {
          retryable: false,
          fatal: true,
          status,
          retryAfterMs: null,
          message: `authentication failed (check ${t.provider.apiKeyEnv ?? "the provider's key"}): ${detail}`,
        };
      if (status === 404)
        return {
          retryable: false,
          fatal: true,
          status,
          retryAfterMs: null,
          message: `not found (is upstream id "${t.model.upstreamId}" right?): ${detail}`,
        };
      return { retryable: false, fatal: false, status, retryAfterMs: null, message: `request rejected: ${detail}` };
    }
    if (e instanceof MalformedResponse)
      return { ...base, retryable: false, message: `malformed response: ${e.message}` };
    if (e instanceof SyntaxError)
      return { ...base, retryable: false, message: clean(`malformed response: body is not valid JSON (${e.message})`) };
    // undici reports a connection dropped while reading the body as TypeError("terminated").
    if (e instanceof TypeError && /terminated|fetch failed|other side closed/i.test(e.message))
      return { ...base, retryable: true, message: clean(`connection dropped: ${e.message}`) };
    throw e;
  }

  private fail(t: Target, f: Failure, attempts: number): LlmError {
    const tries = attempts > 1 ? ` (gave up after ${attempts} attempts)` : "";
    return new LlmError(`${t.provider.name}/${t.model.name}: ${f.message}${tries}`, {
      status: f.status,
      fatal: f.fatal,
      attempts,
    });
  }

  /** After a failed attempt: throw when it is final, else wait out the backoff before the next one. */
  private async retryOrThrow(t: Target, f: Failure, attempt: number, signal?: AbortSignal): Promise<void> {
    if (!f.retryable || attempt >= t.provider.retries) throw this.fail(t, f, attempt + 1);
    const delayMs = backoffDelay(attempt, f.retryAfterMs, this.backoff, this.random);
    this.spend.retries++;
    this.options.onRetry?.({
      provider: t.provider.name,
      model: t.model.name,
      retry: attempt + 1,
      delayMs,
      reason: f.message,
    });
    await sleep(delayMs, signal);
  }

  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    const t = resolveModel(this.config, req.model);
    const hit = this.cached(t, req);
    if (hit) return hit;
    const sdk = this.sdkFor(t.provider);
    const sem = this.limiter(t.provider);
    for (let attempt = 0; ; attempt++) {
      // Our own deadline covers the whole call (the SDK's stops once headers arrive).
      const call = await startAttempt(sem, t.provider.timeoutMs, signal);
      let failure: Failure;
      const started = performance.now();
      try {
        const body = await sdk.chat.completions.create(
          this.body(t, req) as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
          { signal: call.signal },
        );
        const { content, finishReason, usage } = readCompletion(body);
        return this.result(t, req, {
          content,
          finishReason,
          ...countTokens(usage, req, content),
          latencyMs: performance.now() - started,
          raw: body,
        });
      } catch (e) {
        failure = this.classify(e, t, signal, call.timedOut);
      } finally {
        call.end();
      }
      await this.retryOrThrow(t, failure, attempt, signal);
    }
  }

  async *chatStream(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    const t = resolveModel(this.config, req.model);
    const hit = this.cached(t, req);
    if (hit) {
      yield { type: "delta", content: hit.content };
      yield { type: "done", result: hit };
      return;
    }
    const sdk = this.sdkFor(t.provider);
    const sem = this.limiter(t.provider);
    for (let attempt = 0; ; attempt++) {
      // Idle deadline: re-armed by every chunk, so long answers that keep flowing are not cut.
      const call = await startAttempt(sem, t.provider.timeoutMs, signal);
      let content = "";
      let yielded = false;
      let failure: Failure;
      const started = performance.now();
      try {
        const stream = await sdk.chat.completions.create(
          {
            ...(this.body(t, req) as unknown as OpenAI.ChatCompletionCreateParamsStreaming),
            stream: true,
            stream_options: { include_usage: true },
          },
          { signal: call.signal },
        );
        let usage: Usage = null;
        let finishReason: string | null = null;
        let last: unknown = null;
        for await (const chunk of stream as AsyncIterable<unknown>) {
          call.arm();
          if (!isObject(chunk)) throw new MalformedResponse(`stream chunk is not a JSON object (${describe(chunk)})`);
          last = chunk;
          if (isObject(chunk.usage)) usage = chunk.usage;
          const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
          if (!isObject(choice)) continue;
          if (typeof choice.finish_reason === "string") finishReason = choice.finish_reason;
          const delta = isObject(choice.delta) ? choice.delta : {};
          const text = typeof delta.content === "string" ? delta.content : "";
          const other = Object.keys(delta).some((k) => k !== "role" && k !== "content");
          if (text || other) {
            content += text;
            yielded = true;
            yield { type: "delta", content: text, raw: chunk };
          }
        }
        call.disarm();
        const result = this.result(t, req, {
          content,
          finishReason,
          ...countTokens(usage, req, content),
          latencyMs: performance.now() - started,
          raw: last,
        });
        yield { type: "done", result };
        return;
      } catch (e) {
        failure = this.classify(e, t, signal, call.timedOut);
        if (yielded)
          throw new LlmError(
            `${t.provider.name}/${t.model.name}: stream broke after ${content.length} characters: ${failure.message}`,
            { status: failure.status, attempts: attempt + 1 },
          );
      } finally {
        call.end();
      }
      await this.retryOrThrow(t, failure, attempt, signal);
    }
  }
}
