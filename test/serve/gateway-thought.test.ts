import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { tempDir } from "../helpers.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai.ts";
import { type Proc, runCli, startGatewayProcess } from "./support/procs.ts";

/**
 * Thought-template injection: templates built by `fusionkit thought build` from the bundled RouteProfile
 * responses are retrieved per request and sent to the upstream as a system message. The upstream is the
 * fake server in this process (so the test can read what the gateway sent it); the gateway is a process.
 */
describe("gateway: thought-template injection", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  let fake: FakeOpenAI;
  let gw: Proc;
  let client: OpenAI;

  before(async () => {
    for (const args of [
      ["import", "data/routeprofile", "--db", db],
      [
        "thought",
        "build",
        "--db",
        db,
        "--summariser",
        "extractive",
        "--embedder",
        "hash",
        "--split",
        "all",
        "--limit",
        "40",
      ],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
    }
    fake = await startFakeOpenAI({ models: { m: { reply: "ok" } } });
    const providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n  - { name: m, provider: fake, upstreamId: m, inputPrice: 1, outputPrice: 1 }\n`,
    );
    gw = await startGatewayProcess([
      "--providers",
      providers,
      "--db",
      db,
      "--no-auth",
      "--thought-set",
      "extractive+hybrid",
    ]);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.close();
  });

  test("a request asking for templates gets them as a system message; others are forwarded unchanged", async () => {
    const question = "A train travels 60 miles per hour for 3 hours. How far does it go?";
    const { response } = await client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: question }], fusionkit: { thought: true } } as never)
      .withResponse();
    assert.equal(response.headers.get("x-fusionkit-thought"), "extractive+hybrid");
    const sent = fake.requestsFor("m")[0].body as {
      messages: { role: string; content: string }[];
      fusionkit?: unknown;
    };
    assert.equal(sent.messages.length, 2);
    assert.equal(sent.messages[0].role, "system");
    assert.match(
      sent.messages[0].content,
      /^Thought templates distilled from how strong models solved similar problems/,
    );
    assert.match(sent.messages[0].content, /Template 1: .+\nTemplate 2: .+\nTemplate 3: .+/);
    assert.deepEqual(sent.messages[1], { role: "user", content: question });
    assert.equal(sent.fusionkit, undefined, "the knobs are not forwarded");

    const plain = await client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: question }] })
      .withResponse();
    assert.equal(plain.response.headers.get("x-fusionkit-thought"), null);
    assert.equal((fake.requestsFor("m")[1].body as { messages: unknown[] }).messages.length, 1);
  });
});
