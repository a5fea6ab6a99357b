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
 *   node --import tsx bench/gateway.ts [--duration 3] [--warmup 1] [--rounds 2] [--workers 1]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { saveRouter, trainRouter } from "../src/routing/artifacts.ts";
import { buildTrainingSet } from "../src/routing/dataset.ts";
import type { LoadResult, LoadSpec } from "./support/loadgen.ts";

const REPO = resolve(import.meta.dirname, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg("--duration", 3);
const WARMUP = arg("--warmup", 1);
const SPEC_DIR = mkdtempSync(join(tmpdir(), "fusionkit-bench-load-"));
const ROUNDS = arg("--rounds", 2);
const WORKERS = arg("--workers", 1);
const CONNECTIONS = [1, 50, 200];

interface Child {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

function start(args: string[], marker: RegExp): Promise<Child> {
  const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  return new Promise((resolveStart, reject) => {
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = marker.exec(out);
      if (m)
        resolveStart({
          url: m[1],
          proc,
          stderr: () => err,
          stop: async () => {
            proc.kill("SIGTERM");
            await exited;
          },
        });
    });
    proc.once("exit", (code) => reject(new Error(`${args.join(" ")} exited (${code}): ${err}`)));
  });
}

function cli(args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ["bin/fusionkit.js", ...args], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.on("exit", (code) => (code === 0 ? res() : rej(new Error(`fusionkit ${args.join(" ")}: ${err}`))));
  });
}

/** User + system CPU of a process in ms (Linux /proc; clock ticks of 10 ms), or NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface Run {
  rps: number;
  /** CPU the measured process (the gateway) spent per answered request, ms (warm-up included); NaN when not measured. */
  cpuPerReq: number;
  lat: number[];
  sent: number;
  responses: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Cold start, excluded from the figures above: first request of each fresh connection, and the warm-up phase. */
  first: number[];
  warmLat: number[];
  warmSent: number;
  warmFailed: number;
}

/**
 * One load run by bench/support/loadgen.ts in its own process (so the load generator does not compete with
 * the server for this process's event loop): WARMUP s on freshly opened connections, then DURATION s measured
 * on the same connections. `bodies` are cycled through per request.
 */
async function load(url: string, connections: number, bodies: string[], pid?: number): Promise<Run> {
  const spec: LoadSpec = {
    url: `${url}/chat/completions`,
    connections,
    warmupSec: WARMUP,
    durationSec: DURATION,
    timeoutMs: 10_000,
    bodies,
  };
  const specFile = join(SPEC_DIR, "load.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const cpu0 = pid ? cpuMs(pid) : Number.NaN;
  const r = await new Promise<LoadResult>((res, rej) => {
    const p = spawn(process.execPath, ["--import", "tsx", "bench/support/loadgen.ts", specFile], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.on("exit", (code) => (code === 0 ? res(JSON.parse(out) as LoadResult) : rej(new Error(`loadgen: ${err}`))));
  });
  const m = r.measure;
  const w = r.warmup;
  return {
    rps: m.responses / m.seconds,
    cpuPerReq: (cpuMs(pid) - cpu0) / Math.max(1, m.responses + w.responses),
    lat: m.lat,
    sent: m.sent,
    responses: m.responses,
    errors: m.errors,
    timeouts: m.timeouts,
    non2xx: m.non2xx,
    first: r.first,
    warmLat: w.lat,
    warmSent: w.sent,
    warmFailed: w.errors + w.timeouts + w.non2xx,
  };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Summary {
  rps: number;
  cpuPerReq: number;
  p50: number;
  p99: number;
  p999: number;
  n: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  sent: number;
  /** Cold start (not in the figures above): first request per fresh connection, and all warm-up requests. */
  firstP50: number;
  firstMax: number;
  warmP999: number;
  warmMax: number;
  warmSent: number;
  warmFailed: number;
}

function summarise(runs: Run[]): Summary {
  const lat = runs.flatMap((r) => r.lat).sort((a, b) => a - b);
  const first = runs.flatMap((r) => r.first).sort((a, b) => a - b);
  const warm = runs.flatMap((r) => r.warmLat).sort((a, b) => a - b);
  return {
    rps: runs.reduce((a, r) => a + r.rps, 0) / runs.length,
    cpuPerReq: runs.reduce((a, r) => a + r.cpuPerReq, 0) / runs.length,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    p999: pct(lat, 99.9),
    n: lat.length,
    errors: runs.reduce((a, r) => a + r.errors, 0),
    timeouts: runs.reduce((a, r) => a + r.timeouts, 0),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    sent: runs.reduce((a, r) => a + r.sent, 0),
    firstP50: pct(first, 50),
    firstMax: first.length ? first[first.length - 1] : Number.NaN,
    warmP999: pct(warm, 99.9),
    warmMax: warm.length ? warm[warm.length - 1] : Number.NaN,
    warmSent: runs.reduce((a, r) => a + r.warmSent, 0),
    warmFailed: runs.reduce((a, r) => a + r.warmFailed, 0),
  };
}

const f = (v: number) => (Number.isNaN(v) ? "-" : v < 10 ? v.toFixed(3) : v.toFixed(1));
function row(cells: (string | number)[]): string {
  return cells.map((c, i) => (i < 3 ? String(c).padEnd(i === 0 ? 26 : 9) : String(c).padStart(9))).join(" ");
}
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

const COLD_HEADER = row([
  "run",
  "conns",
  "target",
  "1st p50",
  "1st max",
  "warm p99.9",
  "warm max",
  "warm sent",
  "warm fail",
]);
const coldLine = (name: string, c: number, target: string, s: Summary) =>
  row([name, c, target, f(s.firstP50), f(s.firstMax), f(s.warmP999), f(s.warmMax), s.warmSent, s.warmFailed]);

function chatBody(model: string, text: string, stream: boolean): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: text }], ...(stream ? { stream: true } : {}) });
}

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
  const dir = mkdtempSync(join(tmpdir(), "fusionkit-bench-gw-"));
  const db = join(dir, "store.db");
  process.stderr.write(`bench/gateway: importing the bundled LLMRouter data into ${db}\n`);
  await cli(["import", "data/llmrouter", "--db", db]);

  const upstream = await start(
    ["--import", "tsx", "test/serve/support/instant-upstream.ts", "--port", "0"],
    /listening (\S+)/,
  );
  const store = new Store(db);
  const texts = store
    .queries({ dataset: "llmrouter", split: "test" })
    .map((q) => q.text)
    .filter((t) => t.length < 1000);
  const specs: Record<string, string> = {
    "use-512 (default)": "use",
    hash: "hash",
    "openai-compatible HTTP": `openai:instant-embed@${upstream.url}`,
  };
  const artifacts: Record<string, string> = {};
  for (const [label, spec] of Object.entries(specs)) {
    process.stderr.write(`bench/gateway: training knn on the train split with embedder ${spec}\n`);
    const ts = await buildTrainingSet(store, { dataset: "llmrouter", split: "train", embedder: createEmbedder(spec) });
    const art = trainRouter("knn", ts, { embedder: ts.embedder });
    artifacts[label] = join(dir, `knn-${Object.keys(artifacts).length}.json`);
    saveRouter(art, artifacts[label]);
  }
  const models = store.models().map((m) => m.name);
  store.close();

  const providers = join(dir, "providers.yaml");
  const lines = [
    "providers:",
    "  - name: instant",
    `    baseUrl: ${upstream.url}`,
    "    maxConcurrency: 1024",
    "    timeoutMs: 10000",
    "models:",
  ];
  for (const m of models)
    lines.push(`  - { name: ${m}, provider: instant, upstreamId: ${m}, inputPrice: 0.2, outputPrice: 0.2 }`);
  writeFileSync(providers, `${lines.join("\n")}\n`);

  const gatewayArgs = (artifact: string, extra: string[] = []) => [
    "bin/fusionkit.js",
    "serve",
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
  const out: string[] = [
    `load average at start: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
    "",
    HEADER,
  ];
  const checks: string[] = [];
  const cold: string[] = [
    `cold start (excluded from the tables above): each run opens its connections at once and runs ${WARMUP} s of warm-up on them;`,
    "1st = first request of each fresh connection (TCP connect + wait in the accept queue + first response), warm = all warm-up requests",
    COLD_HEADER,
  ];
  let gw: Child;
  /** ROUNDS alternated runs straight to the upstream and through the gateway; prints and returns both. */
  const pair = async (name: string, c: number, dBodies: string[], gBodies: string[]) => {
    const dRuns: Run[] = [];
    const gRuns: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      dRuns.push(await load(direct, c, dBodies));
      gRuns.push(await load(`${gw.url}/v1`, c, gBodies, gw.proc.pid));
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

  gw = await start(gatewayArgs(artifacts["use-512 (default)"]), /listening on (\S+)/);
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
  gw = await start(gatewayArgs(artifacts["use-512 (default)"], ["--decision-cache", "0"]), /listening on (\S+)/);
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
    gw = await start(gatewayArgs(artifact, ["--embed-cache", "0", "--decision-cache", "0"]), /listening on (\S+)/);
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
    `load average at end: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  process.stdout.write(`\n${out.join("\n")}\n`);
}

await main();
