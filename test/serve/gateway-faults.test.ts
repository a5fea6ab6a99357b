import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { tempDir } from "../helpers.ts";
import type { FakeModel } from "../support/fake-openai.ts";
import { type Proc, startFakeProcess, startGatewayProcess } from "./support/procs.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/**
 * Issue 8, gateway side: requests and upstreams that used to crash the gateway, leak an upstream key, wedge a
 * circuit breaker, skip a fallback or go unlogged. The gateway and the upstream run as separate processes; every
 * test also checks that the gateway is still up.
 */
describe("gateway faults: one request never takes the gateway down (real processes)", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const KEY = "sk-fault-upstream-key-5f2c9a71";
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  /** Chat requests with a valid body sent so far: each must become exactly one exchange row. */
  let chats = 0;
  const models: Record<string, FakeModel> = {
    top: { reply: "I am top" },
    second: { reply: "I am second" },
    probe: { steps: [{ status: 503, message: "overloaded" }, { reply: "I am probe" }] },
    ok: { reply: "all good here" },
    leaky: { steps: [{ streamError: `quota exceeded for key Bearer ${KEY}`, afterChunks: 2 }] },
    leaky0: { steps: [{ streamError: `invalid key ${KEY} for this project` }] },
    down: { steps: [{ status: 500, message: `internal error near ${KEY}` }] },
    slowstream: { reply: "one two three four five six seven eight nine ten eleven twelve", chunkDelayMs: 300 },
    slowplain: { reply: "late", delayMs: 5000 },
  };

  before(async () => {
    fake = await startFakeProcess({ apiKey: KEY, models });
    const providers = join(dir, "providers.yaml");
    const lines = [
      "providers:",
      "  - name: fake",
      `    baseUrl: ${fake.url}`,
      "    apiKeyEnv: FK_FAULT_KEY",
      "models:",
    ];
    for (const m of Object.keys(models))
      lines.push(`  - { name: ${m}, provider: fake, upstreamId: ${m}, inputPrice: 1, outputPrice: 2 }`);
    writeFileSync(providers, `${lines.join("\n")}\n`);
    const routerA = join(dir, "a.json");
    const routerB = join(dir, "b.json");
    writeFixedOrderRouter(routerA, ["top", "second"]);
    writeFixedOrderRouter(routerB, ["probe", "second"]);
    gw = await startGatewayProcess(
      [
        ...["--providers", providers, "--db", db, "--no-auth", "--router", routerA, "--router", routerB],
        ...["--breaker-threshold", "1", "--breaker-cooldown-ms", "300", "--shutdown-grace-ms", "600"],
      ],
      { FK_FAULT_KEY: KEY },
    );
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  const alive = async () => assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, "the gateway is still up");
  const chat = (body: Record<string, unknown>) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }),
    });
  const exchange = async (requestId: string) => {
    for (let i = 0; i < 50; i++) {
      const d = new Database(db, { readonly: true });
      const row = d.prepare("SELECT * FROM gateway_exchanges WHERE request_id = ?").get(requestId) as
        | Record<string, unknown>
        | undefined;
      d.close();
      if (row) return row;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`exchange ${requestId} was never logged`);
  };

  test("case 1: a streamed request over HTTP/1.0 is answered without trailers and the gateway lives", async () => {
    chats++;
    const body = JSON.stringify({ model: "ok", stream: true, messages: [{ role: "user", content: "hi" }] });
    const reply = await rawRequest(
      gw.url,
      `POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(reply, /^trailer:/im);
    assert.match(reply, /"content":"all /);
    assert.match(reply, /data: \[DONE\]/);
    await alive();
    // HTTP/1.1 with TE: trailers still gets the cost trailer.
    chats++;
    const r11 = await rawRequest(
      gw.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    assert.match(r11, /transfer-encoding: chunked/i);
    assert.match(r11, /\r\n0\r\nx-fusionkit-cost: [0-9.e-]+\r\n/);
  });

  test("case 3: a 100k-deep nested body is a clean 400; the breaker's half-open probe slot is not leaked", async () => {
    chats++;
    const first = await chat({ model: "fusionkit/best-single-b" });
    assert.equal(first.headers.get("x-fusionkit-model"), "second", "probe answered 503, so second served");
    await first.text();
    await new Promise((r) => setTimeout(r, 350)); // probe's circuit is now half-open
    const nested = `{"model":"fusionkit/best-single-b","messages":[{"role":"user","content":"hi"}],"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: nested,
    });
    const text = await r.text();
    assert.equal(r.status, 400, text);
    const err = (JSON.parse(text) as { error: { message: string; type: string } }).error;
    assert.equal(err.type, "invalid_request_error");
    assert.match(err.message, /nest/);
    assert.doesNotMatch(text, /\n\s+at /, "no stack trace");
    chats++;
    const again = await chat({ model: "fusionkit/best-single-b" });
    assert.equal(again.headers.get("x-fusionkit-model"), "probe", "the probe went through and closed the circuit");
    assert.equal(
      ((await again.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content,
      "I am probe",
    );
    await alive();
  });

  test("case 4: an upstream key in an SSE error event never reaches the client or the store", async () => {
    chats++;
    const mid = await chat({ model: "leaky", stream: true });
    const midText = await mid.text();
    assert.match(midText, /part0 /, "the stream had begun");
    assert.match(midText, /quota exceeded for key Bearer \[redacted\]/);
    assert.ok(!midText.includes(KEY), midText);
    const row = await exchange(mid.headers.get("x-request-id") ?? "");
    assert.ok(!JSON.stringify(row).includes(KEY), String(row.error));
    assert.match(String(row.error), /\[redacted\]/);
    chats++;
    const early = await chat({ model: "leaky0", stream: true });
    const earlyText = await early.text();
    assert.ok(!earlyText.includes(KEY), earlyText);
    const row0 = await exchange(early.headers.get("x-request-id") ?? "");
    assert.ok(!JSON.stringify(row0).includes(KEY), String(row0.error));
    await alive();
  });

  test("case 5: a streamed request falls back when the top upstream answers 200 with HTML or broken JSON", async () => {
    for (const malformed of ["html", "json"] as const) {
      await fake.configure({ apiKey: KEY, models: { ...models, top: { steps: [{ malformed }] } } });
      await new Promise((r) => setTimeout(r, 350)); // any circuit opened by the previous round is half-open again
      chats++;
      const r = await chat({ model: "fusionkit/auto", stream: true });
      const text = await r.text();
      assert.equal(r.status, 200, text);
      assert.equal(r.headers.get("x-fusionkit-model"), "second", malformed);
      assert.equal(r.headers.get("x-fusionkit-attempts"), "2");
      assert.match(text, /"content":"second"/);
      assert.doesNotMatch(text, /"error"/);
    }
    await fake.configure({ apiKey: KEY, models });
    await alive();
  });

  test("a failed request is logged with its real attempt count", async () => {
    chats++;
    const r = await chat({ model: "down" });
    const text = await r.text();
    assert.equal(r.status, 502);
    assert.ok(!text.includes(KEY), text);
    const row = await exchange(r.headers.get("x-request-id") ?? "");
    assert.equal(row.attempts, 1);
    assert.equal(row.status, 502);
  });

  test("case 9: shutdown ends unfinished requests with an error and logs every request it saw", async () => {
    chats += 2;
    const stream = await chat({ model: "slowstream", stream: true });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    const plain = chat({ model: "slowplain" });
    await new Promise((r) => setTimeout(r, 200));
    const exit = gw.stop("SIGTERM");
    let rest = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /data: \{"error":\{"message":"[^"]*shutting down/);
    const p = await plain;
    assert.equal(p.status, 503);
    assert.match(((await p.json()) as { error: { message: string } }).error.message, /shutting down/);
    assert.equal(await exit, 0);
    assert.match(gw.stderr(), new RegExp(`stopped \\(${chats} exchanges logged\\)`));
    const d = new Database(db, { readonly: true });
    const rows = d.prepare("SELECT * FROM gateway_exchanges").all() as Record<string, unknown>[];
    d.close();
    assert.equal(rows.length, chats, "one row per chat request");
    assert.equal(rows.filter((x) => x.status === 503).length, 2);
    assert.ok(!JSON.stringify(rows).includes(KEY), "no upstream key in the store");
    assert.ok(!gw.stderr().includes(KEY) && !gw.stdout().includes(KEY), "no upstream key in the log lines");
  });
});

/** Send raw bytes to the gateway (an HTTP/1.0 client, a TE header) and read until the server closes. */
function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      out += d;
    });
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.setTimeout(15_000, () => {
      socket.destroy();
      reject(new Error(`no complete reply within 15 s; got: ${out}`));
    });
  });
}
