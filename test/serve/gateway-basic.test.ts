import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import OpenAI from "openai";
import { tempDir } from "../helpers.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";

// The gateway and the upstream run as separate processes; the official openai client talks to the gateway.
describe("gateway: passthrough models, auth, limits, errors (real processes)", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  let key = "";
  let client: OpenAI;
  let requests = 0;
  const UPSTREAM_KEY = "sk-upstream-secret-123456";

  before(async () => {
    fake = await startFakeProcess({
      apiKey: UPSTREAM_KEY,
      models: {
        small: { reply: "small says hi" },
        tooly: { reply: "tool model" },
        slow: { reply: "worth the wait", delayMs: 1200 },
        broken: { steps: [{ failAfterChunks: 2, reply: "one two three four five" }] },
      },
    });
    const providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:
  - name: fake
    baseUrl: ${fake.url}
    apiKeyEnv: FK_TEST_UPSTREAM_KEY
    timeoutMs: 5000
  - name: wrongkey
    baseUrl: ${fake.url}
    apiKeyEnv: FK_TEST_WRONG_KEY
models:
  - { name: small, provider: fake, upstreamId: small, inputPrice: 1, outputPrice: 2, contextLength: 64 }
  - { name: tooly, provider: fake, upstreamId: tooly, inputPrice: 1, outputPrice: 2, capabilities: { tools: true } }
  - { name: broken, provider: fake, upstreamId: broken, inputPrice: 1, outputPrice: 2 }
  - { name: slow, provider: fake, upstreamId: slow, inputPrice: 1, outputPrice: 2 }
  - { name: misconfigured, provider: wrongkey, upstreamId: small, inputPrice: 1, outputPrice: 2 }
`,
    );
    const created = await runCli(["keys", "create", "--name", "tests", "--db", db, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    key = (JSON.parse(created.stdout) as { key: string }).key;
    gw = await startGatewayProcess(["--providers", providers, "--db", db, "--body-limit", "20000"], {
      FK_TEST_UPSTREAM_KEY: UPSTREAM_KEY,
      FK_TEST_WRONG_KEY: "sk-wrong-key-987654",
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  test("a plain reply passes through, with the routing headers and cost", async () => {
    requests++;
    const { data, response } = await client.chat.completions
      .create({ model: "small", messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    assert.equal(data.choices[0].message.content, "small says hi");
    assert.equal(response.headers.get("x-fusionkit-model"), "small");
    assert.match(response.headers.get("x-request-id") ?? "", /^fkreq-/);
    // fake usage: 1 prompt word, 3 completion words → (1·1 + 3·2)/1e6 USD
    assert.equal(Number(response.headers.get("x-fusionkit-cost")), 7e-6);
  });

  test("a streamed reply arrives as chunks ending normally", async () => {
    requests++;
    const stream = await client.chat.completions.create({
      model: "tooly",
      stream: true,
      messages: [{ role: "user", content: "hello" }],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(text, "tool model");
  });

  test("a failure after streaming began ends the stream with an error event", async () => {
    requests++;
    const stream = await client.chat.completions.create({
      model: "broken",
      stream: true,
      messages: [{ role: "user", content: "hello" }],
    });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      })(),
      (e: Error) => e instanceof OpenAI.APIError && /failed mid-stream/.test(e.message),
    );
    assert.ok(text.length > 0, "part of the answer arrived before the failure");
  });

  test("requests without a valid client key are refused with 401", async () => {
    const anon = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "fk-not-a-real-key", maxRetries: 0 });
    await assert.rejects(
      anon.chat.completions.create({ model: "small", messages: [{ role: "user", content: "x" }] }),
      (e: Error) => e instanceof OpenAI.AuthenticationError && /invalid or revoked/.test(e.message),
    );
    const r = await fetch(`${gw.url}/v1/models`);
    assert.equal(r.status, 401);
    const body = (await r.json()) as { error: { type: string; code: string } };
    assert.equal(body.error.code, "missing_api_key");
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, "health needs no key");
  });

  test("a revoked key stops working on the running gateway", async () => {
    const second = await runCli(["keys", "create", "--name", "temp", "--db", db, "--json"]);
    const tempKey = (JSON.parse(second.stdout) as { key: string }).key;
    // New keys are picked up by the periodic reload (every 2 s).
    const c2 = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: tempKey, maxRetries: 0 });
    await waitFor(
      async () => (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${tempKey}` } })).ok,
    );
    requests++;
    await c2.chat.completions.create({ model: "small", messages: [{ role: "user", content: "x" }] });
    const revoked = await runCli(["keys", "revoke", "temp", "--db", db]);
    assert.equal(revoked.code, 0, revoked.stderr);
    await waitFor(
      async () =>
        (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${tempKey}` } })).status === 401,
    );
  });

  test("an oversized body is refused with 413 before it reaches an upstream", async () => {
    const big = "x".repeat(30_000);
    await assert.rejects(
      client.chat.completions.create({ model: "small", messages: [{ role: "user", content: big }] }),
      (e: Error) =>
        e instanceof OpenAI.APIError && e.status === 413 && /exceeds the limit of 20000 bytes/.test(e.message),
    );
  });

  test("capability filters: context length and tools are checked before sending", async () => {
    requests += 2;
    await assert.rejects(
      client.chat.completions.create({ model: "small", messages: [{ role: "user", content: "word ".repeat(200) }] }),
      (e: Error) => e instanceof OpenAI.BadRequestError && /context 64 tokens < \d+ needed/.test(e.message),
    );
    await assert.rejects(
      client.chat.completions.create({
        model: "small",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      }),
      (e: Error) => e instanceof OpenAI.BadRequestError && /does not support tools/.test(e.message),
    );
  });

  test("unknown models are a 404 naming what exists; bad bodies a 400", async () => {
    requests++;
    await assert.rejects(
      client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "hi" }] }),
      (e: Error) => e instanceof OpenAI.NotFoundError && /model 'nope' does not exist/.test(e.message),
    );
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /not valid JSON/);
  });

  test("an upstream that rejects the gateway's key never leaks that key to the client", async () => {
    requests++;
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "misconfigured", messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await r.text();
    assert.equal(r.status, 502);
    assert.doesNotMatch(text, /sk-wrong-key|sk-upstream-secret/);
  });

  test("GET /v1/models lists upstream models; /metrics counts requests, spend and share", async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["small", "tooly", "broken", "slow", "misconfigured"],
    );
    const m = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
    assert.match(m, /fusionkit_requests_total\{route="chat",status="200"\} [1-9]/);
    assert.match(m, /fusionkit_routed_share\{model="small"\} 0\.\d+/);
    assert.match(m, /fusionkit_spend_usd_total\{model="small"\} [0-9.e-]+/);
    assert.match(m, /fusionkit_request_duration_seconds_bucket\{le="\+Inf",route="chat"\} \d+/);
  });

  test("graceful shutdown finishes in-flight requests and flushes the log: one exchange per chat request", async () => {
    requests++;
    const inFlight = client.chat.completions.create({ model: "slow", messages: [{ role: "user", content: "hi" }] });
    await new Promise((r) => setTimeout(r, 300));
    const exit = gw.stop("SIGTERM");
    assert.equal((await inFlight).choices[0].message.content, "worth the wait");
    assert.equal(await exit, 0);
    assert.match(gw.stderr(), /SIGTERM, finishing in-flight requests[\s\S]*stopped \(\d+ exchanges logged\)/);
    const d = new Database(db, { readonly: true });
    const rows = d.prepare("SELECT requested_model, served_model, status, response FROM gateway_exchanges").all() as {
      requested_model: string;
      served_model: string | null;
      status: number;
      response: string | null;
    }[];
    d.close();
    assert.equal(rows.length, requests);
    const ok = rows.find((r) => r.served_model === "small" && r.status === 200);
    assert.equal(ok?.response, "small says hi");
    assert.ok(
      rows.some((r) => r.requested_model === "broken" && r.status === 502),
      "mid-stream failure logged as 502",
    );
    assert.ok(
      rows.some((r) => r.status === 400),
      "capability refusals are logged",
    );
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not met in time");
}
