import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { Breakers } from "../../src/serve/breaker.ts";
import { routingText } from "../../src/serve/conversation.ts";
import { ApiKeys, hashKey } from "../../src/serve/keys.ts";
import { type Exchange, ExchangeLog } from "../../src/serve/log.ts";
import { Metrics } from "../../src/serve/metrics.ts";
import { parseChatBody } from "../../src/serve/request.ts";
import { Sessions } from "../../src/serve/sessions.ts";
import { errorEvent, SseRelay } from "../../src/serve/sse.ts";
import { redactor } from "../../src/util/redact.ts";

describe("circuit breaker", () => {
  test("opens after the threshold, admits one half-open probe after the cooldown, closes on success", () => {
    let now = 0;
    const b = new Breakers({ threshold: 3, cooldownMs: 1000, now: () => now });
    b.failure("m");
    b.failure("m");
    assert.equal(b.state("m"), "closed");
    b.failure("m");
    assert.equal(b.state("m"), "open");
    assert.equal(b.tryAcquire("m"), false);
    now = 1000;
    assert.equal(b.state("m"), "half-open");
    assert.equal(b.tryAcquire("m"), true, "one probe");
    assert.equal(b.tryAcquire("m"), false, "only one probe at a time");
    b.success("m");
    assert.equal(b.state("m"), "closed");
    assert.equal(b.tryAcquire("m"), true);
  });
  test("a failed probe reopens for another cooldown; a success resets the failure count", () => {
    let now = 0;
    const b = new Breakers({ threshold: 2, cooldownMs: 100, now: () => now });
    b.failure("m");
    b.success("m");
    b.failure("m");
    assert.equal(b.state("m"), "closed", "count was reset by the success");
    b.failure("m");
    assert.equal(b.state("m"), "open");
    now = 150;
    assert.equal(b.tryAcquire("m"), true);
    b.failure("m");
    assert.equal(b.state("m"), "open");
    now = 200;
    assert.equal(b.tryAcquire("m"), false, "cooldown restarted at 150");
    assert.deepEqual(b.openCircuits(), ["m"]);
  });
});

describe("sessions", () => {
  test("remember a model per session, expire after the TTL, evict the least recently used", () => {
    const s = new Sessions(2, 1000);
    s.set("a", "m1", 0);
    s.set("b", "m2", 0);
    s.set("a", "m1", 5); // served again: most recent now
    s.set("c", "m3", 10); // over capacity: evicts b, the least recently served
    assert.equal(s.size, 2);
    assert.equal(s.get("b", 10), null);
    assert.equal(s.get("a", 10), "m1");
    assert.equal(s.get("c", 10), "m3");
    assert.equal(s.get("a", 1006), null, "expired after the TTL");
  });
});

describe("SSE relay", () => {
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  test("forwards complete events, tallies content and usage, drops the usage chunk the client did not ask for", () => {
    const r = new SseRelay(true, (t) => t);
    const s1 = ev({ choices: [{ delta: { content: "Hel" } }] });
    const s2 = ev({ choices: [{ delta: { content: "lo" }, finish_reason: "stop" }] });
    const usage = ev({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } });
    const all = `${s1}${s2}${usage}data: [DONE]\n\n`;
    // Split mid-event to check buffering.
    const cut = s1.length + 7;
    const out = r.feed(all.slice(0, cut)) + r.feed(all.slice(cut));
    assert.equal(out, `${s1}${s2}data: [DONE]\n\n`);
    assert.equal(r.content(), "Hello");
    assert.deepEqual(
      [r.tally.inputTokens, r.tally.outputTokens, r.tally.finishReason, r.tally.done],
      [5, 2, "stop", true],
    );
  });
  test("keeps the usage chunk when asked, handles CRLF, records upstream error events", () => {
    const r = new SseRelay(false, (t) => t);
    const usage = ev({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } });
    assert.equal(r.feed(usage.replace(/\n/g, "\r\n")), usage);
    r.feed(ev({ error: { message: "overloaded" } }));
    assert.equal(r.tally.error, "overloaded");
    assert.deepEqual(JSON.parse(errorEvent("boom", "x").slice(6)), {
      error: { message: "boom", type: "upstream_error", param: null, code: "x" },
    });
  });
  test("classifies the first event that carries data; comments and event names do not count", () => {
    const first = (text: string) => {
      const r = new SseRelay(false, (t) => t);
      r.feed(text);
      return r.first;
    };
    assert.equal(first(": keep-alive\n\nevent: ping\n\n"), null);
    assert.equal(first(`: processing\n\n${ev({ choices: [] })}`), "valid");
    assert.equal(first("data: [DONE]\n\n"), "valid");
    assert.equal(first(ev({ error: { message: "quota" } })), "error");
    assert.equal(first("data: {not json\n\n"), "invalid");
    assert.equal(first("data: 42\n\n"), "invalid");
    assert.equal(first("<html>\n<body>502 Bad Gateway</body>\n\n"), "invalid");
    assert.equal(first("<html><body>no blank line yet"), null);
  });
  test("everything forwarded goes through the redaction", () => {
    const r = new SseRelay(false, redactor(["sk-secret-1234"]));
    const out = r.feed(ev({ error: { message: "bad key Bearer sk-secret-1234" } }));
    assert.equal(out, ev({ error: { message: "bad key Bearer [redacted]" } }));
  });
});

describe("exchange log", () => {
  const row = (id: string): Exchange => ({
    requestId: id,
    at: 1,
    keyId: null,
    session: null,
    requestedModel: "m",
    router: null,
    servedModel: "m",
    mode: "direct",
    query: "q",
    request: null,
    response: "r",
    inputTokens: 1,
    outputTokens: 2,
    cost: 0.5,
    latencyMs: 3,
    ttfbMs: 1,
    status: 200,
    error: null,
    stream: false,
    attempts: 1,
    candidates: null,
  });
  test("buffers rows and writes them in one flush (timer or full buffer)", async () => {
    const db = new Database(":memory:");
    const log = new ExchangeLog(db, { flushMs: 5, maxBuffer: 3 });
    log.push(row("a"));
    log.push(row("b"));
    const n = () => (db.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
    assert.equal(n(), 0, "nothing written synchronously");
    log.push(row("c"));
    assert.equal(n(), 3, "a full buffer flushes at once");
    log.push(row("d"));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(n(), 4, "the timer flushed the rest");
    assert.equal(log.written, 4);
  });
});

describe("API keys", () => {
  test("stores only a hash; revocation by name; list shows prefixes", () => {
    const db = new Database(":memory:");
    const keys = new ApiKeys(db);
    const { key, info } = keys.create("alice");
    assert.match(key, /^fk-[A-Za-z0-9_-]{43}$/);
    const stored = db.prepare("SELECT * FROM api_keys").all() as { hash: string }[];
    assert.equal(stored.length, 1);
    assert.equal(stored[0].hash, hashKey(key));
    assert.ok(!JSON.stringify(stored).includes(key.slice(3)), "the key itself is not stored");
    assert.equal(keys.activeHashes().get(hashKey(key)), info.id);
    assert.equal(keys.revoke("alice"), 1);
    assert.equal(keys.activeHashes().size, 0);
    assert.equal(keys.list()[0].prefix, key.slice(0, 10));
  });
});

describe("request parsing", () => {
  test("routing text reads the conversation tail or the last user message", () => {
    const msgs = [
      { role: "system", content: "be brief" },
      { role: "user", content: "first question" },
      { role: "assistant", content: "answer" },
      {
        role: "user",
        content: [
          { type: "text", text: "second" },
          { type: "image_url", image_url: { url: "x" } },
        ],
      },
    ];
    assert.equal(routingText(msgs, "conversation"), "be brief\nfirst question\nsecond");
    assert.equal(routingText(msgs, "last-user"), "second");
    assert.equal(routingText(msgs, "conversation", 10), "ion\nsecond");
  });
  test("knobs are validated with the field named", () => {
    const base = { model: "fusionkit/auto", messages: [{ role: "user", content: "x" }] };
    const ok = parseChatBody({ ...base, fusionkit: { models: ["a"], max_cost: 0.01, lambda: 5 } });
    assert.deepEqual([...(ok.knobs.models ?? [])], ["a"]);
    assert.deepEqual(ok.knobs.knob, { lambda: 5 });
    assert.throws(
      () => parseChatBody({ ...base, fusionkit: { scenario: "cheap" } }),
      /fusionkit.scenario must be one of/,
    );
    assert.throws(() => parseChatBody({ ...base, fusionkit: { foo: 1 } }), /unknown field fusionkit.foo/);
    assert.throws(() => parseChatBody({ model: "x", messages: [] }), /'messages' must be a non-empty array/);
  });
});

describe("metrics", () => {
  test("Prometheus text with cumulative histogram buckets and routed share", () => {
    const m = new Metrics();
    m.request("chat", 200, 0.0007);
    m.request("chat", 200, 0.02);
    m.served("a", "fusionkit/auto", 0.001, 10, 5);
    m.served("b", "fusionkit/auto", 0.003, 10, 5);
    m.served("b", "fusionkit/auto", 0.003, 10, 5);
    const text = m.render();
    assert.match(text, /fusionkit_request_duration_seconds_bucket\{route="chat",le="0.0005"\} 0\n/);
    assert.match(text, /fusionkit_request_duration_seconds_bucket\{route="chat",le="0.001"\} 1\n/);
    assert.match(text, /fusionkit_request_duration_seconds_bucket\{route="chat",le="0.025"\} 2\n/);
    assert.match(text, /fusionkit_routed_share\{model="b"\} 0.6666/);
    assert.match(text, /fusionkit_spend_usd_total\{model="b"\} 0.006\n/);
  });
});
