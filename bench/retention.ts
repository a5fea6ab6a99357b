/**
 * Exchange-log retention benchmark (serve --log-retention-days): how long the gateway's event loop is blocked
 * while old exchanges are deleted from a SQLite store. SQLite calls are synchronous, so the time of one purge
 * batch is time no request is served. Each configuration gets its own store with the same N exchanges older than
 * the retention (written through the gateway's ExchangeLog, with routing text, request and response like real
 * traffic, the dashboard's word index caught up) plus a few recent ones, then one retention pass runs through
 * SqliteGatewayStore.purgeExchanges:
 *   - batched, at 100 (the gateway's default) / 500 / 2000 rows per transaction: each batch's time (p50, p99, max);
 *   - baseline in the same run: the same rows deleted in one transaction (what a plain DELETE … WHERE at < cutoff
 *     costs the event loop), as the ratio of its stall to the batched worst case.
 *
 *   node --import tsx bench/retention.ts [--rows 50000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Exchange, ExchangeLog } from "../src/serve/log.ts";
import { DAY_MS } from "../src/serve/retention.ts";
import { SqliteGatewayStore } from "../src/serve/sqlite-gateway-store.ts";
import { GatewayRollup } from "../src/ui/queries/rollup.ts";
import { Rng } from "../src/util/prng.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "50000" } } });
const ROWS = Number(values.rows);
const NOW = Date.now();
const WORDS = "the of model route query answer cost token latency gateway user help please explain why how what"
  .split(" ")
  .concat(Array.from({ length: 200 }, (_, i) => `w${i}`));

async function filledStore(): Promise<{ store: SqliteGatewayStore; path: string }> {
  const path = join(mkdtempSync(join(tmpdir(), "fusionkit-retention-")), "store.db");
  const store = await SqliteGatewayStore.open(path, null);
  const rng = new Rng(11);
  const text = (n: number) => Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]).join(" ");
  const log = new ExchangeLog(store.exchanges, { maxBuffer: 20_000, flushMs: 1000 });
  const row = (i: number, at: number): Exchange => {
    const query = text(15 + rng.int(30));
    return {
      requestId: `fkreq-bench-${i}`,
      at,
      keyId: "key_bench",
      session: null,
      requestedModel: "fusionkit/auto",
      router: "knn;balance",
      servedModel: "small",
      mode: "direct",
      query,
      request: JSON.stringify([{ role: "user", content: query }]),
      response: text(60),
      inputTokens: 40,
      outputTokens: 60,
      cost: 1e-5,
      latencyMs: 400,
      ttfbMs: 100,
      status: 200,
      error: null,
      stream: false,
      attempts: 1,
      candidates: "small;score=0.8, big;score=0.7",
    };
  };
  for (let i = 0; i < ROWS; i++) log.push(row(i, NOW - 30 * DAY_MS + i));
  for (let i = 0; i < 10; i++) log.push(row(ROWS + i, NOW - 60_000 + i));
  log.close();
  new GatewayRollup(store.sqlite).catchUp();
  return { store, path };
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

process.stdout.write(`retention pass over ${ROWS.toLocaleString("en")} exchanges older than 7 days (SQLite)\n`);
process.stdout.write("rows/batch   batches   p50 ms   p99 ms   max ms   total s   rows/s\n");
const worst: number[] = [];
let defaultBatch: [number, number] = [0, 0];
for (const batch of [100, 500, 2000, ROWS + 10]) {
  const { store, path } = await filledStore();
  const times: number[] = [];
  const t0 = performance.now();
  for (;;) {
    const t = performance.now();
    const n = await store.purgeExchanges(NOW - 7 * DAY_MS, batch);
    times.push(performance.now() - t);
    if (n < batch) break;
  }
  const total = (performance.now() - t0) / 1000;
  await store.close();
  for (const ext of ["", "-wal", "-shm"]) rmSync(path + ext, { force: true });
  const label = batch > ROWS ? "all (baseline)" : String(batch);
  worst.push(Math.max(...times));
  if (batch === 100) defaultBatch = [pct(times, 0.5), pct(times, 0.99)];
  process.stdout.write(
    `${label.padEnd(14)}${String(times.length).padStart(7)}${pct(times, 0.5).toFixed(1).padStart(9)}${pct(times, 0.99).toFixed(1).padStart(9)}${Math.max(
      ...times,
    )
      .toFixed(1)
      .padStart(9)}${total.toFixed(1).padStart(10)}${Math.round(ROWS / total)
      .toLocaleString("en")
      .padStart(9)}\n`,
  );
}
const baseline = worst.at(-1) as number;
const [d50, d99] = defaultBatch;
process.stdout.write(
  `one transaction of everything blocks ${baseline.toFixed(0)} ms; batches of 100 (the default) ${d50.toFixed(1)} ms median, ${d99.toFixed(1)} ms p99: ${(baseline / d50).toFixed(0)}× / ${(baseline / d99).toFixed(0)}× shorter (load average ${loadavg()[0].toFixed(1)})\n`,
);
