import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { OpenAIChatClient } from "../../src/llm/client.ts";
import { judge, judgePrompt, parseVerdict } from "../../src/llm/judge.ts";
import { loadProviders } from "../../src/llm/providers.ts";
import { REPO, tempDir } from "../helpers.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";

test("verdict parsing: last <answer> tag, clamped; no tag or no number is unparseable, not 0", () => {
  assert.deepEqual(parseVerdict("Good reasoning. <answer>0.8</answer>"), { status: "ok", score: 0.8 });
  assert.deepEqual(parseVerdict("<answer>1.7</answer>"), { status: "ok", score: 1 });
  assert.deepEqual(parseVerdict("<answer> -0.2 </answer>"), { status: "ok", score: 0 });
  assert.deepEqual(parseVerdict("<answer>0.3</answer> on reflection <answer>0.6</answer>"), {
    status: "ok",
    score: 0.6,
  });
  assert.deepEqual(parseVerdict("<think>maybe <answer>0.1</answer>?</think><answer>1.0</answer>"), {
    status: "ok",
    score: 1,
  });
  assert.deepEqual(parseVerdict("I would give it 0.8"), { status: "unparseable" });
  assert.deepEqual(parseVerdict("<answer>great</answer>"), { status: "unparseable" });
  assert.deepEqual(parseVerdict("<answer></answer>"), { status: "unparseable" });
  assert.deepEqual(parseVerdict("<think><answer>0.5</answer></think> no verdict"), { status: "unparseable" });
});

test("the judge prompt carries the rubric, the query, the ground truth and the response", () => {
  const p = judgePrompt("What is 2+2?", "4", "It is 4.");
  for (const s of [
    "0.3: correct answer with minimal reasoning",
    "1.0: correct answer with excellent",
    "<answer>SCORE</answer>",
  ])
    assert.ok(p.includes(s), s);
  assert.match(p, /Query: What is 2\+2\?\nGround truth: 4\nResponse: It is 4\./);
});

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["bin/fusionkit.js", ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

describe("fusionkit judge on real stored responses (bundled RouteProfile) with a real local judge server", () => {
  let fake: FakeOpenAI;
  let dir: string;
  let db: string;
  let prov: string;
  before(async () => {
    fake = await startFakeOpenAI({});
    dir = tempDir();
    db = join(dir, "store.db");
    prov = join(dir, "providers.yaml");
    writeFileSync(prov, providersYaml(fake.url, ["judge"], { retries: 0 }));
    const store = new Store(db);
    await importPath(store, join(REPO, "data/routeprofile"), {});
    store.close();
  });
  after(() => fake.close());

  const verdicts = () => {
    const d = new Database(db, { readonly: true });
    try {
      return d
        .prepare(
          `SELECT j.status, j.score, o.judge FROM judge_results j
           JOIN outcomes o ON o.query_id = j.query_id AND o.model = j.model AND o.mode = j.mode
           JOIN queries q ON q.id = j.query_id ORDER BY q.rowid, j.model, j.mode`,
        )
        .all() as Array<{ status: string; score: number | null; judge: number | null }>;
    } finally {
      d.close();
    }
  };

  test("scores, clamps, records unparseable verdicts without a score, skips what is judged, uses the cache", async () => {
    fake.setModel("judge", {
      steps: [
        { reply: "Correct with good steps. <answer>0.8</answer>" },
        { reply: "<answer>1.7</answer>" },
        { reply: "Looks right to me." },
        { reply: "<answer>-0.2</answer>" },
        { reply: "<answer>great</answer>" },
        { status: 500 },
        { reply: "<answer>0.6</answer>" },
      ],
    });
    const args = [
      "judge",
      "--providers",
      prov,
      "--judge-model",
      "judge",
      "--db",
      db,
      "--limit",
      "6",
      "--concurrency",
      "1",
    ];
    const first = await cli(args);
    assert.equal(first.code, 1, "one call failed");
    assert.match(
      first.stdout,
      /judged 5 responses with judge: 3 scored, 2 unparseable \(recorded, no score\), 1 failed; 0 already judged/,
    );
    assert.deepEqual(verdicts(), [
      { status: "ok", score: 0.8, judge: 0.8 },
      { status: "ok", score: 1, judge: 1 },
      { status: "unparseable", score: null, judge: null },
      { status: "ok", score: 0, judge: 0 },
      { status: "unparseable", score: null, judge: null },
    ]);
    // The judge saw the stored response and the query's ground truth.
    const body = JSON.stringify(fake.requests[0]?.body);
    assert.match(body, /Ground truth: /);

    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /judged 1 responses .* 1 scored, 0 unparseable .* 5 already judged/);
    assert.equal(verdicts().at(-1)?.score, 0.6);
    const asked = fake.requests.length;

    // Forget the verdicts: judging again (in process this time) costs nothing, the answers come from the cache.
    const store = new Store(db);
    try {
      store.db.exec("DELETE FROM judge_results");
      const client = new OpenAIChatClient(loadProviders(prov), { store });
      const again = await judge({ store, client, judgeModel: "judge", limit: 6, concurrency: 1, maxTokens: 256 });
      assert.equal(fake.requests.length, asked, "all six verdicts served from the cache");
      assert.deepEqual([again.done, again.spentUsd], [6, 0]);

      fake.setModel("judge", { reply: "<answer>0.3</answer>" });
      const retry = await judge({
        store,
        client,
        judgeModel: "judge",
        limit: 6,
        concurrency: 1,
        retryUnparseable: true,
      });
      assert.deepEqual([retry.done, retry.ok, retry.skipped], [2, 2, 4]);
    } finally {
      store.close();
    }
    assert.equal(verdicts().filter((v) => v.status === "unparseable").length, 0);
  });
});
