import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { GATEWAY_DATASET } from "../../src/data/datasets.ts";
import { Store } from "../../src/data/store.ts";
import { tempDir } from "../helpers.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";

/**
 * The gateway learns from its own traffic: exchanges are logged, feedback labels them, the labels become
 * routing data (dataset "gateway"), a router trained on it routes differently, and SIGHUP swaps it in.
 */
describe("gateway: feedback → retrain → changed route (real processes)", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const artifact = join(dir, "router.json");
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  let client: OpenAI;
  let key = "";
  // Real questions (bundled LLMRouter GSM8K-style test queries would do; short ones keep the test fast).
  const questions = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether?",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
    "Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. How much more money does Betty need?",
    "James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
  ];

  const feedback = (request_id: string, score: unknown) =>
    fetch(`${gw.url}/v1/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ request_id, score }),
    });

  /** Ask every question of both models explicitly and label the answers. */
  async function round(scores: Record<string, number>): Promise<void> {
    for (const q of questions)
      for (const [model, score] of Object.entries(scores)) {
        const { response } = await client.chat.completions
          .create({ model, messages: [{ role: "user", content: q }] })
          .withResponse();
        const r = await feedback(response.headers.get("x-request-id") ?? "", score);
        assert.equal(r.status, 200, await r.clone().text());
      }
  }

  async function routedModel(q: string): Promise<string | null> {
    const { response } = await client.chat.completions
      .create({ model: "fusionkit/auto", messages: [{ role: "user", content: q }] })
      .withResponse();
    return response.headers.get("x-fusionkit-model");
  }

  /** `fusionkit train` on the gateway's own labelled traffic. */
  async function train(): Promise<void> {
    const r = await runCli([
      "train",
      ...["--db", db, "--dataset", GATEWAY_DATASET, "--router", "knn", "--embedder", "hash"],
      ...["--param", "k=3", "--param", "shrink=0.5", "--out", artifact],
    ]);
    assert.equal(r.code, 0, r.stderr);
  }

  async function retrainAndReload(): Promise<void> {
    await train();
    const seen = gw.stderr().length;
    gw.child.kill("SIGHUP");
    const end = Date.now() + 10_000;
    while (!gw.stderr().slice(seen).includes("reloaded router artifacts")) {
      if (Date.now() > end) throw new Error(`no reload: ${gw.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async () => {
    fake = await startFakeProcess({ models: { alpha: { reply: "from alpha" }, beta: { reply: "from beta" } } });
    const providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n` +
        "  - { name: alpha, provider: fake, upstreamId: alpha, inputPrice: 1, outputPrice: 1 }\n" +
        "  - { name: beta, provider: fake, upstreamId: beta, inputPrice: 1, outputPrice: 1 }\n",
    );
    key = (
      JSON.parse((await runCli(["keys", "create", "--name", "t", "--db", db, "--json"])).stdout) as { key: string }
    ).key;
    gw = await startGatewayProcess(["--providers", providers, "--db", db]);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
    // First round of traffic, before any router exists: alpha answers well, beta badly.
    await round({ alpha: 1, beta: 0 });
    // A router trained on that traffic; the gateway restarts with it (then is reloaded in place).
    await train();
    await gw.stop();
    gw = await startGatewayProcess(["--providers", providers, "--db", db, "--router", artifact]);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  test("labelled exchanges are routing data: one query per question, one outcome per model", () => {
    const store = new Store(db);
    try {
      const qs = store.queries({ dataset: GATEWAY_DATASET });
      assert.equal(qs.length, questions.length);
      assert.deepEqual(qs.map((q) => q.text).sort(), [...questions].sort());
      const outcomes = store.outcomes({ dataset: GATEWAY_DATASET });
      assert.equal(outcomes.length, questions.length * 2);
      for (const o of outcomes) {
        assert.equal(o.performance, o.model === "alpha" ? 1 : 0);
        assert.equal(o.response, `from ${o.model}`);
        assert.ok(o.cost > 0);
      }
    } finally {
      store.close();
    }
  });

  test("the first router sends these questions to alpha; after contrary feedback and a retrain, to beta", async () => {
    for (const q of questions) assert.equal(await routedModel(q), "alpha");
    // The models change: beta now answers well, alpha badly (three rounds outweigh the first).
    for (let i = 0; i < 3; i++) await round({ alpha: 0, beta: 1 });
    await retrainAndReload();
    for (const q of questions) assert.equal(await routedModel(q), "beta");
    const store = new Store(db);
    try {
      const alpha = store.outcomes({ dataset: GATEWAY_DATASET }).filter((o) => o.model === "alpha");
      assert.ok(
        alpha.every((o) => o.performance === 0.25),
        "the outcome is the mean of the four labels",
      );
    } finally {
      store.close();
    }
  });

  test("feedback errors: unknown request 404, score out of range 400, unanswered exchange 409", async () => {
    assert.equal((await feedback("fkreq-nope", 1)).status, 404);
    const bad = await feedback("x", 1.5);
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { error: { message: string } }).error.message,
      /'score' must be a number in \[0, 1\]/,
    );
    const failed = await client.chat.completions
      .create({
        model: "alpha",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "f" } }],
      })
      .withResponse()
      .catch((e: InstanceType<typeof OpenAI.APIError>) => e);
    assert.ok(failed instanceof OpenAI.BadRequestError);
    const id = failed.headers?.get("x-request-id") ?? "";
    assert.match(id, /^fkreq-/);
    assert.equal((await feedback(id, 1)).status, 409);
  });
});
