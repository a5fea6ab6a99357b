import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GATEWAY_DATASET, GATEWAY_TASK } from "../../src/data/datasets.ts";
import { queryId } from "../../src/data/ids.ts";
import { Store } from "../../src/data/store.ts";
import { isHeldOut } from "../../src/serve/heldout.ts";
import { retrainRecords } from "../../src/serve/retrains.ts";
import { tempDir } from "../helpers.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";

const post = (gw: Proc, path: string, body: unknown) =>
  fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A chat request on a new connection (so the primary hands it to either worker). */
function chat(gw: Proc, model: string, content: string): Promise<{ status: number; headers: Record<string, string> }> {
  const body = JSON.stringify({ model, messages: [{ role: "user", content }] });
  return new Promise((resolve, reject) => {
    const req = request(
      `${gw.url}/v1/chat/completions`,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string> }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Ask every question of each model by name and label its answer with that model's score for the question. */
async function labelRound(gw: Proc, questions: string[], score: (q: string, model: string) => number): Promise<void> {
  for (const q of questions)
    for (const model of ["alpha", "beta"]) {
      const r = await chat(gw, model, q);
      assert.equal(r.status, 200);
      const f = await post(gw, "/v1/feedback", { request_id: r.headers["x-request-id"], score: score(q, model) });
      assert.equal(f.status, 200, await f.text());
    }
}

async function waitFor(gw: Proc, pattern: RegExp, from: number, ms = 120_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(gw.stderr().slice(from));
    if (m) return m[0];
    if (Date.now() > end) throw new Error(`no ${pattern} within ${ms} ms; stderr:\n${gw.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Routing data in FusionKit's JSONL: models alpha and beta at these prices, each text with both outcomes. */
function writeRoutingData(
  file: string,
  prices: { alpha: number; beta: number },
  rows: Array<[text: string, alpha: number, beta: number]>,
): void {
  const lines = Object.entries(prices).map(([name, price]) =>
    JSON.stringify({ kind: "model", name, input_price: price, output_price: price }),
  );
  rows.forEach(([text, alpha, beta], i) => {
    lines.push(JSON.stringify({ kind: "query", id: `b${i}`, dataset: "base", task: "qa", text, split: "train" }));
    for (const [model, performance] of [
      ["alpha", alpha],
      ["beta", beta],
    ] as const)
      lines.push(
        JSON.stringify({ kind: "outcome", query_id: `b${i}`, model, performance, input_tokens: 20, output_tokens: 5 }),
      );
  });
  writeFileSync(file, `${lines.join("\n")}\n`);
}

type Fake = Awaited<ReturnType<typeof startFakeProcess>>;

/**
 * The router's own data (writeRoutingData) imported into the store, `train` run on it with these flags (hash
 * embeddings), a fake upstream answering as alpha and beta at these prices (providers.yaml in `dir`), and a
 * gateway serving the trained router that retrains it (`serve` flags).
 */
async function startRetrainingGateway(o: {
  dir: string;
  db: string;
  prices: { alpha: number; beta: number };
  rows: Array<[text: string, alpha: number, beta: number]>;
  train: string[];
  serve: string[];
}): Promise<{ fake: Fake; gw: Proc }> {
  writeRoutingData(join(o.dir, "base.jsonl"), o.prices, o.rows);
  assert.equal((await runCli(["import", join(o.dir, "base.jsonl"), "--db", o.db])).code, 0);
  const trained = await runCli([
    ...["train", "--db", o.db, "--dataset", "base", "--embedder", "hash", "--out", join(o.dir, "router.json")],
    ...o.train,
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const fake = await startFakeProcess({ models: { alpha: { reply: "from alpha" }, beta: { reply: "from beta" } } });
  const providers = join(o.dir, "providers.yaml");
  const { alpha, beta } = o.prices;
  writeFileSync(
    providers,
    `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n` +
      `  - { name: alpha, provider: fake, upstreamId: alpha, inputPrice: ${alpha}, outputPrice: ${alpha} }\n` +
      `  - { name: beta, provider: fake, upstreamId: beta, inputPrice: ${beta}, outputPrice: ${beta} }\n`,
  );
  const gw = await startGatewayProcess(["--providers", providers, "--db", o.db, "--no-auth", ...o.serve]);
  return { fake, gw };
}

/**
 * `serve --retrain-every` closes the loop without hand work: labelled traffic reaches the threshold, the primary
 * retrains the served router's kind on its data + the labels in a worker thread, compares it with the live one
 * on the held-back labels, records the decision and swaps it into every worker (or keeps the live one when the
 * retrained one is worse there) — and a failed retrain is
 * recorded and counted while the gateway keeps serving. Real processes: fake upstream, gateway with 2 workers.
 */
describe("gateway: automatic retrain, held-back comparison and swap (real processes)", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const providers = join(dir, "providers.yaml");
  const HOLDOUT = 0.34;
  let fake: Fake;
  let gw: Proc;
  // The router's own data: other topics, where alpha answers well and beta badly.
  const baseQueries = [
    "Which spice gives paella its yellow colour?",
    "How long should pasta rest after draining?",
    "What is the capital city of Australia?",
    "Which river flows through Budapest?",
    "Name a grape used for red Burgundy wine.",
    "Which mountain range separates Spain from France?",
  ];
  // Gateway traffic: arithmetic word problems, where the models turn out the other way round.
  const questions = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether?",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
    "Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. How much more money does Betty need?",
    "James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?",
    "Mark has a garden with flowers. He planted plants of three different colors in it. How many flowers does Mark have in his garden?",
    "Albert is wondering how much pizza he can eat in one day. He buys 2 large pizzas and 2 small pizzas. How many pieces does he eat?",
  ];
  const held = questions.filter((q) => isHeldOut(queryId(GATEWAY_DATASET, GATEWAY_TASK, q, "train"), HOLDOUT));
  const trainSide = questions.filter((q) => !held.includes(q));
  /** Two rounds of both models' answers to the training-side questions. */
  const LATER_LABELS = 2 * 2 * trainSide.length;

  before(async () => {
    ({ fake, gw } = await startRetrainingGateway({
      dir,
      db,
      prices: { alpha: 1, beta: 1 },
      rows: baseQueries.map((text) => [text, 1, 0]),
      train: ["--router", "knn", "--param", "k=3", "--param", "shrink=0.5"],
      serve: [
        ...["--router", "base/knn", "--workers", "2"],
        ...["--retrain-every", String(questions.length * 2), "--holdout", String(HOLDOUT)],
      ],
    }));
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  test("usage errors: a malformed --retrain-every, a --holdout outside (0, 1), a PostgreSQL store (exit 2, one line)", async () => {
    for (const [flags, message] of [
      [["--retrain-every", "soon"], /--retrain-every: expected a number of new labels .* got "soon"/],
      [["--retrain-every", "5", "--holdout", "1"], /--holdout must be a share in \(0, 1\), got "1"/],
      [["--retrain-every", "5", "--db", "postgres://u@127.0.0.1:1/x"], /--retrain-every needs a SQLite store/],
    ] as const) {
      const r = await runCli(["serve", "--providers", providers, "--db", db, "--router", "base/knn", ...flags]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  });

  test("the held-back split of these questions has queries on both sides (precondition)", () => {
    assert.ok(held.length >= 1 && held.length < questions.length, `${held.length} of ${questions.length} held back`);
  });

  test("after n labels the primary retrains, the retrained router is better on held-back traffic and every worker serves it", async () => {
    for (const q of questions) {
      const r = await chat(gw, "fusionkit/auto", q);
      assert.equal(r.headers["x-fusionkit-model"], "alpha");
      assert.equal(r.headers["x-fusionkit-router-artifact"], "base/knn");
    }
    const from = gw.stderr().length;
    await labelRound(gw, questions, (_q, model) => (model === "beta" ? 1 : 0));
    const decided = await waitFor(gw, /retrain of base\/knn: \w+[^\n]*/, from);
    assert.match(decided, /: swap — live 0\.0000, retrained 1\.0000;/);
    await waitFor(
      gw,
      /reloaded router artifacts \(retrained: swapped in base\+gateway\/knn@retrain-1; 2 workers\)/,
      from,
    );

    const store = new Store(db);
    try {
      const [rec, ...more] = retrainRecords(store.db, "base/knn");
      assert.equal(more.length, 0);
      assert.equal(rec.decision, "swap");
      assert.equal(rec.live, "base/knn");
      assert.equal(rec.router, "knn");
      assert.equal(rec.datasets, "base,gateway");
      assert.equal(rec.labels, questions.length * 2);
      assert.equal(rec.heldoutQueries, held.length);
      assert.equal(rec.compared, held.length, "both models are labelled on every held-back question");
      assert.equal(rec.trainQueries, baseQueries.length + questions.length - held.length);
      assert.equal(rec.liveScore, 0);
      assert.equal(rec.candidateScore, 1);
      assert.equal(rec.artifact, "base+gateway/knn@retrain-1");
      const art = store.db
        .prepare<[string], { artifact: string }>("SELECT artifact FROM router_artifacts WHERE id = ?")
        .get(rec.artifact as string);
      assert.equal(
        createHash("sha256")
          .update(art?.artifact ?? "")
          .digest("hex"),
        rec.artifactSha256,
      );
    } finally {
      store.close();
    }
    // Every worker: requests on fresh connections are spread over both.
    for (let i = 0; i < 3; i++)
      for (const q of questions) {
        const r = await chat(gw, "fusionkit/auto", q);
        assert.equal(r.headers["x-fusionkit-model"], "beta", q);
        assert.equal(r.headers["x-fusionkit-router-artifact"], "base+gateway/knn@retrain-1");
      }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^fusionkit_retrains_total\{decision="swap"\} 1$/m);
    assert.match(metrics, /^fusionkit_retrains_total\{decision="keep"\} 0$/m);
    assert.match(metrics, /^fusionkit_retrain_last_score\{router="retrained"\} 1$/m);
    assert.match(metrics, /^fusionkit_retrain_last_labels 12$/m);
  });

  test("a restarted gateway serves the swapped-in router; --explore 1 sends every routed request to the runner-up, marked and counted", async () => {
    await gw.stop();
    gw = await startGatewayProcess([
      ...["--providers", providers, "--db", db, "--no-auth", "--router", "base/knn", "--workers", "1"],
      ...["--retrain-every", String(LATER_LABELS), "--holdout", String(HOLDOUT), "--explore", "1"],
    ]);
    const r = await chat(gw, "fusionkit/auto", questions[0] as string);
    assert.equal(r.headers["x-fusionkit-router-artifact"], "base+gateway/knn@retrain-1");
    // The swapped-in router ranks beta first; exploration serves the runner-up and says whom it passed over.
    assert.equal(r.headers["x-fusionkit-model"], "alpha");
    assert.equal(r.headers["x-fusionkit-explore"], "beta");
    const byName = await chat(gw, "beta", questions[0] as string);
    assert.equal(byName.headers["x-fusionkit-explore"], undefined, "a model asked by name is never explored");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^fusionkit_explored_requests_total\{model="alpha"\} 1$/m);
    const spend = /^fusionkit_explored_spend_usd_total (\S+)$/m.exec(metrics);
    assert.ok(spend && Number(spend[1]) > 0, "the explored request's cost is counted");
    assert.match(metrics, /^fusionkit_explored_extra_cost_usd_total /m);
    await new Promise((res) => setTimeout(res, 300)); // the exchange log writes in batches
    const store = new Store(db);
    try {
      const row = store.db
        .prepare<[string], { explored: string | null; served_model: string }>(
          "SELECT explored, served_model FROM gateway_exchanges WHERE request_id = ?",
        )
        .get(r.headers["x-request-id"] as string);
      assert.deepEqual({ ...row }, { explored: "beta", served_model: "alpha" });
    } finally {
      store.close();
    }
  });

  test("labels contradicting the held-back ones: the retrained router is worse there, the live one is kept", async () => {
    const from = gw.stderr().length;
    // On the training side alpha now answers well (2 of 3 labels); the held-back labels still say beta.
    for (let round = 0; round < 2; round++)
      for (const q of trainSide)
        for (const [model, score] of [
          ["alpha", 1],
          ["beta", 0],
        ] as const) {
          const r = await chat(gw, model, q);
          assert.equal((await post(gw, "/v1/feedback", { request_id: r.headers["x-request-id"], score })).status, 200);
        }
    const decided = await waitFor(gw, /retrain of base\+gateway\/knn@retrain-1: \w+[^\n]*/, from);
    assert.match(decided, /: keep — live 1\.0000, retrained 0\.0000; worse on \d+ held-back queries/);
    const store = new Store(db);
    try {
      const last = retrainRecords(store.db, "base/knn").at(-1);
      assert.equal(last?.decision, "keep");
      assert.equal(last?.live, "base+gateway/knn@retrain-1");
      assert.equal(last?.labels, questions.length * 2 + LATER_LABELS);
      assert.equal(last?.compared, held.length);
      assert.equal(last?.artifact, null, "a kept-out router is not stored");
      assert.match(last?.artifactSha256 ?? "", /^[0-9a-f]{64}$/);
    } finally {
      store.close();
    }
    const r = await chat(gw, "fusionkit/auto", questions[0] as string);
    assert.equal(r.headers["x-fusionkit-router-artifact"], "base+gateway/knn@retrain-1");
    assert.match(await (await fetch(`${gw.url}/metrics`)).text(), /^fusionkit_retrains_total\{decision="keep"\} 1$/m);
  });

  test("a failed retrain is recorded and counted, and serving goes on", async () => {
    // The live artifact disappears from the store behind the gateway's back: the next retrain cannot load it.
    const store = new Store(db);
    try {
      store.db.prepare("DELETE FROM router_artifacts WHERE id = ?").run("base+gateway/knn@retrain-1");
    } finally {
      store.close();
    }
    const from = gw.stderr().length;
    for (let i = 0; i < LATER_LABELS; i++) {
      const a = await chat(gw, i % 2 ? "alpha" : "beta", questions[i % questions.length] as string);
      assert.equal((await post(gw, "/v1/feedback", { request_id: a.headers["x-request-id"], score: 1 })).status, 200);
    }
    assert.match(
      await waitFor(gw, /retrain of [^\n]*/, from),
      /: failed — no router artifact \\?"base\+gateway\/knn@retrain-1/,
    );
    for (const q of questions) assert.equal((await chat(gw, "fusionkit/auto", q)).status, 200, "still serving");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^fusionkit_retrains_total\{decision="failed"\} 1$/m);
    const check = new Store(db);
    try {
      const last = retrainRecords(check.db, "base/knn").at(-1);
      assert.equal(last?.decision, "failed");
      assert.equal(last?.labels, questions.length * 2 + 2 * LATER_LABELS);
    } finally {
      check.close();
    }
  });
});

/**
 * `auto` routes a prompt whose text is in its routing data by what was observed on it (memory.ts), before and
 * after the gateway retrains it: the retrained `auto` remembers the router's own data and the labelled traffic
 * it was retrained on. Real processes: fake upstream, one gateway worker, `route` on the retrained artifact.
 */
describe("gateway: auto's memory of the routing data survives a retrain and learns the labels (real processes)", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const HOLDOUT = 0.34;
  let fake: Fake;
  let gw: Proc;
  // alpha (twice beta's price) answers the router's own data well, so auto's policy sends new prompts to alpha;
  // but beta alone solved one of these texts, and both solved another, where the cheaper one wins.
  const betaOnly = "Which painter cut off part of his own ear?";
  const both = "How many strings does a standard violin have?";
  const fresh = "Which river flows through Budapest?";
  const base: Array<[string, number, number]> = [
    ["Which spice gives paella its yellow colour?", 1, 0],
    ["How long should pasta rest after draining?", 1, 0],
    ["What is the capital city of Australia?", 1, 0],
    ["Name a grape used for red Burgundy wine.", 1, 0],
    ["Which mountain range separates Spain from France?", 1, 0],
    ["Which planet has the most moons?", 1, 0],
    [betaOnly, 0, 1],
    [both, 1, 1],
  ];
  // Gateway traffic, labelled: alpha answers well, except one training-side question only beta answered.
  const questions = [
    "A baker sells 24 rolls a day for 5 days. How many rolls does she sell?",
    "Tom has 3 boxes of 12 pencils and gives away 7. How many pencils are left?",
    "A train travels 60 km an hour for 3 hours. How far does it go?",
    "Sara reads 15 pages a day. How many days does a 105-page book take her?",
    "A class of 28 splits into teams of 4. How many teams are there?",
    "Each of 6 shelves holds 35 books. How many books fit on the shelves?",
  ];
  const held = questions.filter((q) => isHeldOut(queryId(GATEWAY_DATASET, GATEWAY_TASK, q, "train"), HOLDOUT));
  const labelledBetaOnly = questions.find((q) => !held.includes(q)) as string;

  before(async () => {
    ({ fake, gw } = await startRetrainingGateway({
      dir,
      db,
      prices: { alpha: 2, beta: 1 },
      rows: base,
      train: ["--router", "auto", "--param", 'bases=["knn"]'],
      serve: [
        ...["--router", "base/auto"],
        ...["--retrain-every", String(questions.length * 2), "--holdout", String(HOLDOUT)],
      ],
    }));
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  /** The model fusionkit/auto sends each text to, and the artifact that chose. */
  async function routed(texts: string[]): Promise<{ models: string[]; artifacts: Set<string> }> {
    const models: string[] = [];
    const artifacts = new Set<string>();
    for (const t of texts) {
      const r = await chat(gw, "fusionkit/auto", t);
      assert.equal(r.status, 200);
      models.push(r.headers["x-fusionkit-model"] as string);
      artifacts.add(r.headers["x-fusionkit-router-artifact"] as string);
    }
    return { models, artifacts };
  }

  test("remembered texts are routed by their outcomes (the cheaper of two equally good); others by the policy", async () => {
    assert.ok(held.length >= 1 && held.length < questions.length, `${held.length} of ${questions.length} held back`);
    const r = await routed([betaOnly, `  ${both}\n`, fresh, labelledBetaOnly]);
    assert.deepEqual(r.models, ["beta", "beta", "alpha", "alpha"]);
    assert.deepEqual([...r.artifacts], ["base/auto"]);
  });

  test("after a retrain on labelled traffic, auto remembers both its data and the labels", async () => {
    const from = gw.stderr().length;
    await labelRound(gw, questions, (q, model) => ((q === labelledBetaOnly) === (model === "beta") ? 1 : 0));
    assert.match(await waitFor(gw, /retrain of base\/auto: \w+[^\n]*/, from), /: swap — /);
    await waitFor(gw, /reloaded router artifacts \(retrained: swapped in base\+gateway\/auto@retrain-1/, from);
    const r = await routed([betaOnly, both, fresh, labelledBetaOnly, ...held]);
    assert.deepEqual(r.models, ["beta", "beta", "alpha", "beta", ...held.map(() => "alpha")]);
    assert.deepEqual([...r.artifacts], ["base+gateway/auto@retrain-1"]);
    // The retrained artifact explains why: the labelled question's outcomes are remembered.
    const store = new Store(db);
    const artifact = join(dir, "retrained.json");
    try {
      const row = store.db
        .prepare<[string], { artifact: string }>("SELECT artifact FROM router_artifacts WHERE id = ?")
        .get("base+gateway/auto@retrain-1");
      writeFileSync(artifact, row?.artifact ?? "");
    } finally {
      store.close();
    }
    const route = await runCli(["route", labelledBetaOnly, "--router-artifact", artifact, "--json"]);
    assert.equal(route.code, 0, route.stderr);
    const ranked = (JSON.parse(route.stdout) as { ranked: Array<{ key: string; reason: string }> }).ranked;
    assert.equal(ranked[0]?.key, "beta");
    assert.match(
      ranked[0]?.reason ?? "",
      /^auto: this exact query is in the routing data \(1 observation\): observed performance 1\.000 for this candidate, observed cost \$/,
    );
  });
});
