import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import OpenAI from "openai";
import { GATEWAY_DATASET, GATEWAY_TASK } from "../../src/data/datasets.ts";
import { queryId } from "../../src/data/ids.ts";
import { Store } from "../../src/data/store.ts";
import { routingText } from "../../src/serve/conversation.ts";
import { isHeldOut } from "../../src/serve/heldout.ts";
import { retrainRecords } from "../../src/serve/retrains.ts";
import { REPO, tempDir } from "../helpers.ts";
import { type Proc, runCli, spawnUntil, startFakeProcess } from "../serve/support/procs.ts";

/**
 * The README's gateway path, as written, in a fresh directory and store: the three commands are parsed out of
 * README.md (so this test breaks when they change) and run as they stand, with two substitutions a test needs:
 * `--base-url` points at the fake OpenAI server (a real process; the one allowed fake) and `serve` gets
 * `--port 0` (8787 may be taken on a shared machine). Then the README's client calls — the `openai` package's
 * chat completion and POST /v1/feedback — label 20 answers, and the gateway retrains, compares and swaps by
 * itself: no config edit, no SIGHUP. About 3–4 minutes on a loaded 2-core machine (the demo and the retrain of
 * `auto` dominate).
 */

const README = readFileSync(join(REPO, "README.md"), "utf8");

/** The indented `npx fusionkit …` block after "From the demo to a running gateway". */
function readmeCommands(): string[][] {
  const from = README.indexOf("From the demo to a running gateway");
  assert.ok(from >= 0, "README has the gateway path");
  const lines = README.slice(from).split("\n");
  const start = lines.findIndex((l) => l.startsWith("    npx fusionkit "));
  const block: string[] = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith("    npx fusionkit ")) break;
    block.push(l.trim());
  }
  for (const c of block) assert.doesNotMatch(c, /["'`$&|;]/, `a plain command: ${c}`);
  return block.map((c) => c.split(/\s+/).slice(2)); // without "npx fusionkit"
}

/** The README's TypeScript client snippet (the calls this test makes). */
function readmeClientSnippet(): string {
  const from = README.indexOf("From the demo to a running gateway");
  const m = /```ts\n([\s\S]*?)```/.exec(README.slice(from));
  assert.ok(m, "README shows the client calls");
  return m[1] as string;
}

const dir = tempDir();
const UPSTREAM_KEY = "sk-readme-e2e";
let fake: Awaited<ReturnType<typeof startFakeProcess>> | null = null;
let gw: Proc | null = null;
after(async () => {
  await gw?.stop();
  await fake?.stop();
});

test("README gateway path: demo → init → serve → openai client → feedback → automatic retrain and swap", async () => {
  const [demo, init, serve, ...rest] = readmeCommands();
  assert.equal(rest.length, 0);
  assert.deepEqual(demo, ["demo"]);
  assert.equal(init?.[0], "init");
  assert.equal(serve?.[0], "serve");
  const snippet = readmeClientSnippet();
  for (const call of [
    'model: "fusionkit/auto"',
    ".withResponse()",
    "/v1/feedback",
    'response.headers.get("x-request-id")',
  ])
    assert.ok(snippet.includes(call), `the README snippet makes the call this test makes: ${call}`);
  const retrainEvery = Number(init?.[(init?.indexOf("--retrain-every") ?? -2) + 1]);
  assert.ok(retrainEvery >= 1, "the README's init sets a small retrain threshold");

  const env = { FUSIONKIT_DB: undefined, OPENAI_API_KEY: UPSTREAM_KEY };
  const d = await runCli(demo, env, dir);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /llmrouter: saved the trained auto router in \S+ as "llmrouter\/auto"/);

  fake = await startFakeProcess({ defaultModel: { echo: true }, apiKey: UPSTREAM_KEY });
  const initArgs = [...(init as string[])];
  initArgs[initArgs.indexOf("--base-url") + 1] = fake.url;
  const i = await runCli(initArgs, env, dir);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /wrote fusionkit\.yaml: router llmrouter\/auto, 9 models at /, "init serves the demo's auto");
  const config = readFileSync(join(dir, "fusionkit.yaml"), "utf8");
  assert.match(config, new RegExp(`^retrain:\\n  every: ${retrainEvery}\\n`, "m"));

  gw = await spawnUntil(
    [join(REPO, "bin/fusionkit.js"), ...(serve as string[]), "--port", "0"],
    /listening on (\S+)/,
    env,
    180_000,
    dir,
  );
  const url = gw.url;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none", maxRetries: 0 });
  const feedback = async (requestId: string | null, score: number) => {
    const r = await fetch(`${url}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id: requestId, score }),
    });
    assert.equal(r.status, 200, await r.text());
  };

  // Real questions: LLMRouter test queries, two of them on the held-back side of the split (a hash of the
  // gateway's query id, the same the gateway computes), three on the training side.
  const store = new Store(join(dir, "fusionkit.db"));
  const texts = store.queries({ dataset: "llmrouter", split: "test" }).map((q) => q.text);
  store.close();
  const heldOf = (t: string) =>
    isHeldOut(
      queryId(
        GATEWAY_DATASET,
        GATEWAY_TASK,
        routingText([{ role: "user", content: t }], "conversation", 2000),
        "train",
      ),
      0.2,
    );
  const held = texts.filter(heldOf).slice(0, 2);
  const trained = texts.filter((t) => !heldOf(t)).slice(0, 3);
  const questions = [...held, ...trained];
  // Each question: fusionkit/auto's answer and the three runner-ups' (asked by name, as exploration would),
  // every answer labelled: 5 × 4 = the README's 20 labels, so both routers' choices are likely labelled.
  let labels = 0;
  for (const q of questions) {
    const messages = [{ role: "user" as const, content: q }];
    const { data, response } = await client.chat.completions
      .create({ model: "fusionkit/auto", messages })
      .withResponse();
    assert.equal(response.headers.get("x-fusionkit-router-artifact"), "llmrouter/auto");
    assert.ok(data.choices[0]?.message.content);
    await feedback(response.headers.get("x-request-id"), 1);
    labels++;
    const runnersUp = (response.headers.get("x-fusionkit-candidates") ?? "")
      .split(", ")
      .map((c) => c.split(";")[0] as string)
      .filter((k) => k !== data.model && !k.endsWith("_think"))
      .slice(0, 3);
    assert.equal(runnersUp.length, 3);
    for (const model of runnersUp) {
      const r = await client.chat.completions.create({ model, messages }).withResponse();
      await feedback(r.response.headers.get("x-request-id"), 1);
      labels++;
    }
  }
  assert.equal(labels, retrainEvery);

  // No SIGHUP, no edit: the gateway decides by itself.
  const decided = await waitFor(gw, /retrain of llmrouter\/auto: (\w+)[^\n]*/, 600_000);
  assert.match(decided, /: swap — live 1\.0000, retrained 1\.0000; not worse on [1-9]\d* held-back queries/);
  await waitFor(gw, /reloaded router artifacts \(retrained: swapped in llmrouter\+gateway\/auto@retrain-1[;)]/, 60_000);

  const check = new Store(join(dir, "fusionkit.db"));
  try {
    const [rec, ...more] = retrainRecords(check.db);
    assert.equal(more.length, 0);
    assert.equal(rec?.decision, "swap");
    assert.equal(rec?.base, "llmrouter/auto");
    assert.equal(rec?.router, "auto");
    assert.equal(rec?.datasets, "llmrouter,gateway");
    assert.equal(rec?.labels, retrainEvery);
    assert.equal(rec?.heldoutQueries, held.length);
    assert.ok((rec?.compared ?? 0) >= 1);
    assert.equal(rec?.artifact, "llmrouter+gateway/auto@retrain-1");
    const art = check.db
      .prepare<[string], { artifact: string }>("SELECT artifact FROM router_artifacts WHERE id = ?")
      .get("llmrouter+gateway/auto@retrain-1");
    assert.equal(
      createHash("sha256")
        .update(art?.artifact ?? "")
        .digest("hex"),
      rec?.artifactSha256,
    );
  } finally {
    check.close();
  }
  // The new router serves.
  const after = await client.chat.completions
    .create({ model: "fusionkit/auto", messages: [{ role: "user", content: questions[0] as string }] })
    .withResponse();
  assert.equal(after.response.headers.get("x-fusionkit-router-artifact"), "llmrouter+gateway/auto@retrain-1");
  assert.equal(readFileSync(join(dir, "fusionkit.yaml"), "utf8"), config, "the config was not edited");
  assert.match(await (await fetch(`${url}/metrics`)).text(), /^fusionkit_retrains_total\{decision="swap"\} 1$/m);
});

async function waitFor(p: Proc, pattern: RegExp, ms: number): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(p.stderr());
    if (m) return m[0];
    if (Date.now() > end) throw new Error(`no ${pattern} within ${ms} ms; stderr:\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
