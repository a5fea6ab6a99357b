import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Store } from "../../src/data/store.ts";
import { OpenAIChatClient, type RetryEvent } from "../../src/llm/client.ts";
import { LlmError } from "../../src/llm/errors.ts";
import { parseProviders } from "../../src/llm/providers.ts";
import type { ChatResult, ChatStreamEvent } from "../../src/llm/types.ts";
import { tempDb } from "../helpers.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";

const FAST = { baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 5000 };
const KEY = "sk-test-SECRET-0123456789";

function client(fake: FakeOpenAI, models: string[], opts: Parameters<typeof providersYaml>[2] = {}, store?: Store) {
  const config = parseProviders(providersYaml(fake.url, models, opts), "test-providers.yaml");
  const retries: RetryEvent[] = [];
  const c = new OpenAIChatClient(config, {
    store,
    backoff: FAST,
    env: { FAKE_KEY: KEY, WRONG_KEY: "sk-wrong-LEAKME-987654321" },
    onRetry: (e) => retries.push(e),
  });
  return { c, retries };
}

const ask = (model: string, text: string) => ({ model, messages: [{ role: "user" as const, content: text }] });

async function collectStream(it: AsyncIterable<ChatStreamEvent>): Promise<{ deltas: string[]; result: ChatResult }> {
  const deltas: string[] = [];
  let result: ChatResult | null = null;
  for await (const ev of it) {
    if (ev.type === "delta") deltas.push(ev.content);
    else result = ev.result;
  }
  assert.ok(result, "stream ended without a done event");
  return { deltas, result };
}

describe("OpenAIChatClient against a real local OpenAI-protocol server", () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI({
      apiKey: KEY,
      models: {
        plain: { reply: "The answer is (B)." },
        echo: { echo: true },
        noUsage: { reply: "one two three", usage: false },
      },
    });
  });
  after(() => fake.close());

  test("plain chat: content, usage from the server, cost from the providers file prices", async () => {
    const { c } = client(fake, ["plain"], { apiKeyEnv: "FAKE_KEY" });
    const r = await c.chat(ask("plain", "Which one? pick"));
    assert.equal(r.content, "The answer is (B).");
    assert.equal(r.inputTokens, 3); // fake counts whitespace words
    assert.equal(r.outputTokens, 4);
    assert.equal(r.cost, (3 * 1 + 4 * 2) / 1e6);
    assert.equal(r.cached, false);
    assert.equal(r.finishReason, "stop");
    assert.equal(fake.requestsFor("plain").at(-1)?.authorization, `Bearer ${KEY}`);
    assert.equal(c.spend.calls, 1);
    assert.equal(c.spend.costUsd, r.cost);
  });

  test("missing usage falls back to GPT-2 token counts", async () => {
    const { c } = client(fake, ["noUsage"], { apiKeyEnv: "FAKE_KEY" });
    const r = await c.chat(ask("noUsage", "hello there"));
    assert.equal(r.outputTokens, 3); // "one two three" is 3 GPT-2 tokens
    assert.ok(r.inputTokens >= 2);
  });

  test("streamed chat yields deltas that add up to the answer, then usage and cost", async () => {
    const { c } = client(fake, ["echo"], { apiKeyEnv: "FAKE_KEY" });
    const { deltas, result } = await collectStream(c.chatStream(ask("echo", "stream these four words")));
    assert.ok(deltas.length >= 4, `expected several deltas, got ${deltas.length}`);
    assert.equal(deltas.join(""), "stream these four words");
    assert.equal(result.content, "stream these four words");
    assert.equal(result.inputTokens, 4);
    assert.equal(result.outputTokens, 4);
    assert.equal(result.cost, (4 + 8) / 1e6);
    const req = fake.requestsFor("echo").at(-1);
    assert.equal(req?.stream, true);
    assert.deepEqual(req?.body.stream_options, { include_usage: true });
  });

  test("an unknown FusionKit model is a usage error naming the providers file", async () => {
    const { c } = client(fake, ["plain"], { apiKeyEnv: "FAKE_KEY" });
    await assert.rejects(c.chat(ask("nope", "x")), /model "nope" is not in test-providers\.yaml/);
  });
});

describe("retries, timeouts, malformed answers, concurrency, cache, secrets", () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI({});
  });
  after(() => fake.close());

  test("429 with Retry-After is honoured, then success", async () => {
    fake.setModel("limited", { steps: [{ status: 429, retryAfter: 1 }, { reply: "ok now" }] });
    const { c, retries } = client(fake, ["limited"]);
    const t0 = performance.now();
    const r = await c.chat(ask("limited", "hi"));
    const waited = performance.now() - t0;
    assert.equal(r.content, "ok now");
    assert.equal(retries.length, 1);
    assert.equal(retries[0]?.delayMs, 1000);
    assert.match(retries[0]?.reason ?? "", /rate limited/);
    assert.ok(waited >= 950, `waited only ${waited} ms despite Retry-After: 1`);
    assert.equal(fake.requestsFor("limited").length, 2);
  });

  test("5xx twice then success; a persistent 5xx gives up after `retries` with a clear error", async () => {
    fake.setModel("flaky", { steps: [{ status: 502 }, { status: 503 }, { reply: "fine" }] });
    const { c } = client(fake, ["flaky", "down"], { retries: 2 });
    assert.equal((await c.chat(ask("flaky", "x"))).content, "fine");
    fake.setModel("down", { steps: [{ status: 500, message: "boom" }] });
    const err = await c.chat(ask("down", "x")).catch((e) => e);
    assert.ok(err instanceof LlmError);
    assert.equal(err.status, 500);
    assert.equal(err.attempts, 3);
    assert.match(err.message, /^fake\/down: upstream error: .*boom.*gave up after 3 attempts/);
  });

  test("a request that exceeds the timeout is retried, and succeeds when the server answers in time", async () => {
    fake.setModel("slow", { steps: [{ hang: true }, { reply: "late but fine", delayMs: 10 }] });
    const { c, retries } = client(fake, ["slow"], { timeoutMs: 300 });
    const r = await c.chat(ask("slow", "x"));
    assert.equal(r.content, "late but fine");
    assert.match(retries[0]?.reason ?? "", /timed out after 300 ms/);
  });

  test("a response delayed past the timeout on every attempt fails with a timeout error", async () => {
    fake.setModel("stuck", { reply: "never in time", delayMs: 400 });
    const { c } = client(fake, ["stuck"], { timeoutMs: 100, retries: 1 });
    await assert.rejects(c.chat(ask("stuck", "x")), /fake\/stuck: timed out after 100 ms \(gave up after 2 attempts\)/);
  });

  test("malformed responses give clear, non-retried errors", async () => {
    const { c } = client(fake, ["badjson", "badshape", "html"]);
    fake.setModel("badjson", { steps: [{ malformed: "json" }] });
    fake.setModel("badshape", { steps: [{ malformed: "shape" }] });
    fake.setModel("html", { steps: [{ malformed: "html" }] });
    await assert.rejects(c.chat(ask("badjson", "x")), /fake\/badjson: malformed response: body is not valid JSON/);
    await assert.rejects(c.chat(ask("badshape", "x")), /fake\/badshape: malformed response: response has no "choices"/);
    await assert.rejects(c.chat(ask("html", "x")), /fake\/html: malformed response: .*text starting "<html>/);
    assert.equal(fake.requestsFor("badjson").length, 1, "malformed answers are not retried");
  });

  test("a stream that breaks after some deltas throws to the consumer, not retried", async () => {
    fake.setModel("breaks", { steps: [{ failAfterChunks: 2, reply: "a b c d e f" }] });
    const { c } = client(fake, ["breaks"]);
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const ev of c.chatStream(ask("breaks", "x"))) if (ev.type === "delta") seen.push(ev.content);
      })(),
      /fake\/breaks: stream broke after 4 characters/,
    );
    assert.deepEqual(seen, ["a ", "b "]);
    assert.equal(fake.requestsFor("breaks").length, 1);
  });

  test("a stream that fails before its first delta is retried", async () => {
    fake.setModel("stream429", { steps: [{ status: 429 }, { reply: "streamed ok" }] });
    const { c, retries } = client(fake, ["stream429"]);
    const { result } = await collectStream(c.chatStream(ask("stream429", "x")));
    assert.equal(result.content, "streamed ok");
    assert.equal(retries.length, 1);
  });

  test("the per-provider concurrency limit holds under 12 parallel calls", async () => {
    fake.setModel("busy", { reply: "done", delayMs: 60 });
    fake.reset();
    const { c } = client(fake, ["busy"], { maxConcurrency: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => c.chat(ask("busy", `q${i}`))));
    assert.equal(results.length, 12);
    assert.equal(fake.maxInFlightByModel.get("busy"), 3);
  });

  test("cache: the same request is answered from the store, a different parameter is not", async () => {
    fake.setModel("cached", { echo: true });
    const store = new Store(tempDb());
    const { c } = client(fake, ["cached"], {}, store);
    const before = fake.requestsFor("cached").length;
    const a = await c.chat({ ...ask("cached", "same question"), temperature: 0 });
    const b = await c.chat({ ...ask("cached", "same question"), temperature: 0 });
    assert.equal(b.cached, true);
    assert.equal(b.content, a.content);
    assert.equal(b.cost, a.cost);
    assert.equal(fake.requestsFor("cached").length, before + 1);
    await c.chat({ ...ask("cached", "same question"), temperature: 0.7 });
    assert.equal(fake.requestsFor("cached").length, before + 2);
    // A new client over the same store (a rerun) hits the cache too, also for streaming.
    const { c: c2 } = client(fake, ["cached"], {}, store);
    const { deltas, result } = await collectStream(
      c2.chatStream({ ...ask("cached", "same question"), temperature: 0 }),
    );
    assert.equal(result.cached, true);
    assert.equal(deltas.join(""), "same question");
    assert.equal(c2.spend.costUsd, 0);
    assert.equal(c2.spend.cacheHits, 1);
    store.close();
  });

  test("API keys never reach errors or the store, even when the upstream quotes them", async () => {
    const keyed = await startFakeOpenAI({ apiKey: KEY, defaultModel: { reply: "ok" } });
    try {
      const store = new Store(tempDb());
      const { c } = client(keyed, ["m"], { apiKeyEnv: "WRONG_KEY" }, store);
      const err = await c.chat(ask("m", "x")).catch((e) => e);
      assert.ok(err instanceof LlmError);
      assert.equal(err.fatal, true);
      assert.match(err.message, /authentication failed \(check WRONG_KEY\)/);
      assert.doesNotMatch(err.message + String(err.stack), /LEAKME/);
      // The server really was sent the key (so the redaction above is what kept it out).
      assert.equal(keyed.requests.at(-1)?.authorization, "Bearer sk-wrong-LEAKME-987654321");
      const { c: good } = client(keyed, ["m"], { apiKeyEnv: "FAKE_KEY" }, store);
      await good.chat(ask("m", "x"));
      const dump = JSON.stringify(store.db.prepare("SELECT * FROM llm_cache").all());
      assert.doesNotMatch(dump, /SECRET|LEAKME/);
      store.close();
      const { c: unset } = client(keyed, ["m"], { apiKeyEnv: "NOT_SET_ANYWHERE" });
      await assert.rejects(
        unset.chat(ask("m", "x")),
        /provider "fake": environment variable NOT_SET_ANYWHERE is not set/,
      );
    } finally {
      await keyed.close();
    }
  });

  test("an aborted call stops waiting and is not retried", async () => {
    fake.setModel("hang", { steps: [{ hang: true }] });
    const { c, retries } = client(fake, ["hang"], { timeoutMs: 5000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("user gave up")), 50);
    await assert.rejects(c.chat(ask("hang", "x"), ac.signal), /user gave up/);
    assert.equal(retries.length, 0);
  });
});
