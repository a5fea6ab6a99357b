import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { migrateSqlite } from "../../src/data/migrations.ts";
import { Breakers } from "../../src/serve/breaker.ts";
import { routingText } from "../../src/serve/conversation.ts";
import { ApiKeys, hashKey } from "../../src/serve/keys.ts";
import { type Exchange, ExchangeLog } from "../../src/serve/log.ts";
import { Metrics } from "../../src/serve/metrics.ts";
import { Reporter } from "../../src/serve/report.ts";
import { parseChatBody } from "../../src/serve/request.ts";
import { errorEvent, SseRelay } from "../../src/serve/sse.ts";
import { redactor } from "../../src/util/redact.ts";
import { REPO, tempDb } from "../helpers.ts";

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
    migrateSqlite(db);
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

  /** Another process holding the store's write lock for `ms` (as `fusionkit import` does); resolves once it holds it. */
  const holdLock = async (path: string, ms: number) => {
    const child = spawn(
      process.execPath,
      [
        "-e",
        `const db = new (require("better-sqlite3"))(${JSON.stringify(path)}); db.exec("BEGIN IMMEDIATE");
         process.stdout.write("locked\\n"); setTimeout(() => { db.exec("COMMIT"); db.close(); }, ${ms});`,
      ],
      { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] },
    );
    const released = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    return { released };
  };
  const fileLog = (opts: ConstructorParameters<typeof ExchangeLog>[1] = {}) => {
    const path = tempDb();
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    migrateSqlite(db);
    const reports: string[] = [];
    const log = new ExchangeLog(db, { flushMs: 1, busyTimeoutMs: 10, report: (m) => reports.push(m), ...opts });
    const count = () => (db.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
    return { path, db, log, reports, count };
  };

  test("case 2: a locked store never makes a write throw; rows stay buffered, are retried and all land", async () => {
    const { path, log, reports, count } = fileLog();
    const { released } = await holdLock(path, 700);
    for (let i = 0; i < 50; i++) log.push(row(`r${i}`));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(count(), 0, "the lock is still held");
    assert.equal(log.pending, 50, "nothing buffered was thrown away");
    assert.ok((log.failures.get("busy") ?? 0) >= 2, "failed writes are counted and retried");
    assert.match(reports[0], /write failed \(busy: database is locked\); 50 row\(s\) kept, retrying/);
    const m = new Metrics();
    m.exchangeLog = () => log.stats();
    assert.match(await m.render(), /fusionkit_exchange_log_write_failures_total\{reason="busy"\} [1-9]/);
    assert.match(await m.render(), /fusionkit_exchange_log_pending 50/);
    m.close();
    await released;
    await new Promise((r) => setTimeout(r, 1200)); // the backoff tops out at 1 s
    assert.equal(count(), 50);
    assert.equal(log.written, 50);
    assert.equal(log.pending, 0);
    log.close();
  });

  test("case 2: close() waits for the lock and stores what is buffered", async () => {
    const { path, log, count } = fileLog({ flushMs: 10_000 });
    const { released } = await holdLock(path, 400);
    for (let i = 0; i < 10; i++) log.push(row(`c${i}`));
    assert.equal(log.close(), 0, "nothing left unstored");
    assert.equal(count(), 10);
    await released;
  });

  test("a row the store refuses is dropped and reported; the rest of its batch is written", () => {
    const { log, reports, count } = fileLog({ flushMs: 10_000 });
    log.push(row("good1"));
    log.push({ ...row("bad"), status: null as unknown as number });
    log.push(row("good2"));
    assert.equal(log.flush(), true);
    assert.equal(count(), 2);
    assert.equal(log.dropped, 1);
    assert.match(reports.join("\n"), /row bad refused by the store \(SQLITE_CONSTRAINT_NOTNULL/);
    log.close();
  });
});

describe("operator log", () => {
  test("JSON lines with the request id; message and stack redacted; unexpected errors counted by where", () => {
    const lines: string[] = [];
    const r = new Reporter(redactor(["sk-op-secret-99"]), (l) => lines.push(l));
    r.line("reloaded router artifacts");
    r.error("stream relay failed", new Error("upstream said sk-op-secret-99"), "fkreq-7");
    r.error("stream relay failed", "a string thrown");
    const [a, b, c] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a.msg, "reloaded router artifacts");
    assert.equal(a.level, 30);
    assert.equal(b.requestId, "fkreq-7");
    assert.equal(b.level, 50);
    assert.equal(b.msg, "stream relay failed: upstream said [redacted]");
    assert.match(String(b.stack), /^Error: upstream said \[redacted\]\n\s+at /);
    assert.equal(c.msg, "stream relay failed: a string thrown");
    assert.ok(!lines.join("").includes("sk-op-secret-99"));
    assert.equal(r.unexpected.get("stream relay failed"), 2);
  });
});

describe("API keys", () => {
  test("stores only a hash; revocation by name; list shows prefixes", () => {
    const db = new Database(":memory:");
    migrateSqlite(db);
    const keys = new ApiKeys(db);
    const { key, info } = keys.create("alice");
    assert.match(key, /^fk-[A-Za-z0-9_-]{43}$/);
    const stored = db.prepare("SELECT * FROM api_keys").all() as { hash: string }[];
    assert.equal(stored.length, 1);
    assert.equal(stored[0].hash, hashKey(key));
    assert.ok(!JSON.stringify(stored).includes(key.slice(3)), "the key itself is not stored");
    assert.equal(keys.activeHashes().get(hashKey(key))?.id, info.id);
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
  test("Prometheus text with cumulative histogram buckets and routed share", async () => {
    const m = new Metrics();
    m.request("chat", 200, 0.0007);
    m.request("chat", 200, 0.02);
    m.served("a", "fusionkit/auto", 0.001, 10, 5);
    m.served("b", "fusionkit/auto", 0.003, 10, 5);
    m.served("b", "fusionkit/auto", 0.003, 10, 5);
    const text = await m.render();
    assert.match(text, /fusionkit_request_duration_seconds_bucket\{le="0.0005",route="chat"\} 0\n/);
    assert.match(text, /fusionkit_request_duration_seconds_bucket\{le="0.001",route="chat"\} 1\n/);
    assert.match(text, /fusionkit_request_duration_seconds_bucket\{le="0.025",route="chat"\} 2\n/);
    assert.match(text, /fusionkit_routed_share\{model="b"\} 0.6666/);
    assert.match(text, /fusionkit_spend_usd_total\{model="b"\} 0.006\n/);
  });
});
