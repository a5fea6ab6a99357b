import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { tempDir } from "../helpers.ts";
import { type Proc, runCli, spawnUntil, startFakeProcess, startGatewayProcess } from "../serve/support/procs.ts";
import { type Headless, launchHeadless, pageReady } from "./support/browser.ts";

/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) over a store with the bundled
 * RouteProfile data, one stored `fusionkit eval` run, and exchanges made through a real gateway process whose
 * upstreams are the fake OpenAI server. The gateway serves the pages at /ui behind its client key; the
 * standalone `fusionkit ui` serves the same store. Screenshots go to FUSIONKIT_UI_SHOTS (default: a temp dir).
 */
describe("dashboard: data, evaluations and gateway pages in chromium", () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  const artifact = join(dir, "knn.json");
  const shots = resolve(process.env.FUSIONKIT_UI_SHOTS ?? join(dir, "shots"));
  // Two upstreams answer; the others fail (500), so routed requests fall back and breakers open.
  const WORKING = new Set(["gemma-2-9b-it", "qwen2.5-7b-instruct"]);
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  let ui: Proc;
  let hb: Headless;
  let key = "";
  let sent = 0;
  let models: string[] = [];

  before(async () => {
    mkdirSync(shots, { recursive: true });
    for (const args of [
      ["import", "data/routeprofile", "--db", db],
      ["split", "--db", db, "--seed", "7"],
      [
        "eval",
        "--db",
        db,
        "--embedder",
        "hash",
        "--routers",
        "best-single,knn,cheapest",
        "--scenario",
        "performance,balance",
        "--no-report",
      ],
      ["train", "--db", db, "--router", "knn", "--embedder", "hash", "--out", artifact],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
    const created = await runCli(["keys", "create", "--name", "dashboard", "--db", db, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    key = (JSON.parse(created.stdout) as { key: string }).key;

    const store = new Database(db, { readonly: true });
    models = (store.prepare("SELECT DISTINCT model FROM outcomes ORDER BY model").all() as { model: string }[]).map(
      (r) => r.model,
    );
    const texts = (
      store
        .prepare("SELECT text FROM queries WHERE split = 'test' AND length(text) < 600 ORDER BY rowid LIMIT 12")
        .all() as { text: string }[]
    ).map((r) => r.text);
    store.close();

    fake = await startFakeProcess({
      models: Object.fromEntries(
        models.map((m) => [m, WORKING.has(m) ? { reply: `I am ${m}` } : { steps: [{ status: 500, message: "down" }] }]),
      ),
    });
    const providers = join(dir, "providers.yaml");
    const lines = ["providers:", "  - name: fake", `    baseUrl: ${fake.url}`, "    timeoutMs: 3000", "models:"];
    for (const m of models)
      lines.push(`  - { name: ${m}, provider: fake, upstreamId: ${m}, inputPrice: 0.2, outputPrice: 0.4 }`);
    writeFileSync(providers, `${lines.join("\n")}\n`);
    gw = await startGatewayProcess(
      ["--providers", providers, "--db", db, "--router", artifact, "--breaker-threshold", "2"],
      {},
    );
    for (const text of texts) {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "fusionkit/auto", messages: [{ role: "user", content: text }] }),
      });
      await r.arrayBuffer();
      sent++;
    }
    // One request for a model that does not exist: an error exchange (404) in the log.
    const bad = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hello" }] }),
    });
    assert.equal(bad.status, 404);
    sent++;
    ui = await spawnUntil(["bin/fusionkit.js", "ui", "--db", db, "--port", "0"], /listening on (\S+)/);
    hb = await launchHeadless();
  });

  after(async () => {
    await hb?.close();
    await ui?.stop();
    await gw?.stop();
    await fake?.stop();
  });

  /** Open a page of the standalone dashboard and wait for its data. */
  async function open(name: string, hash = ""): Promise<Page> {
    const page = await hb.newPage();
    await page.goto(`${ui.url}#/${name}${hash}`);
    await pageReady(page, name);
    return page;
  }

  test("data page: heatmap and per-task table agree with `fusionkit stats`; search, filter and open a query", async () => {
    const stats = await runCli(["stats", "--db", db, "--split", "test", "--json"]);
    const s = JSON.parse(stats.stdout) as {
      bestSingle: { model: string; performance: number };
      oracle: { performance: number; cost: number };
      tieRate: number;
      perTask: Record<string, { oracle: { performance: number }; tieRate: number }>;
    };
    const page = await open("data", "?split=test");
    assert.ok(await page.locator("svg [aria-label=cell]").count(), "heatmap cells drawn");
    const allRow = page.locator("table").first().locator("tr", { hasText: /^ALL/ });
    const cells = await allRow.locator("td").allTextContents();
    assert.equal(cells[2], s.bestSingle.model);
    assert.equal(cells[4], s.oracle.performance.toFixed(3));
    assert.equal(cells[6], `${(100 * s.tieRate).toFixed(1)}%`);
    const taskRows = await page.locator("table").first().locator("tbody tr").count();
    assert.equal(taskRows, Object.keys(s.perTask).length + 1);

    // Search by text: every row shown contains the word, and the pager counts what the store holds.
    await page.fill("input[name=q]", "houses");
    await page.waitForFunction(() => document.querySelector(".pager")?.textContent?.includes("of "));
    await page.waitForFunction(() =>
      [...document.querySelectorAll("td.snippet")].every((td) => td.textContent?.includes("houses")),
    );
    const store = new Database(db, { readonly: true });
    const expected = (
      store
        .prepare(
          "SELECT COUNT(*) AS n FROM queries WHERE dataset = 'routeprofile' AND split = 'test' AND text LIKE '%houses%'",
        )
        .get() as { n: number }
    ).n;
    assert.ok(expected > 0);
    await page.waitForFunction(
      (n) => document.querySelectorAll(".pager")[0]?.textContent?.includes(`of ${n}`),
      expected,
    );

    // Filter: one model failed these (score < 0.5), then open the first query with every model's response.
    await page.selectOption("select[name=model]", models[0] as string);
    await page.selectOption("select[name=outcome]", "failed");
    const failed = (
      store
        .prepare(
          `SELECT COUNT(*) AS n FROM queries q JOIN outcomes o ON o.query_id = q.id AND o.model = ? AND o.mode = 'direct'
           WHERE q.dataset = 'routeprofile' AND q.split = 'test' AND q.text LIKE '%houses%' AND o.performance < 0.5`,
        )
        .get(models[0]) as { n: number }
    ).n;
    store.close();
    await page.waitForFunction(
      (n) => document.querySelectorAll(".pager")[0]?.textContent?.includes(n ? `of ${n}` : "no rows"),
      failed,
    );
    if (failed > 0) {
      await page.locator("td.snippet").first().click();
      await page.waitForSelector("#query-detail");
      const responses = await page.locator("#query-detail pre").count();
      assert.ok(responses >= models.length, `a response per model (${responses})`);
    }
    await page.screenshot({ path: join(shots, "data.png"), fullPage: true });
    assert.deepEqual(hb.problems, []);
    await page.close();
  });

  test("evaluations page: the stored run's frontier; hover and click a router for its tasks and differing queries", async () => {
    const page = await open("evals");
    const runs = (await (await fetch(`${ui.url}api/evals`)).json()) as Array<{ id: number; dataset: string }>;
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.dataset, "routeprofile");
    const run = (await (await fetch(`${ui.url}api/evals/${runs[0]?.id}`)).json()) as {
      result: {
        queries: number;
        bestSingle: { model: string };
        routers: Array<{ name: string; scenario: string; usage: Record<string, number> }>;
      };
    };
    // The routers table lists every router × scenario of the run.
    await page.waitForSelector("svg [aria-label=dot]");
    assert.equal(await page.locator("table tbody tr").count(), run.result.routers.length);

    // Hover the first router point: Plot's tip appears; click it: that router's detail opens.
    const routerDots = page.locator("svg [aria-label=dot]").last().locator("path, circle");
    // Points are in the run's order (best-single, knn, cheapest × 2 scenarios); the knn one stands alone.
    const box = await routerDots.nth(2).boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector("svg [aria-label=tip] text");
    const tip = await page.locator("svg [aria-label=tip]").first().textContent();
    assert.match(tip ?? "", /performance/);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector("#router-detail strong")?.textContent?.startsWith("knn ("));

    // Now the knn router under balance, from the table.
    await page.locator("table tbody tr", { hasText: /^knn\s*balance/ }).click();
    await page.waitForFunction(() => document.querySelector("#router-detail strong")?.textContent === "knn (balance)");
    const knn = run.result.routers.find((r) => r.name === "knn" && r.scenario === "balance");
    assert.ok(knn);
    // Queries where knn chose another model than the best single: from the stored per-query choices, they must
    // match the stored usage share of the best single model.
    const detail = (await (
      await fetch(`${ui.url}api/evals/${runs[0]?.id}/router?name=knn&scenario=balance`)
    ).json()) as { differs: { better: number; worse: number; same: number }; page: { total: number } };
    const differing = detail.differs.better + detail.differs.worse + detail.differs.same;
    const sameChoice = Math.round((knn.usage[run.result.bestSingle.model] ?? 0) * run.result.queries);
    assert.equal(differing, run.result.queries - sameChoice);
    assert.equal(detail.page.total, differing);
    const text = await page.locator("#router-detail").textContent();
    assert.match(text ?? "", new RegExp(`better on ${detail.differs.better}, worse on ${detail.differs.worse}`));
    assert.ok((await page.locator("#router-detail table").nth(1).locator("tbody tr").count()) > 0);
    // Filter to the queries where its choice scored worse.
    await page.selectOption("#router-detail select[name=verdict]", "worse");
    await page.waitForFunction(
      (n) => document.querySelector("#router-detail .pager")?.textContent?.includes(n ? `of ${n}` : "no rows"),
      detail.differs.worse,
    );
    await page.screenshot({ path: join(shots, "evaluations.png"), fullPage: true });
    assert.deepEqual(hb.problems, []);
    await page.close();
  });

  test("gateway page at /ui of `fusionkit serve`: asks for the key, shows the traffic, the decision, and sends feedback", async () => {
    const page = await hb.newPage();
    await page.goto(`${gw.url}/ui/#/gateway`);
    // The API refuses the page without the client key; the page asks for it.
    await page.waitForSelector("#key-dialog[open]");
    await page.fill("#key-input", key);
    await page.click("#key-form button");
    await pageReady(page, "gateway");
    const cards = await page.locator(".card").allTextContents();
    assert.ok(cards.includes(`${sent}requests`), cards.join(" | "));
    const breakers = (cards.find((c) => c.endsWith("open breakers")) ?? "").replace(/open breakers$/, "").split(", ");
    assert.ok(breakers.length > 0 && breakers.every((m) => models.includes(m) && !WORKING.has(m)), breakers.join());
    const fallbacks = cards.find((c) => c.endsWith("fallbacks")) ?? "";
    assert.doesNotMatch(fallbacks, /^0 /, "the failing model made requests fall back");
    assert.equal((await page.locator("#page svg").count()) >= 4, true, "four charts");

    // The exchange log: newest first; open an answered exchange and label it.
    const rows = page.locator("table tbody tr", { has: page.locator(".tag.good") });
    await rows.first().click();
    await page.waitForSelector("#exchange-detail");
    const ranked = await page.locator("#exchange-detail table tbody tr").count();
    assert.equal(ranked, 8, "the routing decision lists the ranked candidates");
    assert.match((await page.locator("#exchange-detail pre").last().textContent()) ?? "", /^I am /);
    await page.click("button[name=feedback-good]");
    await page.waitForFunction(() => document.querySelector("#feedback-result")?.textContent?.startsWith("labelled"));
    const store = new Database(db, { readonly: true });
    const labelled = store.prepare("SELECT COUNT(*) AS n FROM gateway_feedback WHERE score = 1").get() as { n: number };
    const outcome = store
      .prepare("SELECT COUNT(*) AS n FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE q.dataset = 'gateway'")
      .get() as { n: number };
    store.close();
    assert.equal(labelled.n, 1);
    assert.equal(outcome.n, 1);
    await page.screenshot({ path: join(shots, "gateway.png"), fullPage: true });
    // The only failed loads are the refused first API calls (401) before the key was given.
    assert.deepEqual(
      hb.problems.filter((p) => !/status of 401/.test(p)),
      [],
    );
    hb.problems.length = 0;
    await page.close();
  });

  test("standalone `fusionkit ui`: the gateway page without a key on loopback; bad parameters are 400s", async () => {
    const page = await open("gateway", "?window=all");
    const cards = await page.locator(".card").allTextContents();
    assert.ok(cards.includes(`${sent}requests`), cards.join(" | "));
    assert.ok(cards.includes("n/aopen breakers"), "breaker state is only known inside the gateway");
    // Older pages of the log.
    const overview = (await (await fetch(`${ui.url}api/gateway/exchanges?window=all&limit=5`)).json()) as {
      total: number;
      rows: Array<{ requestId: string }>;
      next: string;
    };
    assert.equal(overview.total, sent);
    const older = (await (
      await fetch(`${ui.url}api/gateway/exchanges?window=all&limit=5&before=${encodeURIComponent(overview.next)}`)
    ).json()) as { rows: Array<{ requestId: string }> };
    assert.equal(older.rows.length, 5);
    assert.equal(new Set([...overview.rows, ...older.rows].map((r) => r.requestId)).size, 10);
    // Word search in the routed text (whole words, any case, every word must appear).
    const store = new Database(db, { readonly: true });
    const texts = (store.prepare("SELECT query FROM gateway_exchanges").all() as { query: string }[]).map(
      (r) => r.query,
    );
    store.close();
    const word = (texts[0]?.match(/[\p{L}\p{N}]+/gu) ?? []).find((w) => /^[A-Za-z]{6,}$/.test(w)) as string;
    assert.ok(word, "a word to search for");
    const lower = word.toLowerCase();
    const expected = texts.filter((t) =>
      (t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? ([] as string[])).includes(lower),
    );
    const found = (await (
      await fetch(`${ui.url}api/gateway/exchanges?window=all&q=${encodeURIComponent(word.toUpperCase())}`)
    ).json()) as { total: number; rows: unknown[] };
    assert.equal(found.total, expected.length);
    assert.equal(found.rows.length, Math.min(expected.length, 25));
    for (const [path, param] of [
      ["api/gateway/overview?window=2y", "window"],
      ["api/data/queries?dataset=routeprofile&limit=0", "limit"],
      ["api/data/queries?dataset=routeprofile&outcome=maybe", "outcome"],
      ["api/evals/x", "id"],
    ] as const) {
      const r = await fetch(`${ui.url}${path}`);
      assert.equal(r.status, 400, path);
      const body = (await r.json()) as { error: { param: string; message: string } };
      assert.equal(body.error.param, param, body.error.message);
    }
    assert.equal((await fetch(`${ui.url}api/evals/999`)).status, 404);
    assert.equal((await fetch(`${gw.url}/ui/api/evals`)).status, 401, "the gateway's dashboard API needs the key");
    assert.deepEqual(hb.problems, []);
    await page.close();
  });
});
