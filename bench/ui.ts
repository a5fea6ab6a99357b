/**
 * Dashboard API benchmark: with N synthetic gateway exchanges (default 1,000,000) in a store that also holds the
 * bundled RouteProfile data and one stored evaluation run, time every JSON call the three pages make, over real
 * HTTP to `fusionkit ui` (startUi in this process). Target: each page's calls answer in < 500 ms.
 *
 * Exchanges are written through the gateway's own write path (ExchangeLog) and spread over the 7 days before
 * now, across 8 models, with lognormal latencies, ~2% errors and ~4% fallbacks. Each call runs --repeat times
 * (default 5) after one warm-up; the table prints the median and the worst. Baselines in the same run, as a
 * ratio: for the overview (charts), the same figures aggregated straight from the raw log in SQL (series with
 * percentiles, per-model series, totals) instead of from the rollup; for every other call, the same call after
 * dropping the two indexes the dashboard adds (the gateway's own `at` index left). The first start of the
 * dashboard on the store rolls the whole log up once; its time is printed too.
 *
 *   node --import tsx bench/ui.ts [--exchanges 1000000] [--repeat 5] [--db path (kept, reused when present)]
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { importPath } from "../src/data/import.ts";
import { DASHBOARD_LOG_INDEXES } from "../src/data/migrations.ts";
import { stratifiedSplit } from "../src/data/split.ts";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { runEvaluation } from "../src/eval/run.ts";
import { saveEvalRun } from "../src/eval/runs.ts";
import { createRouter } from "../src/routing/registry.ts";
import { type Exchange, ExchangeLog } from "../src/serve/log.ts";
import { timeWindow } from "../src/ui/queries/gateway.ts";
import { startUi } from "../src/ui/server.ts";
import { Rng } from "../src/util/prng.ts";

const { values: args } = parseArgs({
  options: {
    exchanges: { type: "string", default: "1000000" },
    repeat: { type: "string", default: "5" },
    db: { type: "string" },
  },
});
const N = Number(args.exchanges);
const REPEAT = Number(args.repeat);
const REPO = resolve(import.meta.dirname, "..");
const DAY = 86_400_000;
const MODELS = [
  "gemma-2-9b-it",
  "llama-3.1-8b-instruct",
  "llama-3.2-3b-instruct",
  "llama-3.3-70b-instruct",
  "mistral-small-24b-instruct-2501-bf16",
  "mixtral-8x22b-instruct-v0.1",
  "mixtral-8x7b-instruct-v0.1",
  "qwen2.5-7b-instruct",
];
const WORDS = "route model query cost answer latency token prompt reason score task math code fact story".split(" ");

const dbPath = args.db ?? join(mkdtempSync(join(tmpdir(), "fusionkit-bench-ui-")), "store.db");
const fresh = !existsSync(dbPath);
const store = new Store(dbPath);
const now = Date.now();

if (fresh) {
  const t0 = performance.now();
  await importPath(store, join(REPO, "data/routeprofile"), { format: "routeprofile", dataset: "routeprofile" });
  store.setSplits(stratifiedSplit(store.queries({ dataset: "routeprofile" }), 0.2, 42));
  const embedder = createEmbedder("hash");
  const run = await runEvaluation({
    store,
    dataset: "routeprofile",
    split: "test",
    embedder,
    routers: ["best-single", "knn", "cheapest"],
    create: createRouter,
    scenarios: ["performance-first", "balance", "cost-first"],
  });
  const { queryIds: _ids, ...result } = run;
  saveEvalRun(
    store.db,
    "routeprofile",
    {
      command: "bench",
      routers: ["best-single", "knn", "cheapest"],
      artifacts: [],
      scenarios: run.scenarios,
      embedder: embedder.name,
    },
    run,
    {
      dataset: "routeprofile",
      ...result,
      routers: result.routers.map(({ choices: _c, strongCallCurve: _s, ...r }) => r),
    },
  );
  process.stderr.write(`routing data and one eval run in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const t1 = performance.now();
  const log = new ExchangeLog(store.db, { maxBuffer: 20_000, flushMs: 1000 });
  const rng = new Rng(7);
  const text = (n: number) => Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]).join(" ");
  for (let i = 0; i < N; i++) {
    const at = now - 7 * DAY + (7 * DAY * i) / N;
    const error = rng.next() < 0.02;
    const attempts = rng.next() < 0.04 ? 2 : 1;
    const model = MODELS[Math.min(MODELS.length - 1, Math.floor(-Math.log(1 - rng.next()) * 2.2))] as string;
    const query = text(12 + rng.int(20));
    const ranked = MODELS.slice(0, 4)
      .map((m, k) => `${m};score=${(0.8 - 0.1 * k).toFixed(4)};perf=${(0.7 - 0.05 * k).toFixed(4)};cost=1.2e-5`)
      .join(", ");
    const row: Exchange = {
      requestId: `fkreq-bench-${i}`,
      at,
      keyId: "key_bench",
      session: null,
      requestedModel: "fusionkit/auto",
      router: "knn;balance",
      servedModel: error ? null : model,
      mode: error ? null : "direct",
      query,
      request: JSON.stringify({ model: "fusionkit/auto", messages: [{ role: "user", content: query }] }),
      response: error ? null : text(30),
      inputTokens: 40,
      outputTokens: error ? null : 60,
      cost: error ? null : 1e-5 * (1 + rng.next()),
      latencyMs: Math.exp(6 + 0.6 * rng.normal()),
      ttfbMs: null,
      status: error ? 502 : 200,
      error: error ? "all 3 candidates failed: upstream 500" : null,
      stream: false,
      attempts,
      candidates: ranked,
    };
    log.push(row);
    if (i % 100_000 === 99_999) process.stderr.write(`  ${i + 1} exchanges\n`);
  }
  log.close();
  process.stderr.write(`${N} exchanges written in ${((performance.now() - t1) / 1000).toFixed(1)} s\n`);
}

const t2 = performance.now();
store.db.exec("ANALYZE"); // the dashboard's indexes are migration 9, made when the store was opened
process.stderr.write(`ANALYZE in ${((performance.now() - t2) / 1000).toFixed(1)} s\n`);
const counted = (store.db.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
const runId = (store.db.prepare("SELECT MAX(id) AS id FROM eval_runs").get() as { id: number }).id;
const someModel = MODELS[1] as string;

/** Every call the pages make on load and on their main clicks. */
const CALLS: Array<[page: string, path: string]> = [
  ["data", "api/data/datasets"],
  ["data", "api/data/matrix?dataset=routeprofile"],
  ["data", "api/data/queries?dataset=routeprofile&limit=25"],
  ["data", "api/data/queries?dataset=routeprofile&q=houses&model=gemma-2-9b-it&outcome=failed&limit=25"],
  ["evals", "api/evals"],
  ["evals", `api/evals/${runId}`],
  ["evals", `api/evals/${runId}/router?name=knn&scenario=balance&limit=20`],
  ["gateway", "api/gateway/overview?window=1h"],
  ["gateway", "api/gateway/exchanges?window=1h&limit=25"],
  ["gateway", "api/gateway/exchanges/fkreq-bench-12345"],
  ["gateway", "api/gateway/overview?window=24h"],
  ["gateway", "api/gateway/exchanges?window=24h&limit=25"],
  ["gateway", `api/gateway/exchanges?window=24h&model=${someModel}&limit=25`],
  ["gateway", "api/gateway/exchanges?window=24h&status=error&limit=25"],
  ["gateway", "api/gateway/exchanges?window=1h&q=latency%20token&limit=25"],
  ["gateway", "api/gateway/overview?window=7d"],
  ["gateway", "api/gateway/exchanges?window=7d&limit=25"],
  ["gateway", "api/gateway/exchanges?window=7d&q=latency%20token%20prompt&limit=25"],
  ["gateway", "api/gateway/exchanges?window=7d&q=zzz&limit=25"],
  ["gateway", "api/gateway/exchanges?window=all&status=fallback&limit=25"],
  ["gateway", `api/gateway/exchanges?window=7d&model=${someModel}&status=error&limit=25`],
  ["gateway", "api/gateway/overview?window=all"],
];

async function measure(base: string): Promise<Map<string, { median: number; worst: number; bytes: number }>> {
  const out = new Map<string, { median: number; worst: number; bytes: number }>();
  for (const [, path] of CALLS) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i <= REPEAT; i++) {
      const t = performance.now();
      const r = await fetch(base + path);
      const body = await r.arrayBuffer();
      if (!r.ok) throw new Error(`${path}: ${r.status} ${Buffer.from(body).toString()}`);
      if (i > 0) times.push(performance.now() - t);
      bytes = body.byteLength;
    }
    times.sort((a, b) => a - b);
    out.set(path, {
      median: times[Math.floor(times.length / 2)] as number,
      worst: times[times.length - 1] as number,
      bytes,
    });
  }
  return out;
}

const t3 = performance.now();
const ui = await startUi({ store, host: "127.0.0.1", port: 0, now: () => now });
const startSeconds = (performance.now() - t3) / 1000;
const withIndexes = await measure(ui.url);
await ui.close();
const baselineUi = await startUiWithoutIndexes();
const baseline = await measure(baselineUi.url);
await baselineUi.close();
store.db.exec(DASHBOARD_LOG_INDEXES);
for (const [, path] of CALLS) {
  const m = /overview\?window=(\w+)/.exec(path);
  if (m) baseline.set(path, rawOverviewTime(m[1] as string));
}
store.close();

const pad = (s: string, n: number) => s.padEnd(n);
const f = (x: number) => x.toFixed(1).padStart(8);
process.stdout.write(
  `\nfirst start of the dashboard on this store (indexes exist; rolls up the log once): ${startSeconds.toFixed(1)} s\n`,
);
process.stdout.write(
  `fusionkit ui API over ${counted.toLocaleString("en")} exchanges (${dbPath}); ms over ${REPEAT} runs after a warm-up\n`,
);
process.stdout.write(
  `${pad("page", 8)}${pad("call", 92)}${"median".padStart(8)}${"worst".padStart(8)}${"KB".padStart(7)}  ${"baseline".padStart(9)} ratio\n`,
);
let over = 0;
for (const [page, path] of CALLS) {
  const a = withIndexes.get(path) as { median: number; worst: number; bytes: number };
  const b = baseline.get(path) as { median: number };
  if (a.worst >= 500) over++;
  process.stdout.write(
    `${pad(page, 8)}${pad(path, 92)}${f(a.median)}${f(a.worst)}${(a.bytes / 1024).toFixed(0).padStart(7)}  ${f(b.median)} ${(b.median / a.median).toFixed(1).padStart(5)}×\n`,
  );
}
process.stdout.write(
  over === 0 ? "every call answered in < 500 ms (worst run)\n" : `${over} call(s) took ≥ 500 ms in their worst run\n`,
);

/** startUi adds the dashboard's indexes; the baseline needs them gone, so they are dropped again after start. */
async function startUiWithoutIndexes() {
  const running = await startUi({ store, host: "127.0.0.1", port: 0, now: () => now });
  store.db.exec(
    "DROP INDEX IF EXISTS gateway_exchanges_ui_window; DROP INDEX IF EXISTS gateway_exchanges_ui_model_status;",
  );
  store.db.exec("ANALYZE");
  return running;
}

/** Median ms of the raw-log SQL the overview would need without the rollup (same window, same buckets). */
function rawOverviewTime(window: string): { median: number; worst: number; bytes: number } {
  const seconds: Record<string, number | null> = { "1h": 3600, "24h": 86400, "7d": 604800, all: null };
  const db = new Store(dbPath).db;
  const w = timeWindow(db, seconds[window] ?? null, now);
  const range = "at >= ? AND at < ?";
  const b = "CAST((at - ?) / ? AS INTEGER)";
  const statements: Array<[string, unknown[]]> = [
    [
      `SELECT ${b} AS b, COUNT(*), SUM(status >= 400), SUM(attempts > 1), TOTAL(cost), percentile(latency_ms, 50),
       percentile(latency_ms, 95), percentile(latency_ms, 99) FROM gateway_exchanges WHERE ${range} GROUP BY b`,
      [w.from, w.step, w.from, w.to],
    ],
    [
      `SELECT ${b} AS b, served_model, COUNT(*), TOTAL(cost) FROM gateway_exchanges WHERE ${range}
       AND served_model IS NOT NULL GROUP BY b, served_model`,
      [w.from, w.step, w.from, w.to],
    ],
    [
      `SELECT percentile(latency_ms, 50), percentile(latency_ms, 95), percentile(latency_ms, 99) FROM gateway_exchanges
       WHERE ${range}`,
      [w.from, w.to],
    ],
    [
      `SELECT served_model, COUNT(*), AVG(latency_ms) FROM gateway_exchanges WHERE ${range} GROUP BY served_model`,
      [w.from, w.to],
    ],
  ];
  const times: number[] = [];
  for (let i = 0; i <= Math.min(REPEAT, 3); i++) {
    const t = performance.now();
    for (const [sql, params] of statements) db.prepare(sql).all(...params);
    if (i > 0) times.push(performance.now() - t);
  }
  db.close();
  times.sort((x, y) => x - y);
  return { median: times[Math.floor(times.length / 2)] as number, worst: times[times.length - 1] as number, bytes: 0 };
}
