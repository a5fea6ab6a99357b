import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { Store } from "../../src/data/store.ts";
import { loadProviders } from "../../src/llm/providers.ts";
import { readJsonBody } from "../../src/serve/body.ts";
import { HttpError } from "../../src/serve/errors.ts";
import { loadRouters } from "../../src/serve/load.ts";
import { MAX_DEPTH, parseChatBody } from "../../src/serve/request.ts";
import { type RunningGateway, startGateway } from "../../src/serve/server.ts";
import { SqliteGatewayStore } from "../../src/serve/sqlite-gateway-store.ts";
import { AUTO } from "../../src/serve/virtual.ts";
import { tempDir } from "../helpers.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/**
 * Property-based fault suite for the chat request parser (issue 8): hostile bodies, Unicode wherever a name can
 * appear, numbers outside their domain, deep nesting, prototype keys. The parser either returns a valid request
 * or refuses it with a 400 that says what is wrong — it never throws anything else. Then the same bodies, with
 * hostile headers, go over HTTP to a running gateway: never a 500, never an unexpected error in its log.
 */

/** Any string, Unicode included (lone surrogates, RTL marks, NUL, emoji). */
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom("", "fusionkit/auto", "small", "__proto__", "constructor", "\u0000", "\u202e", "💥", "\ud800"),
);
/** Numbers at and past the edges of every domain (JSON itself turns 1e400 into Infinity). */
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    -1,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 53 + 1,
  ),
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), text, number, fc.constant(undefined));
const nested = fc
  .integer({ min: MAX_DEPTH - 3, max: MAX_DEPTH * 3 })
  .map((n) => JSON.parse(`${"[".repeat(n)}${"]".repeat(n)}`) as unknown);
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom("user", "system", "assistant", "tool"), text, anyValue),
    content: fc.oneof(
      text,
      anyValue,
      fc.array(fc.record({ type: fc.oneof(fc.constantFrom("text", "image_url"), text), text: anyValue })),
    ),
    name: text,
  },
  { requiredKeys: [] },
);
const knobs = fc.oneof(
  anyValue,
  fc.record(
    {
      models: fc.oneof(fc.array(text, { maxLength: 3 }), anyValue),
      max_cost: fc.oneof(number, anyValue),
      scenario: fc.oneof(fc.constantFrom("balance", "cost-first", "performance-first", "llm-judge"), text),
      lambda: fc.oneof(number, anyValue),
      thought: anyValue,
      route_on: fc.oneof(fc.constantFrom("last-user", "conversation"), text),
      task: fc.oneof(text, anyValue),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(text, anyValue, { maxKeys: 3 }),
);
const chatBody = fc.record(
  {
    model: fc.oneof(fc.constantFrom(AUTO, "small"), text, anyValue),
    messages: fc.oneof(fc.array(message, { minLength: 1, maxLength: 4 }), anyValue),
    stream: fc.oneof(fc.boolean(), anyValue),
    stream_options: fc.oneof(fc.record({ include_usage: anyValue }), anyValue),
    user: fc.oneof(text, anyValue),
    fusionkit: knobs,
    tools: anyValue,
    max_tokens: number,
    temperature: number,
    extra: nested,
  },
  { requiredKeys: [] },
);
/** Own keys JSON.parse creates but object literals do not: "__proto__" and friends. */
const protoBody = fc
  .tuple(fc.constantFrom("__proto__", "constructor", "prototype"), fc.jsonValue({ maxDepth: 2 }))
  .map(
    ([k, v]) =>
      JSON.parse(
        `{"model":"small","messages":[{"role":"user","content":"x"}],${JSON.stringify(k)}:${JSON.stringify(v)},"fusionkit":{${JSON.stringify(k)}:1}}`,
      ) as unknown,
  );
/** Valid requests with one hostile part: Unicode content and names, odd knobs, extra fields. */
const nearlyValid = fc
  .record({
    model: fc.constantFrom(AUTO, "small"),
    content: fc.oneof(text, fc.string({ unit: "grapheme", maxLength: 200 })),
    user: fc.option(text, { nil: undefined }),
    stream: fc.boolean(),
    fusionkit: fc.option(
      fc.record(
        {
          models: fc.array(fc.oneof(fc.constantFrom("small", "large"), text), { minLength: 1, maxLength: 2 }),
          max_cost: fc.oneof(number, fc.constant(1)),
          route_on: fc.constantFrom("last-user", "conversation"),
          task: fc.oneof(text, fc.constant("gsm8k")),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
  })
  .map(({ content, ...rest }) => ({ ...rest, messages: [{ role: "user", content }] }));
const hostileBody = fc.oneof(
  chatBody,
  nearlyValid,
  nearlyValid,
  anyValue,
  nested,
  protoBody,
  fc.array(chatBody, { maxLength: 2 }),
);

/** A refusal must be a 400 that names the problem, with no internals. */
function assertRefusal(e: unknown): void {
  assert.ok(e instanceof HttpError, `threw ${String(e)}`);
  assert.equal(e.status, 400);
  assert.equal(e.type, "invalid_request_error");
  assert.ok(e.message.length > 10, e.message);
  assert.doesNotMatch(e.message, /\n\s+at /);
}

describe("chat request parser (property-based)", () => {
  test("returns a valid request or a clear 400, for any JSON value", () => {
    fc.assert(
      fc.property(hostileBody, (value) => {
        let parsed: ReturnType<typeof parseChatBody>;
        try {
          parsed = parseChatBody(value);
        } catch (e) {
          assertRefusal(e);
          return;
        }
        assert.ok(typeof parsed.model === "string" && parsed.model.length > 0);
        assert.ok(Array.isArray(parsed.messages) && parsed.messages.length > 0);
        for (const m of parsed.messages) assert.equal(typeof m.role, "string");
        const k = parsed.knobs;
        assert.ok(k.maxCost === null || (Number.isFinite(k.maxCost) && k.maxCost >= 0), `max_cost ${k.maxCost}`);
        if (k.knob && "lambda" in k.knob)
          assert.ok(Number.isFinite(k.knob.lambda) && k.knob.lambda >= 0, `lambda ${k.knob.lambda}`);
        if (k.models) for (const m of k.models) assert.equal(typeof m, "string");
        assert.ok(k.task === null || (typeof k.task === "string" && k.task.length > 0));
        // What is forwarded must serialise: the depth bound keeps JSON.stringify safe.
        JSON.stringify(parsed.raw);
      }),
      { numRuns: 3000 },
    );
  });

  test("the body reader returns JSON or a 400/413 for any bytes", async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ unit: "binary", maxLength: 200 }).map((s) => Buffer.from(s)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "")),
      fc.jsonValue().map((v) => Buffer.from((JSON.stringify(v) ?? "").slice(0, -1))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.integer({ min: 1, max: 400 }), fc.boolean(), async (buf, limit, declare) => {
        const stream = new PassThrough() as PassThrough & { headers: Record<string, string> };
        stream.headers = declare ? { "content-length": String(buf.length) } : {};
        stream.end(buf);
        try {
          const { value } = await readJsonBody(stream as unknown as IncomingMessage, limit);
          assert.ok(buf.length <= limit);
          assert.notEqual(value, undefined);
        } catch (e) {
          assert.ok(e instanceof HttpError, String(e));
          assert.ok(e.status === 400 || e.status === 413, String(e.status));
          if (e.status === 413) assert.ok(buf.length > limit);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("chat endpoint under hostile bodies and headers (in-process gateway, real sockets)", () => {
  let fake: FakeOpenAI;
  let gw: RunningGateway;
  let store: Store;

  before(async () => {
    const dir = tempDir();
    fake = await startFakeOpenAI({ defaultModel: { echo: true } });
    const providers = join(dir, "providers.yaml");
    writeFileSync(providers, providersYaml(fake.url, ["small", "large"]));
    const artifact = join(dir, "r.json");
    writeFixedOrderRouter(artifact, ["small", "large"]);
    store = new Store(join(dir, "store.db"));
    const router = loadRouters([artifact], store, 100).values().next().value;
    assert.ok(router);
    gw = await startGateway({
      store: new SqliteGatewayStore(store, null),
      providers: loadProviders(providers),
      virtuals: [{ name: AUTO, router, knob: router.knob }],
      host: "127.0.0.1",
      port: 0,
      auth: false,
      bodyLimit: 64 * 1024,
      routeOn: "conversation",
      routeChars: 2000,
      thoughts: null,
      thoughtByDefault: false,
      breakerThreshold: 5,
      breakerCooldownMs: 1000,
      sessionTtlMs: 60_000,
      logFlushMs: 5,
      shutdownGraceMs: 1000,
    });
  });
  after(async () => {
    await gw?.close();
    store?.close();
    await fake?.close();
  });

  test("never a 500: every reply is a success or an OpenAI-style 4xx error", async () => {
    // Header values Node's client can send: visible ASCII and Latin-1, long ones, odd content types.
    const headerChar = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }));
    const headerValue = fc.string({ unit: headerChar.map((c) => String.fromCharCode(c)) });
    const headers = fc.record(
      {
        "x-session-id": headerValue,
        "content-type": fc.oneof(
          fc.constantFrom("application/json", "text/plain", "", "application/json; charset=latin1"),
          headerValue,
        ),
        "x-fusionkit-whatever": headerValue,
        te: fc.constantFrom("trailers", "gzip", "", "trailers, deflate;q=0.5"),
      },
      { requiredKeys: [] },
    );
    let served = 0;
    await fc.assert(
      fc.asyncProperty(hostileBody, headers, async (value, h) => {
        const body = JSON.stringify(value) ?? "null";
        const r = await post(gw.url, body, h);
        assert.ok(r.status < 500, `status ${r.status} for ${body.slice(0, 200)}: ${r.text.slice(0, 300)}`);
        if (r.status >= 400) {
          const err = (JSON.parse(r.text) as { error: { message: string; type: string } }).error;
          assert.ok(err.message.length > 0 && err.type.length > 0);
          assert.doesNotMatch(r.text, /\n\s+at /);
        } else served++;
      }),
      { numRuns: 150 },
    );
    assert.equal(gw.report.unexpected.size, 0, [...gw.report.unexpected.keys()].join(", "));
    assert.ok(served > 0, "some bodies were valid and served");
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  });
});

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const u = new URL(`${url}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
