/**
 * Gateway overhead benchmark: req/s and latency p50/p99/p99.9 straight to an instant upstream and through
 * `fusionkit serve`, at 1, 50 and 200 connections, plain and streamed, runs alternated direct / gateway
 * (the machine is shared and noisy, so each pair is measured back to back and repeated).
 *
 * Everything runs on loopback in separate processes: the upstream (test/serve/support/instant-upstream.ts,
 * a minimal OpenAI-protocol server answering at once), the gateway (`node bin/fusionkit.js serve`), and, per
 * run, the load generator (bench/support/loadgen.ts: closed-loop keep-alive connections over raw node:net,
 * per-request float-ms latency). Load is not generated in this process: on 2 cores an in-process generator
 * competes with the servers it measures.
 *
 * Each run opens its connections all at once and uses them for a warm-up (--warmup s, default 1) that is
 * excluded from the main table, then measures --duration s on the same connections. The cold start is printed
 * in its own table: the first request of every fresh connection and the warm-up phase. Why it matters: since
 * libuv 1.45 (Node 20) a server accepts one connection per event-loop iteration (libuv PR #3696), so when 200
 * connections arrive at once at a busy server, the later ones wait in the kernel's accept queue for many
 * loop iterations; their first requests (already sent) see that wait, which is connection setup, not the
 * per-request cost.
 *
 * Gateway configuration: the default router (kNN over the default embedder, use-512) trained on the
 * bundled LLMRouter train split, `fusionkit/auto`, a repeated query (its embedding and the router's
 * prediction are cached; knob, filters and fallback order still run per request), client key auth off on
 * loopback, full exchange logging. Then the same with the router run on every request (cached embedding,
 * `--decision-cache 0`), and once per embedder (use-512, hash, openai-compatible HTTP) with embedding and
 * router computed on every request and a different query each time.
 *
 * One worker against all workers, and SQLite against PostgreSQL, in one run: bench/gateway-scale.ts (it
 * shares this bench's support code, bench/support/gateway-runs.ts).
 *
 *   node --import tsx bench/gateway.ts [--duration 3] [--warmup 1] [--rounds 2] [--workers 1]
 */
import Database from "better-sqlite3";
import { numberArg } from "./support/args.ts";
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
const WORKERS = numberArg("--workers", 1);
const CONNECTIONS = [1, 50, 200];

const HEADER = row([
  "run",
  "conns",
  "target",
  "req/s",
  "p50 ms",
  "p99 ms",
  "p99.9 ms",
  "errors",
  "timeouts",
  "non2xx",
  "gw CPU ms/req",
]);
const line = (name: string, c: number, target: string, s: Summary) =>
  row([
    name,
    c,
    target,
    s.rps.toFixed(0),
    f(s.p50),
    f(s.p99),
    f(s.p999),
    s.errors,
    s.timeouts,
    s.non2xx,
    f(s.cpuPerReq),
  ]);

const COLD_HEADER = row(["run", "conns", "target", ...COLD_COLUMNS]);
const coldLine = (name: string, c: number, target: string, s: Summary) => row([name, c, target, ...coldCells(s)]);

function countExchanges(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare("SELECT COUNT(*) AS n FROM gateway_exchanges").get() as { n: number }).n;
  } finally {
    d.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const upstream = await startUpstream();
  const { db, texts, models, artifacts, providers } = await prepare("bench/gateway", upstream.url, {
    "use-512 (default)": "use",
    hash: "hash",
    "openai-compatible HTTP": `openai:instant-embed@${upstream.url}`,
  });

  const gatewayArgs = (artifact: string, extra: string[] = []) => [
    "--providers",
    providers,
    "--db",
    db,
    "--router",
    artifact,
    "--no-auth",
    "--port",
    "0",
    // One process unless --workers is given (serve's own default is one per core).
    "--workers",
    String(WORKERS),
    ...extra,
  ];
  const query = texts[0];
  const direct = upstream.url;
  const out: string[] = [`load average at start: ${loadAverage()}; ${gatewayBuild()}`, "", HEADER];
  const checks: string[] = [];
  const cold: string[] = [
    `cold start (excluded from the tables above): each run opens its connections at once and runs ${LOAD.warmupSec} s of warm-up on them;`,
    "1st = first request of each fresh connection (TCP connect + wait in the accept queue + first response), warm = all warm-up requests",
    COLD_HEADER,
  ];
  let gw: Child;
  /** ROUNDS alternated runs straight to the upstream and through the gateway; prints and returns both. */
  const pair = async (name: string, c: number, dBodies: string[], gBodies: string[]) => {
    const dRuns: Run[] = [];
    const gRuns: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      dRuns.push(await load(direct, c, dBodies, LOAD));
      gRuns.push(await load(`${gw.url}/v1`, c, gBodies, LOAD, gw.proc.pid));
    }
    const d = summarise(dRuns);
    const g = summarise(gRuns);
    out.push(line(name, c, "direct", d), line(name, c, "gateway", g));
    out.push(
      row(["", c, "added", "", `+${f(g.p50 - d.p50)}`, `+${f(g.p99 - d.p99)}`, `+${f(g.p999 - d.p999)}`, "", "", ""]),
    );
    cold.push(coldLine(name, c, "direct", d), coldLine(name, c, "gateway", g));
    process.stderr.write(`${out.slice(-3).join("\n")}\n`);
    return { d, g };
  };

  gw = await startGateway(gatewayArgs(artifacts["use-512 (default)"]));
  let gwSent = 0;
  const gwResults = new Map<string, { d: Summary; g: Summary }>();
  for (const stream of [false, true]) {
    for (const c of CONNECTIONS) {
      const name = `${stream ? "stream" : "plain"}, cached embedding`;
      const { d, g } = await pair(
        name,
        c,
        [chatBody(models[0], query, stream)],
        [chatBody("fusionkit/auto", query, stream)],
      );
      gwSent += g.sent + g.warmSent;
      gwResults.set(`${stream}-${c}`, { d, g });
    }
  }
  await gw.stop();
  const logged = countExchanges(db);

  out.push("", "router run on every request (--decision-cache 0), cached embedding of the repeated query:", HEADER);
  gw = await startGateway(gatewayArgs(artifacts["use-512 (default)"], ["--decision-cache", "0"]));
  for (const c of CONNECTIONS)
    await pair(
      "plain, router each request",
      c,
      [chatBody(models[0], query, false)],
      [chatBody("fusionkit/auto", query, false)],
    );
  await gw.stop();

  out.push(
    "",
    "embedding and router computed on every request (--embed-cache 0 --decision-cache 0), a different query each request:",
    HEADER,
  );
  const varied = (model: string) => texts.slice(0, 2000).map((t) => chatBody(model, t, false));
  for (const [label, artifact] of Object.entries(artifacts)) {
    gw = await startGateway(gatewayArgs(artifact, ["--embed-cache", "0", "--decision-cache", "0"]));
    for (const c of [1, 50]) await pair(label, c, varied(models[0]), varied("fusionkit/auto"));
    await gw.stop();
  }
  await upstream.stop();

  // Exchanges logged vs requests sent to the gateway in the cached-embedding phase (warm-up phases included).
  const first = gwResults.get("false-1") as { d: Summary; g: Summary };
  const plain200 = gwResults.get("false-200") as { d: Summary; g: Summary };
  const stream200 = gwResults.get("true-200") as { d: Summary; g: Summary };
  const best = Math.max(...[...gwResults.values()].map((v) => v.g.rps));
  checks.push(
    `added latency at 1 connection (plain): p50 +${f(first.g.p50 - first.d.p50)} ms (target ≤ 1), p99 +${f(first.g.p99 - first.d.p99)} ms (target ≤ 3)`,
    `best gateway throughput: ${best.toFixed(0)} req/s (target ≥ 1,200)`,
    `200 connections, plain: ${plain200.g.errors} errors, ${plain200.g.timeouts} timeouts, ${plain200.g.non2xx} non-2xx, p99.9 ${f(plain200.g.p999)} ms (target 0 / 0 / < 1000)`,
    `200 connections, stream: ${stream200.g.errors} errors, ${stream200.g.timeouts} timeouts, ${stream200.g.non2xx} non-2xx, p99.9 ${f(stream200.g.p999)} ms (target 0 / 0 / < 1000)`,
    `cold start at 200 connections through the gateway (excluded above): first request on a fresh connection max ${f(plain200.g.firstMax)} ms plain / ${f(stream200.g.firstMax)} ms stream; warm-up p99.9 ${f(plain200.g.warmP999)} / ${f(stream200.g.warmP999)} ms; ${plain200.g.warmFailed + stream200.g.warmFailed} failed`,
    `exchanges logged in the cached-embedding phase: ${logged} for ${gwSent} requests sent (target: equal)`,
  );
  out.push(
    "",
    ...cold,
    "",
    ...checks,
    "",
    `load average at end: ${loadAverage()}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  process.stdout.write(`\n${out.join("\n")}\n`);
}

await main();
