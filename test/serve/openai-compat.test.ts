import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { tempDb, tempDir } from "../helpers.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai.ts";
import { type Proc, startGatewayProcess } from "./support/procs.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/**
 * Issue 12 item 7, with the real `openai` npm client against a gateway process: the reply's `model` is the
 * FusionKit name that served (upstream id in a header), cost in the body (`usage.cost`) and in the final
 * stream chunk, the `fusionkit` body field sent through a TypeScript cast, and "every candidate failed" not
 * retried by the SDK.
 */

// 10 prompt + 20 completion tokens at $1 / $2 per 1M tokens = $0.00005.
const COST = (10 * 1 + 20 * 2) / 1e6;

describe("OpenAI SDK against the gateway", () => {
  let fake: FakeOpenAI;
  let gw: Proc;
  let client: OpenAI;
  before(async () => {
    const usage = { prompt: 10, completion: 20 };
    fake = await startFakeOpenAI({
      models: { "up-a": { reply: "from a", usage }, "up-b": { reply: "from b", usage } },
    });
    const dir = tempDir();
    const router = join(dir, "router.json");
    writeFixedOrderRouter(router, ["a", "b"]);
    const providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      [
        "providers:",
        "  - name: fake",
        `    baseUrl: ${fake.url}`,
        "    retries: 0",
        "models:",
        ...["a", "b"].flatMap((m) => [
          `  - name: ${m}`,
          "    provider: fake",
          `    upstreamId: up-${m}`,
          "    inputPrice: 1",
          "    outputPrice: 2",
        ]),
      ].join("\n"),
    );
    gw = await startGatewayProcess(["--providers", providers, "--router", router, "--db", tempDb(), "--no-auth"]);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 2 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.close();
  });

  test("plain: model is the FusionKit name, usage.cost in the body, upstream id in a header", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "fusionkit/auto", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    assert.equal(data.model, "a");
    assert.equal(data.choices[0].message.content, "from a");
    const cost = (data.usage as { cost?: number } | undefined)?.cost;
    assert.ok(cost !== undefined && Math.abs(cost - COST) < 1e-15, `usage.cost ${cost}`);
    assert.equal(data.usage?.prompt_tokens, 10);
    assert.equal(response.headers.get("x-fusionkit-upstream-model"), "up-a");
    assert.equal(response.headers.get("x-fusionkit-model"), "a");
  });

  test("stream: every chunk names the FusionKit model; the final usage chunk carries the cost", async () => {
    const stream = await client.chat.completions.create({
      model: "fusionkit/auto",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let last: OpenAI.Chat.Completions.ChatCompletionChunk | null = null;
    for await (const chunk of stream) {
      assert.equal(chunk.model, "a");
      text += chunk.choices[0]?.delta?.content ?? "";
      last = chunk;
    }
    assert.equal(text, "from a");
    const cost = (last?.usage as { cost?: number } | undefined)?.cost;
    assert.ok(cost !== undefined && Math.abs(cost - COST) < 1e-15, `final chunk usage.cost ${cost}`);
  });

  test("the fusionkit body field goes through the SDK with a TypeScript cast", async () => {
    const data = await client.chat.completions.create({
      model: "fusionkit/auto",
      messages: [{ role: "user", content: "hi" }],
      fusionkit: { models: ["b"] },
    } as ChatCompletionCreateParamsNonStreaming);
    assert.equal(data.model, "b");
    assert.equal(data.choices[0].message.content, "from b");
  });

  test("every candidate failed: 502 with x-should-retry: false, so the SDK does not call them all again", async () => {
    fake.setModel("up-a", { steps: [{ status: 500, message: "down" }] });
    fake.setModel("up-b", { steps: [{ status: 503, message: "down too" }] });
    fake.reset();
    await assert.rejects(
      client.chat.completions.create({ model: "fusionkit/auto", messages: [{ role: "user", content: "hi" }] }),
      (e) => e instanceof OpenAI.APIError && e.status === 502 && /all 2 candidates failed/.test(e.message),
    );
    assert.equal(fake.requests.length, 2, "one call per candidate; no SDK retries (maxRetries: 2)");
  });
});
