import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { Store } from "../../src/data/store.ts";
import { CachedEmbedder } from "../../src/embed/cache.ts";
import { dot } from "../../src/embed/embedder.ts";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { OpenAIEmbedder } from "../../src/embed/openai.ts";
import { createEmbedder } from "../../src/embed/registry.ts";
import { tempDb } from "../helpers.ts";

/**
 * A real HTTP server speaking the OpenAI embeddings protocol (POST /v1/embeddings). Its vectors come from
 * the hash embedder scaled ×3 (so the client's normalisation is visible) and its answers list the items in
 * reverse order (so the client must use `index`). `failNext` makes the next requests answer 503.
 */
interface Recorded {
  auth: string | undefined;
  body: { model: string; input: string[]; encoding_format?: string };
}
const requests: Recorded[] = [];
let failNext = 0;
let mode: "ok" | "short" | "ragged" = "ok";
const reference = new HashEmbedder(32);
let server: Server;
let base = "";

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  if (req.method !== "POST" || req.url !== "/v1/embeddings")
    return send(404, { error: { message: `no route ${req.method} ${req.url}`, type: "not_found" } });
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Recorded["body"];
  requests.push({ auth: req.headers.authorization, body });
  if (failNext > 0) {
    failNext--;
    return send(503, { error: { message: "overloaded", type: "server_error" } }, { "retry-after-ms": "5" });
  }
  if (body.model !== "tiny-embed") return send(404, { error: { message: `model ${body.model} not found` } });
  const vectors = await reference.embed(body.input);
  let data = vectors.map((v, index) => ({ object: "embedding", index, embedding: [...v].map((x) => x * 3) }));
  if (mode === "short") data = data.slice(1);
  if (mode === "ragged" && data.length > 1) data[1].embedding = data[1].embedding.slice(0, 5);
  send(200, {
    object: "list",
    model: body.model,
    data: data.reverse(),
    usage: { prompt_tokens: 1, total_tokens: 1 },
  });
}

before(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test("OpenAI-compatible endpoint: batched requests, float encoding, key from the named env var, order by index", async () => {
  requests.length = 0;
  process.env.FUSIONKIT_TEST_EMBED_KEY = "sk-test-123";
  const e = new OpenAIEmbedder({
    model: "tiny-embed",
    baseURL: base, // no path: "/v1" is added
    apiKeyEnv: "FUSIONKIT_TEST_EMBED_KEY",
    batchSize: 3,
  });
  assert.equal(e.name, `openai:tiny-embed@${base}/v1`);
  assert.equal(e.dim, 0, "unknown until the server answers");
  const texts = ["one fish", "two fish", "red fish", "blue fish", "a question about math", "trivia", "code"];
  const vectors = await e.embed(texts);
  assert.equal(e.dim, 32);
  assert.equal(requests.length, 3);
  assert.deepEqual(
    requests.map((r) => r.body.input.length),
    [3, 3, 1],
  );
  for (const r of requests) {
    assert.equal(r.body.encoding_format, "float");
    assert.equal(r.auth, "Bearer sk-test-123");
  }
  const expected = await reference.embed(texts);
  for (let i = 0; i < texts.length; i++) {
    assert.ok(Math.abs(dot(vectors[i], vectors[i]) - 1) < 1e-5, "unit length");
    assert.ok(dot(vectors[i], expected[i]) > 0.99999, `vector ${i} is the one for "${texts[i]}"`);
  }
});

test("OpenAI-compatible endpoint: a 503 is retried, then succeeds", async () => {
  requests.length = 0;
  failNext = 2;
  const e = createEmbedder(`openai:tiny-embed@${base}/v1`);
  const [v] = await e.embed(["retry me"]);
  assert.equal(requests.length, 3, "two 503s, then the answer");
  assert.ok(dot(v, (await reference.embed(["retry me"]))[0]) > 0.99999);
});

test("OpenAI-compatible endpoint: errors name the endpoint and model; malformed answers are rejected", async () => {
  const wrongModel = new OpenAIEmbedder({ model: "missing-model", baseURL: `${base}/v1`, maxRetries: 0 });
  await assert.rejects(wrongModel.embed(["x"]), (err: Error) => {
    assert.match(err.message, new RegExp(`${base}/v1/embeddings \\(model "missing-model"\\) failed`));
    assert.match(err.message, /404/);
    return true;
  });
  const e = new OpenAIEmbedder({ model: "tiny-embed", baseURL: `${base}/v1`, maxRetries: 0 });
  mode = "short";
  await assert.rejects(e.embed(["a", "b"]), /returned 1 embeddings for 2 inputs/);
  mode = "ragged";
  await assert.rejects(e.embed(["a", "b", "c"]), /has 5 dimensions, earlier ones had 32/);
  mode = "ok";
  // Nothing listening: a connection error, reported with the endpoint.
  const closed = new OpenAIEmbedder({ model: "tiny-embed", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0 });
  await assert.rejects(closed.embed(["x"]), /127\.0\.0\.1:9\/v1\/embeddings/);
});

test("OpenAI-compatible endpoint behind the store cache: the second run sends no request", async () => {
  const store = new Store(tempDb());
  const texts = ["cache me", "and me", "cache me"];
  requests.length = 0;
  await new CachedEmbedder(createEmbedder(`openai:tiny-embed@${base}/v1`), store).embed(texts);
  assert.equal(requests.length, 1);
  assert.deepEqual(requests[0].body.input.sort(), ["and me", "cache me"]);
  requests.length = 0;
  const again = await new CachedEmbedder(createEmbedder(`openai:tiny-embed@${base}/v1`), store).embed(texts);
  assert.equal(requests.length, 0);
  assert.equal(again[2].length, 32);
  store.close();
});
