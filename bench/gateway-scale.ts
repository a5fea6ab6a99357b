/**
 * Gateway scaling benchmark: req/s and latency p50/p99/p99.9 of `fusionkit serve` with one worker against all
 * workers (`--workers <cores>`), each over a SQLite store and over PostgreSQL, at 1, 50 and 200 connections,
 * in one run. Every gateway configuration runs at once (idle ones cost nothing); runs alternate between them
 * round by round (the machine is shared and noisy), with a run straight to the upstream in each round for
 * reference. Ratios are against the baseline measured in the same run: SQLite, one worker.
 *
 * Same setting as bench/gateway.ts (whose support code it shares, bench/support/gateway-runs.ts): the instant
 * upstream, the default router (kNN over use-512) trained on the bundled LLMRouter train split, `fusionkit/auto`,
 * a repeated query (its embedding and the router's prediction cached), client key auth off on loopback, full
 * exchange logging, the closed-loop load generator in its own process. Each gateway logs into a store of its
 * own (a fresh SQLite file, a fresh PostgreSQL database), so the exchanges logged are checked against the
 * requests sent, per configuration. The cold-start table (first request of each fresh connection, warm-up
 * phase) is printed for every connection count; see bench/gateway.ts for why it matters at 200.
 *
 * PostgreSQL: --pg postgres://… or FUSIONKIT_TEST_PG (a server on which the bench may create and drop
 * databases; `.ci/postgres-start` starts a throwaway one). Without either, the PostgreSQL rows are skipped
 * and the bench says so.
 *
 * Read the figures with the machine in mind: the load generator, the upstream, the gateway's workers (and
 * PostgreSQL) all share its cores, so all-workers can only scale as far as cores are left over.
 *
 *   node --import tsx bench/gateway-scale.ts [--duration 3] [--warmup 1] [--rounds 2] [--workers <cores>] [--pg URL]
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { freshDatabase } from "../test/support/postgres.ts";
import { numberArg, stringArg } from "./support/args.ts";
import {
  type Child,
  COLD_COLUMNS,
  chatBody,
  coldCells,
  f,
  gatewayBuild,
  load,
  loadAverage,
  prepare,
  type Run,
  row,
  runFlags,
  type Summary,
  startGateway,
  startUpstream,
  summarise,
} from "./support/gateway-runs.ts";

const { load: LOAD, rounds: ROUNDS } = runFlags();
const ALL_WORKERS = numberArg("--workers", availableParallelism());
const PG_SERVER = stringArg("--pg") ?? process.env.FUSIONKIT_TEST_PG ?? null;
const CONNECTIONS = [1, 50, 200];

interface Config {
  label: string;
  workers: number;
  /** The gateway's --db: a SQLite file or a postgres:// URL. */
  db: string;
  /** Exchanges in its log (read after the gateway stopped). */
  logged(): Promise<number>;
  drop(): Promise<void>;
  gw?: Child;
  /** Requests sent to it, warm-up included. */
  sent: number;
  runs: Map<number, Run[]>;
}

function sqliteConfig(dir: string, workers: number): Config {
  const db = join(dir, `gateway-${workers}w.db`);
  return {
    label: `sqlite, ${workers} worker${workers > 1 ? "s" : ""}`,
    workers,
    db,
    logged: async () => {
      const d = new Database(db, { readonly: true });
      try {
        return (d.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
      } finally {
        d.close();
      }
    },
    drop: async () => {},
    sent: 0,
    runs: new Map(),
  };
}

async function postgresConfig(server: string, workers: number): Promise<Config> {
  const fresh = await freshDatabase(server);
  return {
    label: `postgres, ${workers} worker${workers > 1 ? "s" : ""}`,
    workers,
    db: fresh.url,
    logged: async () => {
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      try {
        return Number((await c.query<{ n: string }>("SELECT COUNT(*) AS n FROM gateway_exchanges")).rows[0].n);
      } finally {
        await c.end();
      }
    },
    drop: () => fresh.drop(),
    sent: 0,
    runs: new Map(),
  };
}

const HEADER = row(
  ["run", "conns", "", "req/s", "× base", "p50 ms", "p99 ms", "p99.9 ms", "× base p99", "errors", "timeouts", "non2xx"],
  20,
);
const ratio = (v: number, base: number) => (Number.isFinite(v / base) ? `${(v / base).toFixed(2)}×` : "-");
const line = (name: string, c: number, s: Summary, base: Summary | null) =>
  row(
    [
      name,
      c,
      "",
      s.rps.toFixed(0),
      base ? ratio(s.rps, base.rps) : "",
      f(s.p50),
      f(s.p99),
      f(s.p999),
      base ? ratio(s.p99, base.p99) : "",
      s.errors,
      s.timeouts,
      s.non2xx,
    ],
    20,
  );

async function main(): Promise<void> {
  const started = Date.now();
  const upstream = await startUpstream();
  const configs: Config[] = [];
  try {
    const { dir, texts, models, artifacts, providers } = await prepare("bench/gateway-scale", upstream.url, {
      use: "use",
    });
    const workerCounts = ALL_WORKERS > 1 ? [1, ALL_WORKERS] : [1];
    for (const w of workerCounts) configs.push(sqliteConfig(dir, w));
    const notes: string[] = [];
    if (ALL_WORKERS === 1) notes.push("one core: --workers 1 only, nothing to scale to");
    if (PG_SERVER) for (const w of workerCounts) configs.push(await postgresConfig(PG_SERVER, w));
    else
      notes.push(
        "PostgreSQL rows skipped: no server given (pass --pg postgres://… or set FUSIONKIT_TEST_PG; .ci/postgres-start starts a throwaway one)",
      );
    const out: string[] = [
      `load average at start: ${loadAverage()}; ${availableParallelism()} cores; ${gatewayBuild()}`,
      ...notes,
    ];
    for (const c of configs) {
      process.stderr.write(`bench/gateway-scale: starting ${c.label}\n`);
      c.gw = await startGateway([
        "--providers",
        providers,
        "--db",
        c.db,
        "--router",
        artifacts.use,
        "--no-auth",
        "--port",
        "0",
        "--workers",
        String(c.workers),
      ]);
    }
    const direct: Map<number, Run[]> = new Map();
    const dBody = [chatBody(models[0], texts[0], false)];
    const gBody = [chatBody("fusionkit/auto", texts[0], false)];
    const loadAt: string[] = [];
    for (const conns of CONNECTIONS) {
      for (let r = 0; r < ROUNDS; r++) {
        direct.set(conns, [...(direct.get(conns) ?? []), await load(upstream.url, conns, dBody, LOAD)]);
        for (const c of configs) {
          const gw = c.gw as Child;
          const run = await load(`${gw.url}/v1`, conns, gBody, LOAD, gw.proc.pid);
          c.runs.set(conns, [...(c.runs.get(conns) ?? []), run]);
          c.sent += run.sent + run.warmSent;
        }
      }
      loadAt.push(`${conns} conns: ${loadAverage()}`);
      process.stderr.write(`bench/gateway-scale: ${conns} connections done (load average ${loadAverage()})\n`);
    }
    for (const c of configs) await c.gw?.stop();

    out.push(
      "",
      `plain requests, cached embedding; ${ROUNDS} × ${LOAD.durationSec} s per row; × base: against ${configs[0].label}`,
    );
    out.push(HEADER);
    const cold: string[] = [
      "",
      `cold start (excluded above): every run opens its connections at once and warms up ${LOAD.warmupSec} s on them;`,
      "1st = first request of each fresh connection (connect + accept queue + first response), warm = all warm-up requests",
      row(["run", "conns", "", ...COLD_COLUMNS], 20),
    ];
    const cpu: string[] = [
      "",
      "gateway CPU per request (all its processes, warm-up included; with workers, the primary's share), ms:",
    ];
    for (const conns of CONNECTIONS) {
      const base = summarise(configs[0].runs.get(conns) as Run[]);
      const d = summarise(direct.get(conns) as Run[]);
      out.push(line("direct to upstream", conns, d, null));
      cold.push(row(["direct to upstream", conns, "", ...coldCells(d)], 20));
      const cpuCells: string[] = [];
      for (const c of configs) {
        const s = summarise(c.runs.get(conns) as Run[]);
        out.push(line(c.label, conns, s, c === configs[0] ? null : base));
        cold.push(row([c.label, conns, "", ...coldCells(s)], 20));
        cpuCells.push(`${c.label} ${f(s.cpuPerReq)}${c.workers > 1 ? ` (primary ${f(s.mainCpuPerReq)})` : ""}`);
      }
      cpu.push(`  ${conns} conns: ${cpuCells.join("; ")}`);
    }
    out.push(...cold, ...cpu, "", "exchanges logged vs requests sent (warm-up included):");
    for (const c of configs) {
      const logged = await c.logged();
      out.push(`  ${c.label}: ${logged} logged for ${c.sent} sent${logged === c.sent ? "" : "  MISMATCH"}`);
    }
    out.push(
      "",
      `load average after each connection count: ${loadAt.join("; ")}`,
      `load average at end: ${loadAverage()}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    process.stdout.write(`\n${out.join("\n")}\n`);
  } finally {
    for (const c of configs) await c.gw?.stop();
    await upstream.stop();
    for (const c of configs) await c.drop();
  }
}

await main();
