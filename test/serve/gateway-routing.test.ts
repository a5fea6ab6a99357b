import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { Store } from "../../src/data/store.ts";
import { loadRouters } from "../../src/serve/load.ts";
import { type LoadedRouter, rankText } from "../../src/serve/virtual.ts";
import { tempDir } from "../helpers.ts";
import type { FakeStep } from "../support/fake-openai.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";

/**
 * Routing through the gateway on the bundled LLMRouter data: a kNN router (hashed n-gram embeddings)
 * trained on the train split serves test-split queries; every upstream model is the fake server in its
 * own process, answering "I am <model>".
 */
describe("gateway: routed requests (router artifact, real processes)", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const artifact = join(dir, "knn.json");
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  let client: OpenAI;
  let router: LoadedRouter;
  let store: Store;
  let models: string[] = [];
  let queries: string[] = [];
  const SMALL_CTX = "codegemma-7b";
  const TOOLS = new Set(["llama-3.3-nemotron-super-49b-v1", "qwen2.5-7b-instruct"]);

  const replies = () => Object.fromEntries(models.map((m) => [m, { reply: `I am ${m}` }]));
  /** The router's own ranking, computed in this process from the same artifact. */
  const ranking = async (text: string, scenario: "performance-first" | "cost-first" = "performance-first") =>
    (await rankText(router, text, { scenario }, null)).map((r) => r.key);

  before(async () => {
    const imported = await runCli(["import", "data/llmrouter", "--db", db]);
    assert.equal(imported.code, 0, imported.stderr);
    const trained = await runCli(["train", "--db", db, "--router", "knn", "--embedder", "hash", "--out", artifact]);
    assert.equal(trained.code, 0, trained.stderr);
    store = new Store(db);
    queries = store
      .queries({ dataset: "llmrouter", split: "test" })
      .map((q) => q.text)
      .filter((t) => t.length < 300); // short enough for every context window here
    router = loadRouters([artifact], store, 100).values().next().value as LoadedRouter;
    models = router.candidates.map((c) => c.model);

    fake = await startFakeProcess({ models: replies() });
    const providers = join(dir, "providers.yaml");
    const lines = ["providers:", "  - name: fake", `    baseUrl: ${fake.url}`, "    timeoutMs: 1500", "models:"];
    for (const m of models)
      lines.push(
        `  - name: ${m}`,
        "    provider: fake",
        `    upstreamId: ${m}`,
        "    inputPrice: 0.2",
        "    outputPrice: 0.2",
        ...(m === SMALL_CTX ? ["    contextLength: 400"] : []),
        ...(TOOLS.has(m) ? ["    capabilities: { tools: true }"] : []),
      );
    writeFileSync(providers, `${lines.join("\n")}\n`);
    gw = await startGatewayProcess([
      "--providers",
      providers,
      "--db",
      db,
      "--router",
      artifact,
      "--no-auth",
      "--breaker-threshold",
      "2",
      "--breaker-cooldown-ms",
      "400",
      "--variant",
      "thrifty=lambda:100000",
    ]);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
    store?.close();
  });

  const ask = (text: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    client.chat.completions
      .create({ model: "fusionkit/auto", messages: [{ role: "user", content: text }], ...extra }, { headers })
      .withResponse();

  test("fusionkit/auto serves the router's top candidate and shows the decision in headers", async () => {
    for (const q of queries.slice(0, 5)) {
      const { data, response } = await ask(q);
      const expected = await ranking(q);
      const served = response.headers.get("x-fusionkit-model");
      assert.equal(served, expected[0]);
      assert.equal(data.choices[0].message.content, `I am ${served}`);
      assert.equal(response.headers.get("x-fusionkit-router"), "knn;performance-first");
      const listed = (response.headers.get("x-fusionkit-candidates") ?? "").split(", ");
      assert.equal(listed.length, 8);
      assert.deepEqual(
        listed.map((c) => c.split(";")[0]),
        expected.slice(0, 8),
      );
      assert.match(listed[0], /;score=[0-9.]+;perf=[0-9.]+;cost=[0-9.e-]+$/);
    }
  });

  test("streamed routed replies carry the same headers", async () => {
    const q = queries[1];
    const { data: stream, response } = await client.chat.completions
      .create({ model: "fusionkit/auto", stream: true, messages: [{ role: "user", content: q }] })
      .withResponse();
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    const served = response.headers.get("x-fusionkit-model");
    assert.equal(served, (await ranking(q))[0]);
    assert.equal(text, `I am ${served}`);
  });

  test("per-request knobs: allowed models, scenario, max cost; named variants; /v1/models lists them", async () => {
    const q = queries[2];
    const order = await ranking(q);
    const allowed = [order[3], order[5]];
    const r1 = await ask(q, { fusionkit: { models: allowed } });
    assert.equal(r1.response.headers.get("x-fusionkit-model"), order[3]);
    const r2 = await ask(q, { fusionkit: { scenario: "cost-first" } });
    assert.equal(r2.response.headers.get("x-fusionkit-model"), (await ranking(q, "cost-first"))[0]);
    assert.equal(r2.response.headers.get("x-fusionkit-router"), "knn;cost-first");
    const r3 = await client.chat.completions
      .create({ model: "fusionkit/cost-first", messages: [{ role: "user", content: q }] })
      .withResponse();
    assert.equal(r3.response.headers.get("x-fusionkit-model"), (await ranking(q, "cost-first"))[0]);
    const r4 = await client.chat.completions
      .create({ model: "fusionkit/thrifty", messages: [{ role: "user", content: q }] })
      .withResponse();
    assert.equal(r4.response.headers.get("x-fusionkit-router"), "knn;lambda=100000");
    await assert.rejects(
      ask(q, { fusionkit: { max_cost: 0 } }),
      (e: Error) =>
        e instanceof OpenAI.BadRequestError &&
        /no candidate model can serve this request/.test(e.message) &&
        /> max_cost/.test(e.message),
    );
    const listed = (await client.models.list()).data.map((m) => m.id);
    for (const v of ["fusionkit/auto", "fusionkit/balance", "fusionkit/cost-first", "fusionkit/thrifty", ...models])
      assert.ok(listed.includes(v), `${v} listed`);
  });

  test("capability filters run before ranking; an empty candidate set is a clear 400", async () => {
    const long = `${queries[0]} ${"context ".repeat(500)}`;
    const { response } = await ask(long, { fusionkit: { models: [SMALL_CTX, models.find((m) => m !== SMALL_CTX)] } });
    assert.notEqual(response.headers.get("x-fusionkit-model"), SMALL_CTX);
    await assert.rejects(
      ask(long, { fusionkit: { models: [SMALL_CTX] } }),
      (e: Error) =>
        e instanceof OpenAI.BadRequestError && /codegemma-7b: context 400 tokens < \d+ needed/.test(e.message),
    );
    const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }];
    for (const q of queries.slice(0, 4)) {
      const r = await ask(q, { tools });
      assert.ok(
        TOOLS.has(r.response.headers.get("x-fusionkit-model") ?? ""),
        "only tool-capable models serve tool requests",
      );
    }
  });

  test("a session stays on its first model; without the session each query routes on its own", async () => {
    const first = queries[0];
    const m1 = (await ranking(first))[0];
    const other = await (async () => {
      for (const q of queries) if ((await ranking(q))[0] !== m1) return q;
      throw new Error("every query routes to the same model");
    })();
    const a = await ask(first, {}, { "x-session-id": "conv-1" });
    assert.equal(a.response.headers.get("x-fusionkit-model"), m1);
    const b = await ask(other, {}, { "x-session-id": "conv-1" });
    assert.equal(b.response.headers.get("x-fusionkit-model"), m1, "sticky");
    assert.equal(b.response.headers.get("x-fusionkit-sticky"), "1");
    const c = await ask(other, { user: "someone-else" });
    assert.notEqual(c.response.headers.get("x-fusionkit-model"), m1);
    const d = await ask(first, { user: "someone-else" });
    assert.equal(
      d.response.headers.get("x-fusionkit-model"),
      c.response.headers.get("x-fusionkit-model"),
      "the user field is a session key too",
    );
  });

  test("fallback: a failing top candidate is skipped for the next; the circuit opens, then probes again", async () => {
    const q = queries[3];
    const order = await ranking(q);
    const [top, second] = order;
    await fake.configure({ models: { ...replies(), [top]: { steps: [{ status: 503, message: "overloaded" }] } } });
    const before = (await fake.stats()).byModel[top] ?? 0;
    for (let i = 0; i < 2; i++) {
      const { data, response } = await ask(q);
      assert.equal(response.headers.get("x-fusionkit-model"), second);
      assert.equal(response.headers.get("x-fusionkit-attempts"), "2");
      assert.equal(data.choices[0].message.content, `I am ${second}`);
    }
    // Two failures opened the circuit: the next request does not even try the top model.
    const r = await ask(q);
    assert.equal(r.response.headers.get("x-fusionkit-attempts"), "1");
    assert.equal((await fake.stats()).byModel[top] ?? 0, before + 2);
    // A streamed request falls back the same way (the failure comes before the first byte).
    const { data: stream, response } = await client.chat.completions
      .create({ model: "fusionkit/auto", stream: true, messages: [{ role: "user", content: q }] })
      .withResponse();
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, `I am ${second}`);
    assert.equal(response.headers.get("x-fusionkit-model"), second);
    // After the cooldown one probe goes through; the upstream has recovered, so the circuit closes.
    await fake.configure({ models: replies() });
    await new Promise((res) => setTimeout(res, 450));
    const probe = await ask(q);
    assert.equal(probe.response.headers.get("x-fusionkit-model"), top);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(m, new RegExp(`fusionkit_fallbacks_total\\{model="${top}",reason="503"\\} 2`));
  });

  test("fallback on a timeout and on a dropped connection", async () => {
    const q = queries[5];
    const [top, second] = await ranking(q);
    const steps: FakeStep[] = [{ hang: true }, { failAfterChunks: 0 }];
    for (const step of steps) {
      await fake.configure({ models: { ...replies(), [top]: { steps: [step] } } });
      const t = Date.now();
      const { data, response } = await ask(q);
      assert.equal(response.headers.get("x-fusionkit-model"), second, JSON.stringify(step));
      assert.equal(data.choices[0].message.content, `I am ${second}`);
      if ("hang" in step) assert.ok(Date.now() - t >= 1400, "waited for the provider's 1.5 s timeout");
    }
    await fake.configure({ models: replies() });
  });

  test("when every candidate fails the client gets a 502 naming each failure", async () => {
    const q = queries[4];
    const order = await ranking(q);
    const failing = Object.fromEntries(models.map((m) => [m, { steps: [{ status: 500 }] }]));
    await fake.configure({ models: failing });
    await assert.rejects(
      ask(q, { fusionkit: { models: order.slice(0, 2) } }),
      // Each candidate is named with its failure (one may already have an open circuit from the test above).
      (e: Error) =>
        e instanceof OpenAI.APIError &&
        e.status === 502 &&
        order.slice(0, 2).every((m) => new RegExp(`${m}: (upstream returned 500|circuit open)`).test(e.message)) &&
        /upstream returned 500/.test(e.message),
    );
    await fake.configure({ models: replies() });
  });
});
