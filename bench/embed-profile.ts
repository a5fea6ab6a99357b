/**
 * Where the USE encoder's time goes, in one thread: TensorFlow.js' per-kernel profile (tf.profile) over
 * the length-sorted batches of a sample of LLMRouter queries, grouped by kind, with TensorFlow.js' own
 * kernels and with the stand-ins of use-kernels.ts (alternating rounds), and the cost of one model call
 * on a one-token text (the graph's fixed cost per call).
 *
 *   node --import tsx bench/embed-profile.ts [--sample 300] [--rounds 2]
 *
 * Kernel times are wall times measured around each kernel: on a busy machine they include time spent
 * waiting for a core, so read the shares, and CPU time for totals.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { prepareForUse, USE_MAX_CHARS } from "../src/embed/use.ts";
import { withBackendKernels } from "../src/embed/use-kernels.ts";
import { embedUseBatch, loadUseModel, useBatches } from "../src/embed/use-model.ts";
import { numberArg } from "./support/args.ts";
import { loadLine } from "./support/cpu-share.ts";

const SAMPLE = numberArg("--sample", 300);
const ROUNDS = numberArg("--rounds", 2);
const REPO = new URL("..", import.meta.url).pathname;

interface KernelRecord {
  name: string;
  kernelTimeMs: number | { error: string };
  inputShapes: number[][];
}
const tf = createRequire(import.meta.url)("@energetic-ai/core") as {
  profile(f: () => Promise<unknown>): Promise<{ kernels: KernelRecord[] }>;
};

const all = (
  JSON.parse(readFileSync(`${REPO}data/llmrouter/dcrouter_preprocessed/train.json`, "utf8")) as { question: string }[]
).map((x) => prepareForUse(x.question, USE_MAX_CHARS));
const step = Math.max(1, Math.floor(all.length / SAMPLE));
const texts = all.filter((_, i) => i % step === 0).slice(0, SAMPLE);
const batches = useBatches(texts).map((b) => b.map((i) => texts[i]));
const avg = Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length);
process.stdout.write(
  `bench/embed-profile: ${texts.length} LLMRouter train queries (avg ${avg} chars) in ${batches.length} batches; ${loadLine()}\n`,
);

await loadUseModel();
for (const b of batches.slice(0, 3)) {
  await embedUseBatch(b);
  await withBackendKernels(() => embedUseBatch(b));
}

/** A kernel's kind: batched products (attention) apart from 2-D ones (XNNPACK). */
function kind(k: KernelRecord): string {
  if (k.name !== "BatchMatMul") return k.name;
  return k.inputShapes.some((s) => s.length > 2) ? "BatchMatMul, batched" : "BatchMatMul, 2-D (XNNPACK)";
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function profileAll(): Promise<{ wall: number; cpu: number; kernels: Map<string, number> }> {
  const kernels = new Map<string, number>();
  const c0 = cpuMs();
  const t0 = performance.now();
  for (const b of batches) {
    const p = await tf.profile(() => embedUseBatch(b));
    for (const k of p.kernels)
      if (typeof k.kernelTimeMs === "number") kernels.set(kind(k), (kernels.get(kind(k)) ?? 0) + k.kernelTimeMs);
  }
  return { wall: performance.now() - t0, cpu: cpuMs() - c0, kernels };
}

const variants: Array<[string, () => Promise<Awaited<ReturnType<typeof profileAll>>>]> = [
  ["TensorFlow.js' own kernels", () => withBackendKernels(profileAll)],
  ["stand-in kernels", profileAll],
];
const sums = variants.map(() => ({ wall: 0, cpu: 0, kernels: new Map<string, number>() }));
for (let r = 0; r < ROUNDS; r++)
  for (const [v, [, run]] of variants.entries()) {
    const p = await run();
    sums[v].wall += p.wall;
    sums[v].cpu += p.cpu;
    for (const [k, ms] of p.kernels) sums[v].kernels.set(k, (sums[v].kernels.get(k) ?? 0) + ms);
  }

const n = texts.length * ROUNDS;
const order = [...sums[0].kernels].sort((a, b) => b[1] - a[1]).map(([k]) => k);
process.stdout.write(
  `\nper text, over ${ROUNDS} alternating rounds   ${variants.map(([l]) => l.padStart(30)).join("")}\n`,
);
const row = (label: string, cells: string[]) =>
  process.stdout.write(`  ${label.padEnd(38)}${cells.map((c) => c.padStart(30)).join("")}\n`);
row(
  "CPU ms (whole process)",
  sums.map((s) => (s.cpu / n).toFixed(1)),
);
row(
  "wall ms",
  sums.map((s) => (s.wall / n).toFixed(1)),
);
const kernelTotal = sums.map((s) => [...s.kernels.values()].reduce((a, b) => a + b, 0));
row(
  "kernel ms (wall inside kernels)",
  kernelTotal.map((t) => (t / n).toFixed(1)),
);
row(
  "outside kernels (graph, JS), ms",
  sums.map(
    (s, v) =>
      `${((s.wall - kernelTotal[v]) / n).toFixed(1)} (${((100 * (s.wall - kernelTotal[v])) / s.wall).toFixed(0)}%)`,
  ),
);
for (const k of order.slice(0, 8))
  row(
    `  ${k}`,
    sums.map((s) => {
      const ms = s.kernels.get(k) ?? 0;
      return `${(ms / n).toFixed(2)} (${((100 * ms) / s.wall).toFixed(0)}%)`;
    }),
  );
process.stdout.write(
  `  CPU per text, stand-ins vs own: ×${(sums[0].cpu / sums[1].cpu).toFixed(2)} less; ${loadLine()}\n`,
);

// The fixed cost of a model call: a one-token text, nearly no arithmetic.
const calls = 50;
const c0 = cpuMs();
for (let i = 0; i < calls; i++) await embedUseBatch(["hi"]);
const perCall = (cpuMs() - c0) / calls;
const p = await tf.profile(() => embedUseBatch(["hi"]));
process.stdout.write(
  `\none model call on a one-token text: ${perCall.toFixed(1)} CPU ms, ${p.kernels.length} kernels; ` +
    `${batches.length} calls for these ${texts.length} texts: ~${((batches.length * perCall) / texts.length).toFixed(1)} ms per text\n`,
);
