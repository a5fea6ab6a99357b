/**
 * A minimal OpenAI-protocol chat server that answers instantly with a fixed reply (plain JSON or a short SSE
 * stream with a usage chunk when asked) — the upstream for bench/gateway.ts, so the bench measures the
 * gateway, not a model. It also serves /v1/embeddings with 64-d vectors derived from a hash of each text
 * (a stand-in embedding server, so the bench can time the gateway's HTTP embedder path). Run as its own process:
 *   node --import tsx test/serve/support/instant-upstream.ts --port 0
 * prints "instant-upstream listening <url>" on stdout.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const REPLY = "The answer is 42.";
const plain = JSON.stringify({
  id: "chatcmpl-instant",
  object: "chat.completion",
  created: 1700000000,
  model: "instant",
  choices: [{ index: 0, message: { role: "assistant", content: REPLY }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
});
const chunk = (delta: object, finish: string | null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-instant", object: "chat.completion.chunk", created: 1700000000, model: "instant", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const streamBody =
  chunk({ role: "assistant", content: "" }, null) +
  chunk({ content: "The answer " }, null) +
  chunk({ content: "is 42." }, null) +
  chunk({}, "stop");
const usageChunk = `data: ${JSON.stringify({ id: "chatcmpl-instant", object: "chat.completion.chunk", created: 1700000000, model: "instant", choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } })}\n\n`;

/** 64 pseudo-random components seeded by the text (FNV-1a), so equal texts get equal vectors. */
function hashVector(text: string): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  const out: number[] = [];
  for (let i = 0; i < 64; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) ^ i;
    out.push(((h >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on("data", (c: Buffer) => parts.push(c));
  req.on("end", () => {
    const body = Buffer.concat(parts).toString("utf8");
    if (req.url?.endsWith("/embeddings")) {
      const { input } = JSON.parse(body) as { input: string | string[] };
      const texts = Array.isArray(input) ? input : [input];
      const out = JSON.stringify({
        object: "list",
        data: texts.map((t, index) => ({ object: "embedding", index, embedding: hashVector(t) })),
        model: "instant-embed",
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
      return;
    }
    // A substring test instead of JSON.parse: this server must cost as little as possible.
    if (body.includes('"stream":true')) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.end(`${streamBody}${body.includes('"include_usage":true') ? usageChunk : ""}data: [DONE]\n\n`);
    } else {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(plain) });
      res.end(plain);
    }
  });
});
server.keepAliveTimeout = 65_000;
const i = process.argv.indexOf("--port");
const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`instant-upstream listening http://127.0.0.1:${(server.address() as AddressInfo).port}/v1\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
