/**
 * The embedding part of a `fusionkit eval` over ~17.7k queries: the USE encoder as it ran before (one
 * thread — 15 of that evaluation's 18 minutes) against the encoder as `fusionkit eval` runs it now (worker
 * threads on every core), in the same run.
 *
 *   node --import tsx bench/embed-eval.ts [--sample 300] [--rounds 3] [--data /work/shared/data] [--quiet-wait SECONDS]
 *
 * Texts: the distinct query texts of the routing data sets at hand (LLMRouter, RouteProfile, NQ, RouteLLM
 * MMLU and GSM8K, read by FusionKit's importers; the bundled LLMRouter and RouteProfile copies when `--data`
 * is missing), a seeded uniform sample of them. Both encoders run behind the store's embedding cache
 * (CachedEmbedder, as eval's training-set builder calls it) on a fresh temporary store each round, with
 * no bundled vectors, so nothing is answered from a cache. "before" is @energetic-ai/embeddings' own
 * embed() on the same length-sorted batches, in this thread; "now" runs once in one thread and once on
 * every core; the bench checks all give the same vectors. Rounds alternate (the machine is shared); per
 * round texts/s, the CPU shares of this process and of the rest of the machine, and CPU ms per text;
 * medians; the time projected for 17,700 queries as measured (start-up and model load included) and,
 * from CPU time per text, with the cores free.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { importerByName } from "../src/data/importers/index.ts";
import { Store } from "../src/data/store.ts";
import { CachedEmbedder } from "../src/embed/cache.ts";
import type { Embedder } from "../src/embed/embedder.ts";
import { defaultEmbedThreads, UseEmbedder } from "../src/embed/use.ts";
import { USE_DIM } from "../src/embed/use-model.ts";
import { Rng } from "../src/util/prng.ts";
import { tempDir } from "../test/helpers.ts";
import { LibraryUse } from "../test/support/library-use.ts";
import { numberArg, stringArg } from "./support/args.ts";
import { type CpuShare, loadLine, measureCpuShare, median, waitForQuiet } from "./support/cpu-share.ts";

const SAMPLE = numberArg("--sample", 300);
const ROUNDS = numberArg("--rounds", 3);
const DATA = stringArg("--data", "/work/shared/data");
/** Before each round wait up to this many seconds for the rest of the machine to go quiet (0: do not). */
const QUIET_WAIT_S = numberArg("--quiet-wait", 0);
const PROJECT = 17_700;
const REPO = new URL("..", import.meta.url).pathname;

const sources: Array<[format: string, path: string]> = existsSync(DATA)
  ? [
      ["llmrouter", join(DATA, "llmrouter")],
      ["routeprofile", join(DATA, "routeprofile")],
      ["llmrouter-nq", join(DATA, "llmrouter-nq")],
      ["routellm", join(DATA, "routellm/mmlu")],
      ["routellm", join(DATA, "routellm/gsm8k")],
    ]
  : [
      ["llmrouter", join(REPO, "data/llmrouter")],
      ["routeprofile", join(REPO, "data/routeprofile")],
    ];
const all = new Set<string>();
const perSource: string[] = [];
for (const [format, path] of sources) {
  const batch = await importerByName(format).parse(path, {});
  for (const q of batch.queries) all.add(q.text);
  perSource.push(`${path.slice(path.lastIndexOf("/", path.length - 1) + 1)} ${batch.queries.length}`);
}
const texts = new Rng(11).shuffle([...all]).slice(0, SAMPLE);
const avgLen = Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length);
process.stdout.write(
  `bench/embed-eval: ${texts.length} of ${all.size} distinct query texts (${perSource.join(", ")}), avg ${avgLen} chars; ` +
    `${ROUNDS} alternating rounds; ${loadLine()}\n`,
);

const threads = defaultEmbedThreads();
const encoders: Array<{ label: string; e: Embedder }> = [
  { label: "before, 1 thread", e: new LibraryUse() },
  { label: "now, 1 thread", e: new UseEmbedder(undefined, { threads: 1 }) },
  { label: `now, ${threads} threads`, e: new UseEmbedder(undefined, { threads }) },
];
const dir = tempDir();
let stores = 0;
/** One pass over the sample through a fresh store's cache (nothing cached, no bundled vectors). */
async function pass(e: Embedder, label: string): Promise<{ share: CpuShare; vectors: Float32Array[] }> {
  const store = new Store(join(dir, `s${stores++}.db`));
  const cachedE = new CachedEmbedder(e, store, { seedBundled: false, label });
  let vectors: Float32Array[] = [];
  const share = await measureCpuShare(async () => {
    vectors = await cachedE.embed(texts);
  });
  if (cachedE.embedded !== new Set(texts).size) throw new Error(`${label}: expected every text embedded`);
  store.close();
  return { share, vectors };
}

// Start-up: model load (and for the pool, worker threads) plus a first call of 64 texts, as the first
// chunk of an evaluation pays it.
const warm = texts.slice(0, 64);
const start: CpuShare[] = [];
for (const { e } of encoders) start.push(await measureCpuShare(() => e.embed(warm)));
process.stdout.write(
  `start-up + first 64 texts: ${encoders.map(({ label }, k) => `${label} ${(start[k].wallMs / 1000).toFixed(1)} s`).join(", ")}\n` +
    "cores = CPU time of this process / wall time; others = CPU time of the rest of the machine / wall time\n" +
    `round ${encoders.map(({ label }) => `${label}: texts/s cores others cpu-ms/text`.padStart(52)).join("")}   now/before\n`,
);

const fmt = (s: CpuShare) =>
  `${(texts.length / (s.wallMs / 1000)).toFixed(1).padStart(7)} ${s.cores.toFixed(2).padStart(5)} ${s.others === null ? "   n/a" : s.others.toFixed(2).padStart(6)} ${(s.cpuMs / texts.length).toFixed(1).padStart(11)}`;
const rates = encoders.map(() => [] as number[]);
const cpuPerText = encoders.map(() => [] as number[]);
let worst = 0;
for (let r = 0; r < ROUNDS; r++) {
  if (QUIET_WAIT_S > 0) {
    const q = await waitForQuiet(QUIET_WAIT_S * 1000);
    process.stdout.write(`  (${q.quiet ? "quiet" : "still busy"} after waiting ${(q.waitedMs / 1000).toFixed(0)} s)\n`);
  }
  const runs: Array<{ share: CpuShare; vectors: Float32Array[] }> = [];
  for (const { e, label } of encoders) runs.push(await pass(e, `embedding (${label})`));
  runs.forEach((run, k) => {
    rates[k].push(texts.length / (run.share.wallMs / 1000));
    cpuPerText[k].push(run.share.cpuMs / texts.length);
    for (let i = 0; i < texts.length; i++)
      for (let d = 0; d < USE_DIM; d++) worst = Math.max(worst, Math.abs(runs[0].vectors[i][d] - run.vectors[i][d]));
  });
  const last = runs[runs.length - 1];
  process.stdout.write(
    `${String(r + 1).padStart(5)} ${runs.map((run) => fmt(run.share).padStart(52)).join("")}   ×${(runs[0].share.wallMs / last.share.wallMs).toFixed(2)}\n`,
  );
}
const rate = rates.map(median);
const cpu = cpuPerText.map(median);
const pooled = encoders.length - 1;
const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
// As measured: start-up, then the rest at the median rate of this run.
const asRun = (k: number) => start[k].wallMs / 1000 + (PROJECT - warm.length) / rate[k];
// With the cores free: CPU time per text spread over the threads (start-up left out).
const free = (k: number, cores: number) => (PROJECT * cpu[k]) / 1000 / cores;
process.stdout.write(
  `median texts/s: ${encoders.map(({ label }, k) => `${label} ${rate[k].toFixed(1)}`).join(", ")}; now (${threads} threads) vs before ×${(rate[pooled] / rate[0]).toFixed(2)}\n` +
    `median CPU ms per text: ${encoders.map(({ label }, k) => `${label} ${cpu[k].toFixed(1)}`).join(", ")} ` +
    `(one thread: before/now ×${(cpu[0] / cpu[1]).toFixed(2)}; ${threads} threads vs 1 ×${(cpu[pooled] / cpu[1]).toFixed(2)} CPU per text)\n` +
    `largest difference between the vectors of before and now: ${worst}\n` +
    `projected embedding time for ${PROJECT.toLocaleString("en")} queries on this machine as it was: before ${minutes(asRun(0))}, now ${minutes(asRun(pooled))} ` +
    `(${((100 * asRun(pooled)) / asRun(0)).toFixed(0)}% of before; target < 50%)\n` +
    `  with the cores free (CPU time per text / cores, start-up left out): before ${minutes(free(0, 1))}, now ${minutes(free(pooled, threads))} ` +
    `(${((100 * free(pooled, threads)) / free(0, 1)).toFixed(0)}%); ${loadLine()}\n`,
);
