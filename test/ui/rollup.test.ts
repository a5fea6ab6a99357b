import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { migrateSqlite } from "../../src/data/migrations.ts";
import { type Exchange, ExchangeLog } from "../../src/serve/log.ts";
import { gatewayOverview, timeWindow } from "../../src/ui/queries/gateway.ts";
import { binValue, GatewayRollup, histogramPercentiles, latencyBin } from "../../src/ui/queries/rollup.ts";
import { Rng } from "../../src/util/prng.ts";

test("latency bins are 10% wide: a bin's value is within 5% of every latency in it", () => {
  assert.equal(latencyBin(0.5), 0);
  assert.equal(latencyBin(100), 48); // ln 100 / ln 1.1 = 48.3
  for (const ms of [1.5, 7, 100, 333, 2048, 59_999]) {
    const v = binValue(latencyBin(ms));
    assert.ok(Math.abs(v / ms - 1) <= 0.05, `${ms} → ${v}`);
  }
});

test("nearest-rank percentiles of a histogram (hand-checked)", () => {
  // Values by bin: one in bin 1, one in bin 2, two in bin 3 → ranks 1..4.
  const h = new Map([
    [3, 2],
    [1, 1],
    [2, 1],
  ]);
  assert.deepEqual(histogramPercentiles(h, [0, 25, 50, 75, 100]), [1, 1, 2, 3, 3].map(binValue));
  assert.deepEqual(histogramPercentiles(new Map(), [50]), [null]);
});

function exchange(i: number, at: number, rng: Rng): Exchange {
  const error = i % 17 === 0;
  return {
    requestId: `r${i}`,
    at,
    keyId: null,
    session: null,
    requestedModel: "fusionkit/auto",
    router: null,
    servedModel: error ? null : (["a", "b", "c"][i % 3] as string),
    mode: null,
    query: `q${i}`,
    request: null,
    response: null,
    inputTokens: null,
    outputTokens: null,
    cost: error ? null : 0.001 * (i % 5),
    latencyMs: Math.exp(5 + rng.normal()),
    ttfbMs: null,
    status: error ? 502 : 200,
    error: null,
    stream: false,
    attempts: i % 7 === 0 ? 2 : 1,
    candidates: null,
  };
}

test("rollup: totals, per-model figures and percentiles agree with SQL over the raw log; nothing counted twice", () => {
  const db = new Database(":memory:");
  migrateSqlite(db);
  const log = new ExchangeLog(db);
  const rng = new Rng(3);
  const now = 1_800_000_000_000;
  for (let i = 0; i < 3000; i++) log.push(exchange(i, now - 3_600_000 + i * 1000, rng));
  log.flush();
  const clock = { now: () => now }; // small chunks: several transactions
  const one = new GatewayRollup(db, { chunk: 700, ...clock });
  const two = new GatewayRollup(db, { chunk: 700, ...clock });
  assert.deepEqual(one.catchUp(0), { added: 700, pending: 2300 }, "a zero budget still makes progress: one chunk");
  assert.deepEqual(one.catchUp(), { added: 2300, pending: 0 });
  assert.equal(two.catchUp().added, 0, "the second dashboard finds nothing new");
  for (let i = 3000; i < 3600; i++) log.push(exchange(i, now - 3_600_000 + i * 1000, rng));
  log.flush();
  assert.equal(two.catchUp().added, 600);
  assert.equal(one.catchUp().added, 0);

  const w = timeWindow(db, null, now + 1);
  const o = gatewayOverview(db, w);
  const raw = db
    .prepare(
      `SELECT COUNT(*) AS n, SUM(status >= 400) AS errors, SUM(attempts > 1) AS fallbacks, TOTAL(cost) AS spend,
       percentile(latency_ms, 50) AS p50, percentile(latency_ms, 95) AS p95 FROM gateway_exchanges`,
    )
    .get() as { n: number; errors: number; fallbacks: number; spend: number; p50: number; p95: number };
  assert.equal(o.totals.requests, raw.n);
  assert.equal(o.totals.errors, raw.errors);
  assert.equal(o.totals.fallbacks, raw.fallbacks);
  assert.ok(Math.abs(o.totals.spend - raw.spend) < 1e-9);
  assert.ok(Math.abs((o.totals.p50 as number) / raw.p50 - 1) < 0.06, `p50 ${o.totals.p50} vs ${raw.p50}`);
  assert.ok(Math.abs((o.totals.p95 as number) / raw.p95 - 1) < 0.06, `p95 ${o.totals.p95} vs ${raw.p95}`);
  const perModel = db
    .prepare(
      "SELECT served_model AS model, COUNT(*) AS n, AVG(latency_ms) AS mean FROM gateway_exchanges WHERE served_model IS NOT NULL GROUP BY served_model ORDER BY n DESC, model",
    )
    .all() as Array<{ model: string; n: number; mean: number }>;
  assert.deepEqual(o.models.map((m) => [m.model, m.requests]).sort(), perModel.map((m) => [m.model, m.n]).sort());
  for (const m of o.models) {
    const r = perModel.find((x) => x.model === m.model);
    assert.ok(r && Math.abs(m.meanLatency - r.mean) < 1e-6);
  }
  assert.equal(
    o.series.reduce((s, b) => s + b.requests, 0),
    raw.n,
  );
  assert.ok(o.series.length <= 61 && o.series.length >= 50, `${o.series.length} buckets`);
  // A week is read from the coarse (10 min) slots: the same totals.
  const week = gatewayOverview(db, timeWindow(db, 7 * 86400, now + 1));
  assert.equal(week.window.level, 600_000);
  assert.equal(week.totals.requests, raw.n);
  assert.equal(week.totals.errors, raw.errors);
  // A one-hour window sees only its own exchanges.
  const hour = gatewayOverview(db, timeWindow(db, 3600, now + 1));
  const inHour = (
    db.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges WHERE at >= ?").get(hour.window.from) as { n: number }
  ).n;
  assert.equal(hour.totals.requests, inHour);
  log.close();
});
