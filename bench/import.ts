/**
 * Import benchmark: 100k+ outcomes made by resampling REAL rows of the bundled RouteProfile set (responses,
 * token counts, performance), each resampled query's text perturbed so it is a new query. Written as canonical
 * JSONL and as FusionBench Parquet, then imported into a fresh store each; prints rows/second, the parse vs
 * write split, and the store's size on disk. Baseline measured in the same run: the same rows inserted with
 * bare prepared INSERTs in one transaction (no parsing, no validation, no duplicate lookups).
 *
 * While each import runs, a second connection on another thread writes one small row every 20 ms, as the
 * gateway's exchange log does; its longest wait for the write lock is printed ("writer max wait"). The baseline's
 * one transaction of bare INSERTs holds the lock for its whole write, as imports did before they validated and
 * staged their rows outside the lock.
 *
 * Run: npx tsx bench/import.ts [--queries 13000]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { parquetWriteFile } from "hyparquet-writer";
import { modelLine, outcomeLine, queryLine } from "../src/data/export.ts";
import { queryId } from "../src/data/ids.ts";
import { fusionbenchImporter } from "../src/data/importers/fusionbench.ts";
import { fusionkitImporter } from "../src/data/importers/fusionkit.ts";
import type { Importer } from "../src/data/importers/importer.ts";
import { routeprofileImporter } from "../src/data/importers/routeprofile.ts";
import { Store } from "../src/data/store.ts";
import type { Model, Outcome, Query } from "../src/data/types.ts";
import { Rng } from "../src/util/prng.ts";
import { numberArg } from "./support/args.ts";

const REPO = new URL("..", import.meta.url).pathname;
const N_QUERIES = numberArg("--queries", 13_000);
const dir = mkdtempSync(join(tmpdir(), "fusionkit-bench-"));

// 1. Real source rows: the bundled RouteProfile set (600 queries × 8 models).
const src = await routeprofileImporter.parse(`${REPO}/data/routeprofile`, {});
const srcOutcomes = new Map<string, typeof src.outcomes>();
for (const o of src.outcomes) srcOutcomes.set(o.queryId, [...(srcOutcomes.get(o.queryId) ?? []), o]);
const models: Model[] = src.models.map(({ loc: _loc, ...m }) => m);
const priceOf = new Map(models.map((m) => [m.name, m]));

// 2. Resample: each new query copies a random real query (text perturbed) with all its real outcomes.
const rng = new Rng(7);
const queries: Query[] = [];
const outcomes: Outcome[] = [];
for (let i = 0; i < N_QUERIES; i++) {
  const q = src.queries[rng.int(src.queries.length)] as (typeof src.queries)[number];
  const text = `${q.text}\n(resample ${i})`;
  const split = rng.next() < 0.2 ? "test" : "train";
  const id = queryId("bench", q.task, text, split);
  queries.push({
    id,
    dataset: "bench",
    task: q.task,
    domain: q.domain,
    text,
    groundTruth: q.groundTruth,
    metric: q.metric,
    split,
  });
  for (const o of srcOutcomes.get(q.id) ?? []) {
    const m = priceOf.get(o.model) as Model;
    const cost = ((m.inputPrice ?? 0) * (o.inputTokens ?? 0) + (m.outputPrice ?? 0) * (o.outputTokens ?? 0)) / 1e6;
    outcomes.push({
      queryId: id,
      model: o.model,
      mode: "direct",
      response: o.response,
      performance: o.performance,
      inputTokens: o.inputTokens,
      outputTokens: o.outputTokens,
      cost,
    });
  }
}
console.log(
  `resampled ${queries.length} queries, ${outcomes.length} outcomes from ${src.queries.length} real RouteProfile queries`,
);

// 3. Write both formats.
const jsonl = join(dir, "bench.jsonl");
writeFileSync(
  jsonl,
  `${[...models.map(modelLine), ...queries.map(queryLine), ...outcomes.map(outcomeLine)].join("\n")}\n`,
);
const parquet = join(dir, "train.parquet");
const qOf = new Map(queries.map((q) => [q.id, q]));
const col = <T>(f: (o: Outcome, q: Query, m: Model) => T) =>
  outcomes.map((o) => f(o, qOf.get(o.queryId) as Query, priceOf.get(o.model) as Model));
parquetWriteFile({
  filename: parquet,
  columnData: [
    { name: "task_name", data: col((_o, q) => q.task), type: "STRING" },
    { name: "query", data: col((_o, q) => q.text), type: "STRING" },
    { name: "ground_truth", data: col((_o, q) => q.groundTruth ?? null), type: "STRING" },
    { name: "metric", data: col((_o, q) => q.metric ?? null), type: "STRING" },
    { name: "split", data: col((_o, q) => q.split ?? null), type: "STRING" },
    { name: "llm", data: col((o) => o.model), type: "STRING" },
    { name: "input_price", data: col((_o, _q, m) => m.inputPrice), type: "DOUBLE" },
    { name: "output_price", data: col((_o, _q, m) => m.outputPrice), type: "DOUBLE" },
    { name: "input_tokens_num", data: col((o) => BigInt(o.inputTokens ?? 0)), type: "INT64" },
    { name: "output_tokens_num", data: col((o) => BigInt(o.outputTokens ?? 0)), type: "INT64" },
    { name: "performance", data: col((o) => o.performance), type: "DOUBLE" },
    { name: "cost", data: col((o) => o.cost), type: "DOUBLE" },
    { name: "response", data: col((o) => o.response ?? null), type: "STRING" },
  ],
});
const mb = (p: string) => (statSync(p).size / 1e6).toFixed(1);
console.log(`inputs: canonical JSONL ${mb(jsonl)} MB, FusionBench Parquet ${mb(parquet)} MB\n`);

function storeBytes(path: string): number {
  let n = 0;
  for (const ext of ["", "-wal", "-shm"])
    try {
      n += statSync(path + ext).size;
    } catch {
      // absent after a clean close
    }
  return n;
}

interface Result {
  name: string;
  parseS: number;
  writeS: number;
  bytes: number;
  /** Longest time the concurrent writer waited for one small write during the run, ms. */
  writerMaxWaitMs: number;
}

/**
 * A gateway-like writer on its own connection and thread: one small INSERT every 20 ms into a side table,
 * with a busy timeout, timing each; `stop()` resolves to the longest single write.
 */
async function concurrentWriter(db: string): Promise<{ stop(): Promise<number> }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const Database = require(workerData.module);
     const db = new Database(workerData.db, { timeout: 60000 });
     db.exec("CREATE TABLE IF NOT EXISTS bench_writer (at REAL)");
     const ins = db.prepare("INSERT INTO bench_writer (at) VALUES (?)");
     let max = 0;
     ins.run(performance.now());
     parentPort.postMessage("ready");
     const timer = setInterval(() => {
       const t = performance.now();
       ins.run(t);
       max = Math.max(max, performance.now() - t);
     }, 20);
     parentPort.on("message", () => { clearInterval(timer); db.close(); parentPort.postMessage(max); });`,
    { eval: true, workerData: { db, module: join(REPO, "node_modules/better-sqlite3") } },
  );
  await new Promise((resolve) => worker.once("message", resolve)); // it has written once: it holds no lock now
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        worker.once("message", (max: number) => {
          void worker.terminate();
          resolve(max);
        });
        worker.postMessage("stop");
      }),
  };
}

async function run(name: string, importer: Importer, path: string): Promise<Result> {
  const db = join(dir, `${name}.db`);
  const store = new Store(db);
  const writer = await concurrentWriter(db);
  const t0 = performance.now();
  const batch = await importer.parse(path, {});
  const t1 = performance.now();
  const summary = store.importBatch(batch);
  const t2 = performance.now();
  const writerMaxWaitMs = await writer.stop();
  if (summary.outcomesAdded !== outcomes.length) throw new Error(`${name}: ${summary.outcomesAdded} outcomes stored`);
  store.close();
  return { name, parseS: (t1 - t0) / 1000, writeS: (t2 - t1) / 1000, bytes: storeBytes(db), writerMaxWaitMs };
}

/** Baseline: the same rows through bare prepared INSERTs in one transaction (no parse, no checks). */
async function baseline(): Promise<Result> {
  const db = join(dir, "baseline.db");
  const store = new Store(db);
  const writer = await concurrentWriter(db);
  const t0 = performance.now();
  const insM = store.db.prepare("INSERT INTO models (name, input_price, output_price) VALUES (?, ?, ?)");
  const insQ = store.db.prepare(
    "INSERT INTO queries (id, dataset, task, domain, text, ground_truth, metric, split) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insO = store.db.prepare(
    "INSERT INTO outcomes (query_id, model, mode, response, performance, input_tokens, output_tokens, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  store.db.transaction(() => {
    for (const m of models) insM.run(m.name, m.inputPrice, m.outputPrice);
    for (const q of queries) insQ.run(q.id, q.dataset, q.task, q.domain, q.text, q.groundTruth, q.metric, q.split);
    for (const o of outcomes)
      insO.run(o.queryId, o.model, o.mode, o.response, o.performance, o.inputTokens, o.outputTokens, o.cost);
  })();
  const t1 = performance.now();
  const writerMaxWaitMs = await writer.stop();
  store.close();
  return {
    name: "baseline (bare INSERTs)",
    parseS: 0,
    writeS: (t1 - t0) / 1000,
    bytes: storeBytes(db),
    writerMaxWaitMs,
  };
}

const results = [
  await run("canonical JSONL", fusionkitImporter, jsonl),
  await run("FusionBench Parquet", fusionbenchImporter, parquet),
  await baseline(),
];
const base = results[2] as Result;
console.log(
  "format                      outcomes/s   parse s   write s   total s   vs baseline   store bytes/outcome   writer max wait ms",
);
for (const r of results) {
  const total = r.parseS + r.writeS;
  console.log(
    `${r.name.padEnd(26)} ${Math.round(outcomes.length / total)
      .toLocaleString("en-US")
      .padStart(11)} ${r.parseS.toFixed(2).padStart(9)} ${r.writeS.toFixed(2).padStart(9)} ${total
      .toFixed(2)
      .padStart(9)} ${`${(total / (base.parseS + base.writeS)).toFixed(1)}×`.padStart(13)} ${Math.round(
      r.bytes / outcomes.length,
    )
      .toString()
      .padStart(21)} ${Math.round(r.writerMaxWaitMs).toString().padStart(20)}`,
  );
}
console.log(
  `\nstore on disk after import: ${((results[0]?.bytes ?? 0) / 1e6).toFixed(1)} MB for ${outcomes.length} outcomes + ${queries.length} queries (responses included)`,
);
rmSync(dir, { recursive: true, force: true });
