/**
 * Gateway overhead benchmark: req/s and latency p50/p99/p99.9 straight to an instant upstream and through
 * `fusionkit serve`, at 1, 50 and 200 connections, plain and streamed, runs alternated direct / gateway
 * (the machine is shared and noisy, so each pair is measured back to back and repeated).
 *
 * Everything runs on loopback in separate processes: the upstream (test/serve/support/instant-upstream.ts,
 * a minimal OpenAI-protocol server answering at once), the gateway (`node bin/fusionkit.js serve`), and this
 * process generating load with autocannon. Latency is taken per response from autocannon's `response`
 * events (float milliseconds; its own histogram rounds to whole ms).
 *
 * Gateway configuration: the default router (kNN over the default embedder, use-512) trained on the
 * bundled LLMRouter train split, `fusionkit/auto`, a repeated query (its embedding and the router's
 * prediction are cached; knob, filters and fallback order still run per request), client key auth off on
 * loopback, full exchange logging. Then the same with the router run on every request (cached embedding,
 * `--decision-cache 0`), and once per embedder (use-512, hash, openai-compatible HTTP) with embedding and
 * router computed on every request and a different query each time.
 *
 *   node --import tsx bench/gateway.ts [--duration 3] [--rounds 2]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { saveRouter, trainRouter } from "../src/routing/artifacts.ts";
import { buildTrainingSet } from "../src/routing/dataset.ts";

const REPO = resolve(import.meta.dirname, "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg("--duration", 3);
const ROUNDS = arg("--rounds", 2);
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
  /** CPU the measured process (the gateway) spent per answered request, ms; NaN when not measured. */
  cpuPerReq: number;
  lat: number[];
  sent: number;
  responses: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** One autocannon run; `bodies` are cycled through per request. */
async function load(url: string, connections: number, bodies: string[], pid?: number): Promise<Run> {
  const cpu0 = pid ? cpuMs(pid) : Number.NaN;
  const lat: number[] = [];
  let k = 0;
  let inst!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((res, rej) => {
    inst = autocannon(
      {
        url: `${url}/chat/completions`,
        connections,
        duration: DURATION,
        timeout: 10,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            setupRequest: (req) => ({ ...req, body: bodies[k++ % bodies.length] }),
          },
        ],
      },
      (err, result) => (err ? rej(err) : res(result)),
    );
  });
  inst.on("response", (_c, status, _bytes, ms) => {
    if (status === 200) lat.push(ms);
  });
  const r = await done;
  return {
    rps: r.requests.total / (r.duration || DURATION),
    cpuPerReq: (cpuMs(pid) - cpu0) / Math.max(1, r.requests.total),
    lat,
    sent: r.requests.sent,
    responses: r.requests.total,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
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
}

function summarise(runs: Run[]): Summary {
  const lat = runs.flatMap((r) => r.lat).sort((a, b) => a - b);
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
  };
}

const f = (v: number) => (Number.isNaN(v) ? "-" : v < 10 ? v.toFixed(3) : v.toFixed(1));
function row(cells: (string | number)[]): string {
  return cells.map((c, i) => (i < 3 ? String(c).padEnd(i === 0 ? 22 : 9) : String(c).padStart(9))).join(" ");
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
  let gw = await start(gatewayArgs(artifacts["use-512 (default)"]), /listening on (\S+)/);
  let gwSent = 0;
  let logged = 0;
  const gwResults = new Map<string, { d: Summary; g: Summary }>();

  for (const stream of [false, true]) {
    for (const c of CONNECTIONS) {
      const name = `${stream ? "stream" : "plain"}, cached embedding`;
      const dBody = [chatBody(models[0], query, stream)];
      const gBody = [chatBody("fusionkit/auto", query, stream)];
      gwSent += (await load(`${gw.url}/v1`, Math.min(c, 10), gBody)).sent; // warm-up (JIT, pools), not in the figures
      const dRuns: Run[] = [];
      const gRuns: Run[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        dRuns.push(await load(direct, c, dBody));
        gRuns.push(await load(`${gw.url}/v1`, c, gBody, gw.proc.pid));
      }
      const d = summarise(dRuns);
      const g = summarise(gRuns);
      gwSent += g.sent;
      gwResults.set(`${stream}-${c}`, { d, g });
      out.push(line(name, c, "direct", d), line(name, c, "gateway", g));
      out.push(
        row(["", c, "added", "", `+${f(g.p50 - d.p50)}`, `+${f(g.p99 - d.p99)}`, `+${f(g.p999 - d.p999)}`, "", "", ""]),
      );
      process.stderr.write(`${out.slice(-3).join("\n")}\n`);
    }
  }
  await gw.stop();
  logged = countExchanges(db);

  out.push("", "router run on every request (--decision-cache 0), cached embedding of the repeated query:", HEADER);
  gw = await start(gatewayArgs(artifacts["use-512 (default)"], ["--decision-cache", "0"]), /listening on (\S+)/);
  for (const c of CONNECTIONS) {
    const name = "plain, router each request";
    await load(`${gw.url}/v1`, Math.min(c, 10), [chatBody("fusionkit/auto", query, false)]);
    const dRuns: Run[] = [];
    const gRuns: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      dRuns.push(await load(direct, c, [chatBody(models[0], query, false)]));
      gRuns.push(await load(`${gw.url}/v1`, c, [chatBody("fusionkit/auto", query, false)], gw.proc.pid));
    }
    const d = summarise(dRuns);
    const g = summarise(gRuns);
    out.push(line(name, c, "direct", d), line(name, c, "gateway", g));
    out.push(
      row(["", c, "added", "", `+${f(g.p50 - d.p50)}`, `+${f(g.p99 - d.p99)}`, `+${f(g.p999 - d.p999)}`, "", "", ""]),
    );
    process.stderr.write(`${out.slice(-3).join("\n")}\n`);
  }
  await gw.stop();

  out.push(
    "",
    "embedding and router computed on every request (--embed-cache 0 --decision-cache 0), a different query each request:",
    HEADER,
  );
  const varied = (model: string) => texts.slice(0, 2000).map((t) => chatBody(model, t, false));
  for (const [label, artifact] of Object.entries(artifacts)) {
    gw = await start(gatewayArgs(artifact, ["--embed-cache", "0", "--decision-cache", "0"]), /listening on (\S+)/);
    for (const c of [1, 50]) {
      await load(`${gw.url}/v1`, Math.min(c, 10), varied("fusionkit/auto").slice(0, 50));
      const dRuns: Run[] = [];
      const gRuns: Run[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        dRuns.push(await load(direct, c, varied(models[0])));
        gRuns.push(await load(`${gw.url}/v1`, c, varied("fusionkit/auto"), gw.proc.pid));
      }
      const d = summarise(dRuns);
      const g = summarise(gRuns);
      out.push(line(label, c, "direct", d), line(label, c, "gateway", g));
      out.push(
        row(["", c, "added", "", `+${f(g.p50 - d.p50)}`, `+${f(g.p99 - d.p99)}`, `+${f(g.p999 - d.p999)}`, "", "", ""]),
      );
      process.stderr.write(`${out.slice(-3).join("\n")}\n`);
    }
    await gw.stop();
  }
  await upstream.stop();

  // Exchanges logged vs requests sent to the gateway in the cached-embedding phase (warm-ups included).
  const first = gwResults.get("false-1") as { d: Summary; g: Summary };
  const plain200 = gwResults.get("false-200") as { d: Summary; g: Summary };
  const stream200 = gwResults.get("true-200") as { d: Summary; g: Summary };
  const best = Math.max(...[...gwResults.values()].map((v) => v.g.rps));
  checks.push(
    `added latency at 1 connection (plain): p50 +${f(first.g.p50 - first.d.p50)} ms (target ≤ 1), p99 +${f(first.g.p99 - first.d.p99)} ms (target ≤ 3)`,
    `best gateway throughput: ${best.toFixed(0)} req/s (target ≥ 1,200)`,
    `200 connections, plain: ${plain200.g.errors} errors, ${plain200.g.timeouts} timeouts, ${plain200.g.non2xx} non-2xx, p99.9 ${f(plain200.g.p999)} ms (target 0 / 0 / < 1000)`,
    `200 connections, stream: ${stream200.g.errors} errors, ${stream200.g.timeouts} timeouts, ${stream200.g.non2xx} non-2xx, p99.9 ${f(stream200.g.p999)} ms (target 0 / 0 / < 1000)`,
    `exchanges logged in the cached-embedding phase: ${logged} for ${gwSent} requests sent (target: equal)`,
  );
  out.push(
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
