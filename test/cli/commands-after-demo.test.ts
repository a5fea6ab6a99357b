import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { startGatewayProcess } from "../serve/support/procs.ts";
import { runCli } from "../support/cli.ts";

/**
 * Issue 12 item 3: the commands of the README work on a store holding several datasets (as after
 * `fusionkit demo`), and every user error is a clean message with exit code 2 — never a stack trace.
 */

/** A canonical JSONL dataset: 2 tasks × 6 queries, split 4 train / 2 test per task, two priced models. */
function datasetLines(dataset: string, withSplit = true): string {
  const lines: object[] = [
    { kind: "model", name: "small", input_price: 0.1, output_price: 0.2 },
    { kind: "model", name: "large", input_price: 1, output_price: 2 },
  ];
  for (const task of ["math", "trivia"])
    for (let i = 0; i < 6; i++) {
      const id = `${dataset}-${task}-${i}`;
      lines.push({
        kind: "query",
        id,
        dataset,
        task,
        text: `${task} question number ${i} of ${dataset}`,
        ...(withSplit ? { split: i < 4 ? "train" : "test" } : {}),
      });
      lines.push({ kind: "outcome", query_id: id, model: "small", performance: i % 2, cost: 0.0001 });
      lines.push({ kind: "outcome", query_id: id, model: "large", performance: 1, cost: 0.001 });
    }
  return `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
}

function writeFile(name: string, text: string): string {
  const f = join(tempDir(), name);
  writeFileSync(f, text);
  return f;
}

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at |node:internal/, stderr);

describe("commands on a store with several datasets (as after the demo)", () => {
  const db = tempDb();
  before(async () => {
    for (const d of ["first", "second"]) {
      const r = await runCli(["import", writeFile(`${d}.jsonl`, datasetLines(d)), "--db", db]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test("stats and train without --dataset use the first imported dataset and say so", async () => {
    const s = await runCli(["stats", "--db", db, "--split", "test"]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /holds several datasets \(first, second\); using "first", the first imported/);
    assert.match(s.stdout, /^first, split test: 4 queries × 2 candidates/);

    const out = join(tempDir(), "router.json");
    const t = await runCli(["train", "--router", "knn", "--embedder", "hash", "--db", db, "--out", out]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /trained knn .* on 8 queries/);
    assert.match(t.stdout, /as "first\/knn"/);

    // --dataset still picks any of them.
    const second = await runCli(["stats", "--db", db, "--dataset", "second", "--json"]);
    assert.equal(JSON.parse(second.stdout).dataset, "second");
  });

  test("--scenario llm-judge on data without judge scores is an error, not performance-first in disguise", async () => {
    const e = await runCli(["eval", "--db", db, "--routers", "knn", "--embedder", "hash", "--scenario", "judge"]);
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /scenario llm-judge needs LLM-judge scores, and the test split of dataset "first" has none/);
    noStack(e.stderr);
    const t = await runCli(["train", "--router", "knn", "--db", db, "--scenario", "llm-judge", "--embedder", "hash"]);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /the train split of dataset "first" has none; score responses with "fusionkit judge/);

    const artifact = join(tempDir(), "r.json");
    const ok = await runCli(["train", "--router", "knn", "--db", db, "--embedder", "hash", "--out", artifact]);
    assert.equal(ok.code, 0, ok.stderr);
    const r = await runCli(["route", "math question", "--router-artifact", artifact, "--scenario", "llm-judge"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /was trained on data without any/);
  });

  test("train --dataset a,b merges datasets: the router knows every candidate, trained on both", async () => {
    // Labelled traffic in the shape the gateway writes: its own dataset, train split, one model per query.
    const traffic = [
      ...[0, 1, 2].flatMap((i) => [
        { kind: "query", id: `t${i}`, dataset: "traffic", task: "gateway", text: `user question ${i}`, split: "train" },
        { kind: "outcome", query_id: `t${i}`, model: "small", performance: 1, cost: 0.0001 },
      ]),
    ];
    const f = writeFile("traffic.jsonl", traffic.map((l) => JSON.stringify(l)).join("\n"));
    assert.equal((await runCli(["import", f, "--db", db])).code, 0);
    const only = await runCli([
      "train",
      "--router",
      "knn",
      "--embedder",
      "hash",
      "--db",
      db,
      "--dataset",
      "traffic",
      "--out",
      join(tempDir(), "t.json"),
      "--json",
    ]);
    assert.equal(only.code, 0, only.stderr);
    assert.deepEqual(JSON.parse(only.stdout).candidates, ["small"], "traffic alone knows only the model that served");
    const out = join(tempDir(), "merged.json");
    const merged = await runCli([
      "train",
      "--router",
      "knn",
      "--embedder",
      "hash",
      "--db",
      db,
      "--dataset",
      "first,traffic",
      "--out",
      out,
      "--json",
    ]);
    assert.equal(merged.code, 0, merged.stderr);
    const s = JSON.parse(merged.stdout) as {
      candidates: string[];
      trainQueries: number;
      storeId: string;
      dataset: string;
    };
    assert.deepEqual([...s.candidates].sort(), ["large", "small"]);
    assert.equal(s.trainQueries, 8 + 3);
    assert.equal(s.dataset, "first,traffic");
    assert.equal(s.storeId, "first+traffic/knn");
    const unknown = await runCli(["train", "--router", "knn", "--db", db, "--dataset", "first,nope"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /dataset "nope" is not in/);
  });

  test("serve without --router among several stored auto routers (one per dataset, as the demo saves) serves the first imported dataset's", async () => {
    for (const d of ["first", "second"]) {
      const t = await runCli([
        "train",
        "--embedder",
        "hash",
        "--db",
        db,
        "--dataset",
        d,
        "--out",
        join(tempDir(), `${d}.json`),
      ]);
      assert.equal(t.code, 0, t.stderr);
    }
    const providers = writeFile(
      "providers.yaml",
      [
        "providers:",
        "  - name: local",
        "    baseUrl: http://127.0.0.1:9/v1",
        "models:",
        "  - { name: small, provider: local, upstreamId: small, inputPrice: 0.1, outputPrice: 0.2 }",
        "  - { name: large, provider: local, upstreamId: large, inputPrice: 1, outputPrice: 2 }",
        "",
      ].join("\n"),
    );
    const gw = await startGatewayProcess(["--db", db, "--providers", providers]);
    try {
      assert.match(gw.stderr(), /routing with "first\/auto" from the store/);
      assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    } finally {
      await gw.stop();
    }
  });

  test("output piped into a reader that stops early is not an error", () => {
    const r = spawnSync(
      "bash",
      ["-c", `node bin/fusionkit.js stats --db '${db}' --dataset first | head -c 5; exit \${PIPESTATUS[0]}`],
      { cwd: REPO, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "first");
    assert.equal(r.stderr, "");
  });
});

test("stats --split test on an unsplit dataset: a clear message and exit 2, no stack trace", async () => {
  const db = tempDb();
  assert.equal((await runCli(["import", writeFile("u.jsonl", datasetLines("plain", false)), "--db", db])).code, 0);
  const r = await runCli(["stats", "--db", db, "--split", "test"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^fusionkit: dataset "plain" has no test split in .*; assign one with "fusionkit split --dataset plain"\n$/,
  );
  noStack(r.stderr);
});

describe("canonical JSONL outcome fields", () => {
  test('a performance given as text ("0.5") is an import error naming file, line and field', async () => {
    const db = tempDb();
    const f = writeFile(
      "text.jsonl",
      [
        { kind: "model", name: "m", input_price: 1, output_price: 1 },
        { kind: "query", id: "q", dataset: "d", task: "t", text: "hi" },
        { kind: "outcome", query_id: "q", model: "m", performance: "0.5", cost: 0 },
      ]
        .map((l) => JSON.stringify(l))
        .join("\n"),
    );
    const r = await runCli(["import", f, "--db", db]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /text\.jsonl:line 3, field "performance": expected a number, got string "0\.5" \(in JSON a number is written without quotes\)/,
    );
    // Nothing stored: no store file at all, or one without outcomes.
    if (existsSync(db)) {
      const d = new Database(db, { readonly: true });
      assert.equal((d.prepare("SELECT COUNT(*) AS n FROM outcomes").get() as { n: number }).n, 0);
      d.close();
    }
  });

  test("an outcome with only the documented required fields imports; its cost is priced from counted tokens", async () => {
    const db = tempDb();
    // GPT-2 BPE: "hello world" = 2 tokens, "yes" = 1. Prices 2 and 4 USD per 1M tokens.
    const f = writeFile(
      "minimal.jsonl",
      [
        { kind: "model", name: "m", input_price: 2, output_price: 4 },
        { kind: "query", id: "q1", dataset: "d", task: "t", text: "hello world" },
        { kind: "query", id: "q2", dataset: "d", task: "t", text: "hello world" + "!" },
        { kind: "outcome", query_id: "q1", model: "m", performance: 1 },
        { kind: "outcome", query_id: "q2", model: "m", performance: 0, response: "yes" },
      ]
        .map((l) => JSON.stringify(l))
        .join("\n"),
    );
    const r = await runCli(["import", f, "--db", db]);
    assert.equal(r.code, 0, r.stderr);
    const d = new Database(db, { readonly: true });
    const rows = d.prepare("SELECT query_id, cost, input_tokens FROM outcomes ORDER BY query_id").all() as Array<{
      query_id: string;
      cost: number;
      input_tokens: number | null;
    }>;
    d.close();
    assert.ok(Math.abs(rows[0].cost - (2 * 2) / 1e6) < 1e-15, `${rows[0].cost}`);
    // "hello world!" = 3 tokens in, "yes" = 1 out.
    assert.ok(Math.abs(rows[1].cost - (3 * 2 + 1 * 4) / 1e6) < 1e-15, `${rows[1].cost}`);
    assert.equal(rows[0].input_tokens, null, "estimated counts are not stored as measured ones");
  });
});
