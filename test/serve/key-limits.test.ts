import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { tempDb, tempDir } from "../helpers.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";
import { type Proc, runCli, startGatewayProcess } from "./support/procs.ts";

/**
 * Issue 12 item 5 over real processes: a key is valid the moment `keys create` returns; budgets (USD per day)
 * end in 429 with a clear message and x-should-retry: false; rate limits in 429 with Retry-After; models the key
 * may not use in 403; spend per key in /metrics and in the store (it survives a restart).
 */

// Every answer: 1000 prompt + 1000 completion tokens at $1 / $2 per 1M → $0.003.
const COST = 0.003;

describe("client keys with limits (gateway and CLI processes)", () => {
  let fake: FakeOpenAI;
  let gw: Proc;
  const db = tempDb();
  let providers: string;
  before(async () => {
    fake = await startFakeOpenAI({ models: { m: { reply: "ok", usage: { prompt: 1000, completion: 1000 } } } });
    providers = join(tempDir(), "providers.yaml");
    writeFileSync(providers, providersYaml(fake.url, ["m", "m2"], { inputPrice: 1, outputPrice: 2 }));
    gw = await startGatewayProcess(["--providers", providers, "--db", db]);
  });
  after(async () => {
    await gw?.stop();
    await fake.close();
  });

  const create = async (...limits: string[]) => {
    const r = await runCli(["keys", "create", "--name", `k${Math.random()}`, "--db", db, "--json", ...limits]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { id: string; key: string };
  };
  const chat = (key: string, model = "m") =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });

  test("a new key works at once: no wait for the gateway's periodic refresh", async () => {
    const { key } = await create();
    const r = await chat(key);
    assert.equal(r.status, 200, await r.text());
  });

  test("daily budget: requests until the spend reaches it, then 429 that tells SDKs not to retry", async () => {
    const { id, key } = await create("--budget-day", "0.005");
    assert.equal((await chat(key)).status, 200); // spent 0.003 < 0.005
    assert.equal((await chat(key)).status, 200); // admitted at 0.003; now 0.006
    const r = await chat(key);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("x-should-retry"), "false");
    const wait = Number(r.headers.get("retry-after"));
    assert.ok(wait > 0 && wait <= 86_400, `retry-after ${wait}`);
    const body = (await r.json()) as { error: { code: string; message: string; type: string } };
    assert.equal(body.error.code, "budget_exceeded");
    assert.match(
      body.error.message,
      new RegExp(`\\(${id}\\) has spent \\$0\\.006000 of its \\$0\\.005 daily budget; it resets at \\d{4}-`),
    );

    // The official SDK gets a RateLimitError at once (it honours x-should-retry: false, no retries).
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 2 });
    const t0 = performance.now();
    await assert.rejects(
      client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }),
      (e) => e instanceof OpenAI.RateLimitError,
    );
    assert.ok(performance.now() - t0 < 2000, "no retry backoff");

    // Spend per key in /metrics and, from the store, in `keys list`.
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
    const line = new RegExp(`fusionkit_key_spend_usd_total\\{key="${id}"\\} ([\\d.e-]+)`).exec(metrics);
    assert.ok(line && Math.abs(Number(line[1]) - 2 * COST) < 1e-12, metrics);
    assert.match(metrics, new RegExp(`fusionkit_key_rejections_total\\{key="${id}",reason="budget_daily"\\} 2`));
    for (let i = 0; i < 100; i++) {
      const listed = JSON.parse((await runCli(["keys", "list", "--db", db, "--json"])).stdout) as Array<{
        id: string;
        spend: { day: number };
      }>;
      const spend = listed.find((k) => k.id === id)?.spend.day ?? 0;
      if (Math.abs(spend - 2 * COST) < 1e-12) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail("keys list never showed the spend");
  });

  test("requests per minute: 429 with Retry-After", async () => {
    const { key } = await create("--rpm", "2");
    assert.equal((await chat(key)).status, 200);
    assert.equal((await chat(key)).status, 200);
    const r = await chat(key);
    assert.equal(r.status, 429);
    const wait = Number(r.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 60, `retry-after ${wait}`);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, "rate_limit_requests");
  });

  test("tokens per minute: 429 with Retry-After once the minute's tokens reach the limit", async () => {
    const { key } = await create("--tpm", "3000");
    assert.equal((await chat(key)).status, 200); // 2000 tokens
    assert.equal((await chat(key)).status, 200); // admitted at 2000 < 3000; now 4000
    const r = await chat(key);
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
    assert.match(
      ((await r.json()) as { error: { message: string } }).error.message,
      /over its limit of 3000 tokens per minute/,
    );
  });

  test("a model the key may not use: 403 naming the allowed ones; a limit change applies to the running gateway", async () => {
    const { key, id } = await create("--models", "m2");
    const r = await chat(key, "m");
    assert.equal(r.status, 403);
    const body = (await r.json()) as { error: { code: string; message: string; type: string } };
    assert.equal(body.error.code, "model_not_allowed");
    assert.equal(body.error.type, "permission_error");
    assert.match(body.error.message, /may not use model 'm' \(allowed: m2\)/);
    const changed = await runCli(["keys", "limit", id, "--models", "m,m2", "--db", db]);
    assert.equal(changed.code, 0, changed.stderr);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await chat(key, "m")).status;
      if (status !== 200) await new Promise((s) => setTimeout(s, 100));
    }
    assert.equal(status, 200);
  });

  test("spend is kept in the store: after a restart the budget is still spent", async () => {
    const { key } = await create("--budget-day", "0.001");
    assert.equal((await chat(key)).status, 200); // 0.003 spent
    await gw.stop();
    gw = await startGatewayProcess(["--providers", providers, "--db", db]);
    const r = await chat(key);
    assert.equal(r.status, 429);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, "budget_exceeded");
  });
});
