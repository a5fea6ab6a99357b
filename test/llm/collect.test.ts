import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { gsm8kGold } from "../../src/scoring/text-metrics.ts";
import { REPO, tempDir } from "../helpers.ts";
import { type FakeOpenAI, providersYaml, startFakeOpenAI } from "../support/fake-openai.ts";

interface RPItem {
  task_name: string;
  query: string;
  ground_truth: string;
  metric: string;
  choices: string | null;
}
const rp = JSON.parse(
  readFileSync(join(REPO, "data/routeprofile/route_data/routing_test_data.json"), "utf8"),
) as RPItem[];
const picked = ["mmlu", "gsm8k", "natural_qa"].flatMap((t) => rp.filter((q) => q.task_name === t).slice(0, 3));

/** The right answer in the shape each metric reads. */
function correct(q: RPItem): string {
  if (q.metric === "em_mc") return `The answer is (${q.ground_truth}).`;
  if (q.metric === "gsm8k") return `So the result is ${gsm8kGold(q.ground_truth)}`;
  return q.ground_truth;
}

function writeTasks(dir: string, items: RPItem[] = picked): string {
  const file = join(dir, "tasks.jsonl");
  writeFileSync(
    file,
    `${items
      .map((q) =>
        JSON.stringify({
          task: q.task_name,
          query: q.query,
          ground_truth: q.ground_truth,
          metric: q.metric,
          choices: q.choices,
        }),
      )
      .join("\n")}\n`,
  );
  return file;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ["bin/fusionkit.js", ...args], {
    cwd: REPO,
    env: { ...process.env, FUSIONKIT_PROGRESS_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = once(child, "close").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return { child, done };
}

const run = (args: string[], env?: Record<string, string>) => start(args, env).done;

function outcomes(
  db: string,
): Array<{ model: string; mode: string; performance: number; cost: number; response: string }> {
  const d = new Database(db, { readonly: true });
  try {
    return d
      .prepare("SELECT model, mode, performance, cost, response FROM outcomes ORDER BY model, mode")
      .all() as Array<{
      model: string;
      mode: string;
      performance: number;
      cost: number;
      response: string;
    }>;
  } finally {
    d.close();
  }
}

describe("fusionkit collect (real CLI process against a real local OpenAI-protocol server)", () => {
  let fake: FakeOpenAI;
  let dir: string;
  let tasks: string;
  before(async () => {
    fake = await startFakeOpenAI({});
    dir = tempDir();
    tasks = writeTasks(dir);
  });
  after(() => fake.close());

  const providers = (name: string, opts: Parameters<typeof providersYaml>[2] = {}, models = ["good", "bad"]) => {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(f, providersYaml(fake.url, models, opts));
    return f;
  };

  test("asks, scores and stores every (query, model, mode); a rerun asks nothing", async () => {
    fake.setModel("good", { answers: Object.fromEntries(picked.map((q) => [q.query, correct(q)])) });
    fake.setModel("bad", { reply: "I do not know." });
    fake.reset();
    const db = join(dir, "basic.db");
    const prov = providers("basic");
    const args = [
      "collect",
      "--tasks",
      tasks,
      "--models",
      "good,bad",
      "--modes",
      "direct,think",
      "--providers",
      prov,
      "--db",
      db,
    ];
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /collected 36 outcomes .* dataset tasks; 0 already stored; 0 failed; spent \$0\.\d+/);
    assert.match(r.stderr, /collect: \d+\/36 \(\d+%\) · \$0\.\d{4} spent · [\d.]+\/s · eta /);
    const rows = outcomes(db);
    assert.equal(rows.length, 36);
    for (const o of rows) assert.equal(o.performance, o.model === "good" ? 1 : 0, `${o.model} ${o.response}`);
    // Prices 1 and 2 USD per 1M: cost = (in + 2·out)/1e6 with the server's token counts.
    const bad = rows.find((o) => o.model === "bad");
    assert.ok(bad && bad.cost > 0 && bad.cost < 0.001);
    const think = fake.requests.find(
      (q) => q.model === "good" && JSON.stringify(q.body).includes("think step by step"),
    );
    assert.ok(think, "think mode sends the step-by-step cue");
    assert.equal(fake.requests.length, 36);

    const again = await run([...args, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    const s = JSON.parse(again.stdout) as { skipped: number; done: number; remaining: number };
    assert.deepEqual([s.skipped, s.done, s.remaining], [36, 0, 0]);
    assert.equal(fake.requests.length, 36, "nothing re-asked");
  });

  test("kill -9 mid-run loses only calls in flight; the rerun completes exactly the rest", async () => {
    fake.setModel("good", { reply: "(A)", delayMs: 120 });
    fake.setModel("bad", { reply: "no", delayMs: 120 });
    fake.reset();
    const db = join(dir, "killed.db");
    const prov = providers("kill", { maxConcurrency: 2 });
    const args = ["collect", "--tasks", tasks, "--models", "good,bad", "--modes", "direct,think"];
    const first = start([...args, "--providers", prov, "--db", db, "--no-cache"]);
    // Wait until some outcomes are committed, then kill without warning. The condition ends the wait, not a
    // clock: however long the CLI takes to start on a loaded machine (the test's own timeout bounds it).
    const committed = () => {
      try {
        return outcomes(db).length;
      } catch {
        return 0; // the store is not created yet
      }
    };
    while (first.child.exitCode === null && committed() < 8) await new Promise((r) => setTimeout(r, 50));
    assert.equal(first.child.exitCode, null, "collect was still running when killed");
    first.child.kill("SIGKILL");
    const killed = await first.done;
    assert.equal(killed.signal, "SIGKILL");
    const d = new Database(db, { readonly: true });
    assert.equal((d.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
    d.close();
    const kept = outcomes(db).length;
    assert.ok(kept >= 8 && kept < 36, `kept ${kept}`);
    const askedBefore = fake.requests.length;
    assert.ok(askedBefore - kept <= 4, "at most the in-flight calls (2 per provider × 2 pools) are lost");

    fake.reset();
    const second = await run([...args, "--providers", prov, "--db", db, "--no-cache"]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`collected ${36 - kept} outcomes .* ${kept} already stored`));
    assert.equal(fake.requests.length, 36 - kept, "the rerun asks only what is missing");
    assert.equal(outcomes(db).length, 36);
  });

  test("the spend cap stops new calls cleanly, exit code 3; a rerun with a higher cap finishes", async () => {
    fake.setModel("good", { reply: "(A)", usage: { prompt: 1000, completion: 1000 } });
    fake.reset();
    const db = join(dir, "cap.db");
    // 1000 in × $10/1M + 1000 out × $10/1M = $0.02 per call.
    const prov = providers("cap", { inputPrice: 10, outputPrice: 10 }, ["good"]);
    const args = [
      "collect",
      "--tasks",
      tasks,
      "--models",
      "good",
      "--providers",
      prov,
      "--db",
      db,
      "--concurrency",
      "1",
    ];
    const r = await run([...args, "--max-usd", "0.05"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /collected 3 outcomes .* spent \$0\.0600/);
    assert.match(
      r.stdout,
      /stopped early \(spend cap\); 6 outcomes still missing — rerun the same command to continue/,
    );
    assert.match(r.stderr, /\$0\.0600 spent of \$0\.05/);
    assert.equal(outcomes(db).length, 3);
    const more = await run([...args, "--max-usd", "1"]);
    assert.equal(more.code, 0, more.stderr);
    assert.equal(outcomes(db).length, 9);
  });

  test("a bad task file names file, line and field, and stores nothing", async () => {
    const bad = join(dir, "bad.jsonl");
    writeFileSync(
      bad,
      `${JSON.stringify({ task: "gsm8k", query: "1+1?", ground_truth: "#### 2", metric: "gsm8k" })}\n` +
        `${JSON.stringify({ task: "gsm8k", query: "2+2?", ground_truth: "#### 4", metric: "bleu" })}\n`,
    );
    const db = join(dir, "bad.db");
    const r = await run(["collect", "--tasks", bad, "--models", "good", "--providers", providers("bad"), "--db", db]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.jsonl:line 2, field "metric": unknown metric "bleu"/);
    const r2 = await run([
      "collect",
      "--tasks",
      tasks,
      "--models",
      "nope",
      "--providers",
      providers("bad"),
      "--db",
      db,
    ]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /model "nope" is not in .*bad\.yaml \(known: good, bad\)/);
  });

  test("code tasks need --allow-code-exec; with it, generated code is run against the tests", async () => {
    const he = rp.filter((q) => q.task_name === "human_eval").slice(0, 1);
    const codeTasks = join(dir, "code");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(codeTasks, { recursive: true });
    const file = writeTasks(codeTasks, he);
    fake.setModel("good", {
      reply: "[BEGIN]\ns = 0\np = 1\nfor n in numbers:\n    s += n\n    p *= n\nreturn s, p\n[DONE]",
    });
    const db = join(dir, "code.db");
    const args = ["collect", "--tasks", file, "--models", "good", "--providers", providers("code"), "--db", db];
    const refused = await run(args);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /code_eval, which runs model-written code .* pass --allow-code-exec/);
    const ok = await run([...args, "--allow-code-exec"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      outcomes(db).map((o) => o.performance),
      [1],
    );
  });

  test("a rejected key stops the run at once with a clear message that does not contain the key", async () => {
    const keyed = await startFakeOpenAI({ apiKey: "sk-right-0000", defaultModel: { reply: "(A)" } });
    try {
      const prov = join(dir, "keyed.yaml");
      writeFileSync(prov, providersYaml(keyed.url, ["good"], { apiKeyEnv: "FK_TEST_KEY" }));
      const db = join(dir, "keyed.db");
      const r = await run(["collect", "--tasks", tasks, "--models", "good", "--providers", prov, "--db", db], {
        FK_TEST_KEY: "sk-wrong-TOPSECRET-1234",
      });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /stopped early \(fake\/good: authentication failed \(check FK_TEST_KEY\)/);
      assert.doesNotMatch(r.stdout + r.stderr, /TOPSECRET/);
      assert.ok(keyed.requests.length <= 4, "no hammering after a fatal error");
      const store = readFileSync(db).toString("latin1");
      assert.doesNotMatch(store, /TOPSECRET/);
    } finally {
      await keyed.close();
    }
  });
});
