/**
 * What bench/gateway.ts and bench/gateway-scale.ts share: starting the instant upstream and gateway processes,
 * the store and router they serve (the bundled LLMRouter data, kNN), one load run by bench/support/loadgen.ts in
 * its own process, and the summaries and tables of those runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { distState } from "../../bin/dist-state.js";
import { Store } from "../../src/data/store.ts";
import { createEmbedder } from "../../src/embed/registry.ts";
import { saveRouter, trainRouter } from "../../src/routing/artifacts.ts";
import { buildTrainingSet } from "../../src/routing/dataset.ts";
import { numberArg } from "./args.ts";
import type { LoadResult, LoadSpec } from "./loadgen.ts";

export const REPO = resolve(import.meta.dirname, "../..");

/** The flags both gateway benches take: --duration and --warmup (s, per run) and --rounds. */
export function runFlags(): { load: LoadOptions; rounds: number } {
  return {
    load: { durationSec: numberArg("--duration", 3), warmupSec: numberArg("--warmup", 1) },
    rounds: numberArg("--rounds", 2),
  };
}

/** How `fusionkit serve` runs here: the compiled dist/, or the sources through tsx when dist/ is not current. */
export const gatewayBuild = () =>
  distState(REPO) === "current"
    ? "gateway: compiled dist/"
    : "gateway: sources through tsx (dist/ is not current with src/: `npm run build` for the compiled figures)";

export const loadAverage = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(" ");

export interface Child {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Spawn a Node process in the repository; resolves once its stdout matches `marker` (group 1: its URL). */
export function start(args: string[], marker: RegExp): Promise<Child> {
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

/** The instant OpenAI-protocol upstream (test/serve/support/instant-upstream.ts) in its own process. */
export const startUpstream = () =>
  start(["--import", "tsx", "test/serve/support/instant-upstream.ts", "--port", "0"], /listening (\S+)/);

/** `fusionkit serve …` in its own process (the compiled CLI when dist/ is current). */
export const startGateway = (args: string[]) => start(["bin/fusionkit.js", "serve", ...args], /listening on (\S+)/);

/** Run `fusionkit <args>` to completion. */
export function cli(args: string[]): Promise<void> {
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

export interface BenchSetup {
  dir: string;
  /** SQLite store holding the bundled LLMRouter data. */
  db: string;
  /** Test-split query texts under 1,000 characters. */
  texts: string[];
  /** Every model of the store (the router's candidates), each served by the instant upstream. */
  models: string[];
  /** Router artifact path per label, kNN trained on the train split with that embedder spec. */
  artifacts: Record<string, string>;
  /** Providers file sending every model to `upstreamUrl`. */
  providers: string;
}

/**
 * Import the bundled LLMRouter data into a fresh SQLite store, train kNN on its train split once per embedder
 * spec (label → spec), and write a providers file serving every model from the instant upstream.
 */
export async function prepare(
  bench: string,
  upstreamUrl: string,
  embedders: Record<string, string>,
): Promise<BenchSetup> {
  const dir = mkdtempSync(join(tmpdir(), `fusionkit-${bench.replaceAll("/", "-")}-`));
  const db = join(dir, "store.db");
  process.stderr.write(`${bench}: importing the bundled LLMRouter data into ${db}\n`);
  await cli(["import", "data/llmrouter", "--db", db]);
  const store = new Store(db);
  const texts = store
    .queries({ dataset: "llmrouter", split: "test" })
    .map((q) => q.text)
    .filter((t) => t.length < 1000);
  const artifacts: Record<string, string> = {};
  for (const [label, spec] of Object.entries(embedders)) {
    process.stderr.write(`${bench}: training knn on the train split with embedder ${spec}\n`);
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
    `    baseUrl: ${upstreamUrl}`,
    "    maxConcurrency: 1024",
    "    timeoutMs: 10000",
    "models:",
  ];
  for (const m of models)
    lines.push(`  - { name: ${m}, provider: instant, upstreamId: ${m}, inputPrice: 0.2, outputPrice: 0.2 }`);
  writeFileSync(providers, `${lines.join("\n")}\n`);
  return { dir, db, texts, models, artifacts, providers };
}

/**
 * User + system CPU in ms of a process and its live descendants (a `--workers` gateway's worker processes;
 * Linux /proc, clock ticks of 10 ms), or NaN elsewhere.
 */
export function cpuMs(pid: number | undefined): number {
  try {
    let ms = ownCpuMs(pid);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    for (const child of children ? children.split(" ") : []) {
      const c = cpuMs(Number(child));
      if (!Number.isNaN(c)) ms += c;
    }
    return ms;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU in ms of one process alone (NaN when it cannot be read). */
export function ownCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

export interface Run {
  rps: number;
  /** CPU the measured process (the gateway, with its workers) spent per answered request, ms (warm-up included); NaN when not measured. */
  cpuPerReq: number;
  /** The same for the measured process alone (with `--workers`: the primary, without its workers). */
  mainCpuPerReq: number;
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

export interface LoadOptions {
  warmupSec: number;
  durationSec: number;
}

const SPEC_DIR = mkdtempSync(join(tmpdir(), "fusionkit-bench-load-"));

/**
 * One load run by bench/support/loadgen.ts in its own process (so the load generator does not compete with
 * the server for this process's event loop): warm-up on freshly opened connections, then the measured
 * duration on the same connections. `bodies` are cycled through per request. `pid`: the process whose CPU
 * per request (its descendants' included) is reported.
 */
export async function load(
  url: string,
  connections: number,
  bodies: string[],
  o: LoadOptions,
  pid?: number,
): Promise<Run> {
  const spec: LoadSpec = {
    url: `${url}/chat/completions`,
    connections,
    warmupSec: o.warmupSec,
    durationSec: o.durationSec,
    timeoutMs: 10_000,
    bodies,
  };
  const specFile = join(SPEC_DIR, "load.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const cpu0 = pid ? cpuMs(pid) : Number.NaN;
  const main0 = pid ? ownCpuMs(pid) : Number.NaN;
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
    mainCpuPerReq: (ownCpuMs(pid) - main0) / Math.max(1, m.responses + w.responses),
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

export interface Summary {
  rps: number;
  cpuPerReq: number;
  mainCpuPerReq: number;
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

/** Several runs of one setting pooled: mean req/s, percentiles over every latency. */
export function summarise(runs: Run[]): Summary {
  const lat = runs.flatMap((r) => r.lat).sort((a, b) => a - b);
  const first = runs.flatMap((r) => r.first).sort((a, b) => a - b);
  const warm = runs.flatMap((r) => r.warmLat).sort((a, b) => a - b);
  return {
    rps: runs.reduce((a, r) => a + r.rps, 0) / runs.length,
    cpuPerReq: runs.reduce((a, r) => a + r.cpuPerReq, 0) / runs.length,
    mainCpuPerReq: runs.reduce((a, r) => a + r.mainCpuPerReq, 0) / runs.length,
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

/** Milliseconds for a table cell: three decimals under 10, one above; "-" for NaN. */
export const f = (v: number) => (Number.isNaN(v) ? "-" : v < 10 ? v.toFixed(3) : v.toFixed(1));

/** A table row: the first three cells left-aligned (the first wider), the rest right-aligned. */
export function row(cells: (string | number)[], firstWidth = 26): string {
  return cells.map((c, i) => (i < 3 ? String(c).padEnd(i === 0 ? firstWidth : 9) : String(c).padStart(9))).join(" ");
}

export const COLD_COLUMNS = ["1st p50", "1st max", "warm p99.9", "warm max", "warm sent", "warm fail"];

/** Cold-start cells of a summary, in COLD_COLUMNS order. */
export const coldCells = (s: Summary) => [
  f(s.firstP50),
  f(s.firstMax),
  f(s.warmP999),
  f(s.warmMax),
  s.warmSent,
  s.warmFailed,
];

export function chatBody(model: string, text: string, stream: boolean): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: text }], ...(stream ? { stream: true } : {}) });
}
