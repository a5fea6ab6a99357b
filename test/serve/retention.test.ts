import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import type { GatewayStore } from "../../src/serve/gateway-store.ts";
import { type Exchange, ExchangeLog } from "../../src/serve/log.ts";
import { PostgresGatewayStore } from "../../src/serve/postgres/store.ts";
import { DAY_MS, LogRetention } from "../../src/serve/retention.ts";
import { SqliteGatewayStore } from "../../src/serve/sqlite-gateway-store.ts";
import { GatewayRollup } from "../../src/ui/queries/rollup.ts";
import { tempDb, tempDir } from "../helpers.ts";
import { freshDatabase, PG_SKIP } from "../support/postgres.ts";
import { startFakeProcess, startGatewayProcess } from "./support/procs.ts";

/**
 * Issue 12 item 6, retention: exchanges older than N days (and their labels) are deleted in the background, in
 * small batches, on SQLite and PostgreSQL; a failing pass is reported and retried, never fatal.
 */

const NOW = Date.now();
const exchange = (id: string, at: number, query: string): Exchange => ({
  requestId: id,
  at,
  keyId: null,
  session: null,
  requestedModel: "small",
  router: null,
  servedModel: "small",
  mode: "direct",
  query,
  request: null,
  response: "ok",
  inputTokens: 1,
  outputTokens: 1,
  cost: 1e-6,
  latencyMs: 5,
  ttfbMs: null,
  status: 200,
  error: null,
  stream: false,
  attempts: 1,
  candidates: null,
});

/** `old` exchanges 3 days old and `recent` ones from the last hour, written through the exchange log. */
async function fill(store: GatewayStore, old: number, recent: number, tag: string): Promise<void> {
  const log = new ExchangeLog(store.exchanges, { maxBuffer: 10_000 });
  for (let i = 0; i < old; i++) log.push(exchange(`${tag}-old-${i}`, NOW - 3 * DAY_MS + i, `ancient ${tag} ${i}`));
  for (let i = 0; i < recent; i++) log.push(exchange(`${tag}-new-${i}`, NOW - 3_600_000 + i, `fresh ${tag} ${i}`));
  assert.equal(await log.drain(10_000), 0);
  log.close();
}

/** A retention on `store` whose batches are recorded (rows per call), with passes every 30 ms. */
function retention(store: GatewayStore, reports: string[] = []) {
  const batches: number[] = [];
  const r = new LogRetention({
    days: 1,
    batch: 100,
    pauseMs: 1,
    firstMs: 0,
    everyMs: 30,
    report: (m) => reports.push(m),
    purge: async (before, limit) => {
      const n = await store.purgeExchanges(before, limit);
      batches.push(n);
      return n;
    },
  });
  return { r, batches, reports };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("retention on SQLite (in process, real store file)", () => {
  test("old exchanges and their labels go in batches of at most 100; recent ones stay; the word index forgets them", async () => {
    const path = tempDb();
    const store = await SqliteGatewayStore.open(path, null);
    await fill(store, 1000, 3, "a");
    await store.label("a-old-7", 1);
    await store.label("a-new-1", 0.5);
    new GatewayRollup(store.sqlite).catchUp(); // indexes the routed text for the dashboard's word search
    const db = store.sqlite;
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const words = (w: string) =>
      count(`SELECT COUNT(*) AS n FROM ui_exchange_text WHERE ui_exchange_text MATCH '${w}'`);
    assert.equal(words("ancient"), 1000);

    const { r, batches } = retention(store);
    r.start();
    await until("the old exchanges to go", () => count("SELECT COUNT(*) AS n FROM gateway_exchanges") === 3);
    assert.ok(batches.length >= 10 && batches.every((n) => n <= 100), `batches ${batches}`);
    assert.deepEqual(
      db.prepare("SELECT request_id FROM gateway_feedback").all(),
      [{ request_id: "a-new-1" }],
      "the old label went with its exchange",
    );
    assert.equal(words("ancient"), 0);
    assert.equal(words("fresh"), 3);

    // Later passes take what ages in the meantime (here: old rows logged late; the last one logged stays, as
    // the newest row always does, see the test below).
    await fill(store, 250, 0, "b");
    await until("the next pass", () => count("SELECT COUNT(*) AS n FROM gateway_exchanges") === 4);
    assert.equal(r.deleted, 1249);
    await r.stop();
    await store.close();
  });

  test("a locked store fails a pass, reported and retried; the rows go once the lock is released", async () => {
    const path = tempDb();
    const store = await SqliteGatewayStore.open(path, null);
    await fill(store, 300, 1, "c");
    const holder = new Database(path);
    holder.exec("BEGIN IMMEDIATE"); // another writer, as `fusionkit import` is
    const { r, reports } = retention(store);
    r.start();
    await until("a failed pass", () => r.failures >= 2);
    assert.match(reports[0], /retention: deleting exchanges older than 1 day\(s\) failed \(database is locked\)/);
    holder.exec("COMMIT");
    holder.close();
    const count = () => (store.sqlite.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
    await until("the retry", () => count() === 1);
    await r.stop();
    await store.close();
  });

  test("the newest exchange is kept even when it is old (the dashboard's rollup follows rowids)", async () => {
    const store = await SqliteGatewayStore.open(tempDb(), null);
    await fill(store, 5, 0, "d");
    const { r } = retention(store);
    assert.equal(await r.pass(), 4);
    assert.deepEqual(store.sqlite.prepare("SELECT request_id FROM gateway_exchanges").all(), [
      { request_id: "d-old-4" },
    ]);
    await store.close();
  });
});

describe("retention on PostgreSQL (real server)", { skip: PG_SKIP }, () => {
  test("two replicas purging at once: every old exchange deleted once, labels with them, recent ones kept", async () => {
    const db = await freshDatabase();
    const a = await PostgresGatewayStore.open(db.url);
    const b = await PostgresGatewayStore.open(db.url);
    try {
      await fill(a, 1500, 4, "p");
      await a.label("p-old-3", 1);
      await a.label("p-new-2", 0);
      const ra = retention(a);
      const rb = retention(b);
      const [da, dbb] = await Promise.all([ra.r.pass(), rb.r.pass()]);
      assert.equal(da + dbb, 1500);
      assert.ok([...ra.batches, ...rb.batches].every((n) => n <= 100));
      assert.equal(ra.r.failures + rb.r.failures, 0);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const left = await c.query("SELECT request_id FROM gateway_exchanges ORDER BY request_id");
      const labels = await c.query("SELECT request_id FROM gateway_feedback");
      await c.end();
      assert.deepEqual(
        left.rows.map((r) => r.request_id),
        ["p-new-0", "p-new-1", "p-new-2", "p-new-3"],
      );
      assert.deepEqual(labels.rows, [{ request_id: "p-new-2" }]);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});

describe("retention in a real gateway process", () => {
  const dir = tempDir();
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  before(async () => {
    fake = await startFakeProcess({ models: { small: { reply: "hi" } } });
  });
  after(async () => {
    await fake?.stop();
  });

  for (const workers of ["1", "2"])
    test(`serve --log-retention-days 1 (--workers ${workers}) deletes the exchanges older than a day soon after start`, async () => {
      const path = join(dir, `store-${workers}.db`);
      const store = await SqliteGatewayStore.open(path, null);
      await fill(store, 2000, 5, "g");
      await store.close();
      const providers = join(dir, "providers.yaml");
      writeFileSync(
        providers,
        `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n  - { name: small, provider: fake, upstreamId: small, inputPrice: 1, outputPrice: 1 }\n`,
      );
      const gw = await startGatewayProcess([
        "--providers",
        providers,
        "--db",
        path,
        "--no-auth",
        "--log-retention-days",
        "1",
        "--workers",
        workers,
      ]);
      try {
        const file = new Database(path, { readonly: true });
        const count = () => (file.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
        await until("the first retention pass", () => count() === 5, 60_000);
        file.close();
        // The gateway serves on as before.
        const r = await fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "small", messages: [{ role: "user", content: "x" }] }),
        });
        assert.equal(r.status, 200);
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        assert.match(metrics, /^fusionkit_retention_deleted_total 2000$/m);
        assert.match(metrics, /^fusionkit_retention_failures_total 0$/m);
      } finally {
        assert.equal(await gw.stop(), 0);
      }
      assert.match(gw.stderr(), /retention: deleted 2000 exchange\(s\) older than 1 day\(s\)/);
    });
});
