import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDb, tempDir } from "../helpers.ts";
import { runCli } from "../support/cli.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai.ts";
import { type Proc, startGatewayProcess } from "./support/procs.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/**
 * The llm-judge scenario in the gateway, as in `fusionkit route`: on a router without a judge head it would
 * silently rank by performance, so a request that asks for it (fusionkit/llm-judge, or fusionkit.scenario)
 * is a 400 saying why, and a configured llm-judge knob (--scenario, --variant) refuses to start. A router
 * with a judge head ranks by it.
 */
describe("gateway: llm-judge needs a judge head (real processes)", () => {
  const dir = tempDir();
  const plain = join(dir, "plain.json");
  const judged = join(dir, "judged.json");
  const providers = join(dir, "providers.yaml");
  let fake: FakeOpenAI;
  let gwPlain: Proc;
  let gwJudged: Proc;

  before(async () => {
    fake = await startFakeOpenAI({ models: { alpha: { reply: "I am alpha" }, beta: { reply: "I am beta" } } });
    // Both rank alpha first by performance; the judge head of `judged` ranks beta first.
    writeFixedOrderRouter(plain, ["alpha", "beta"]);
    writeFixedOrderRouter(judged, ["alpha", "beta"], ["beta", "alpha"]);
    const models = ["alpha", "beta"].flatMap((m) => [
      `  - name: ${m}`,
      "    provider: fake",
      `    upstreamId: ${m}`,
      "    inputPrice: 1",
      "    outputPrice: 2",
    ]);
    writeFileSync(
      providers,
      ["providers:", "  - name: fake", `    baseUrl: ${fake.url}`, "    retries: 0", "models:", ...models].join("\n"),
    );
    gwPlain = await startGatewayProcess(["--providers", providers, "--router", plain, "--db", tempDb(), "--no-auth"]);
    gwJudged = await startGatewayProcess([
      ...["--providers", providers, "--router", judged, "--db", tempDb(), "--no-auth"],
      ...["--scenario", "llm-judge"],
    ]);
  });
  after(async () => {
    await gwPlain?.stop();
    await gwJudged?.stop();
    await fake?.close();
  });

  const chat = async (gw: Proc, body: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "What is 2 + 2?" }], ...body }),
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        choices?: Array<{ message: { content: string } }>;
        error?: { message: string; type: string; code: string | null; param: string | null };
      },
    };
  };

  test("without a judge head: fusionkit/llm-judge is a 400 naming the scenario and why", async () => {
    const r = await chat(gwPlain, { model: "fusionkit/llm-judge" });
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.code, "scenario_unavailable");
    assert.equal(r.body.error?.param, "model");
    assert.match(r.body.error?.message ?? "", /^fusionkit\/llm-judge: scenario llm-judge ranks by predicted LLM-judge/);
    assert.match(r.body.error?.message ?? "", /router plain\.json was trained on data without any/);
    // Still listed: the name is documented; a request says why it cannot be served.
    const listed = (await (await fetch(`${gwPlain.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.ok(listed.data.some((m) => m.id === "fusionkit/llm-judge"));
  });

  test("without a judge head: fusionkit.scenario llm-judge is a 400 on that field; other scenarios serve", async () => {
    const r = await chat(gwPlain, { model: "fusionkit/auto", fusionkit: { scenario: "llm-judge" } });
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.code, "scenario_unavailable");
    assert.equal(r.body.error?.param, "fusionkit.scenario");
    assert.match(r.body.error?.message ?? "", /scenario llm-judge .* without any/);
    const ok = await chat(gwPlain, { model: "fusionkit/auto", fusionkit: { scenario: "balance" } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.choices?.[0]?.message.content, "I am alpha");
  });

  test("without a judge head: --scenario llm-judge or an llm-judge --variant refuses to start", {
    timeout: 60_000,
  }, async () => {
    for (const [flag, value, model] of [
      ["--scenario", "llm-judge", "fusionkit/auto"],
      ["--variant", "judged=llm-judge", "fusionkit/judged"],
    ] as const) {
      const r = await runCli([
        ...["serve", "--port", "0", "--providers", providers, "--router", plain, "--db", tempDb(), "--no-auth"],
        ...[flag, value],
      ]);
      assert.equal(r.code, 2, `${flag} ${value}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${model}: scenario llm-judge ranks by predicted LLM-judge scores`));
    }
  });

  test("with a judge head: llm-judge ranks by it, performance-first by performance", async () => {
    for (const body of [
      { model: "fusionkit/llm-judge" },
      { model: "fusionkit/auto" }, // --scenario llm-judge
      { model: "fusionkit/balance", fusionkit: { scenario: "llm-judge" } },
    ]) {
      const r = await chat(gwJudged, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.choices?.[0]?.message.content, "I am beta", JSON.stringify(body));
    }
    const perf = await chat(gwJudged, { model: "fusionkit/performance-first" });
    assert.equal(perf.status, 200);
    assert.equal(perf.body.choices?.[0]?.message.content, "I am alpha");
  });
});
