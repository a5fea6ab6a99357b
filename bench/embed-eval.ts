/**
 * The embedding part of a `fusionkit eval` over ~17.7k queries: the USE encoder as it ran before (one
 * thread — 15 of that evaluation's 18 minutes) against the encoder as `fusionkit eval` runs it now (worker
 * threads on every core), in the same run.
 *
 *   node --import tsx bench/embed-eval.ts [--sample 600] [--rounds 3] [--data /work/shared/data] [--quiet-wait SECONDS]
 *
 * Texts: the distinct query texts of the routing data sets at hand (LLMRouter, RouteProfile, NQ, RouteLLM
 * MMLU and GSM8K, read by FusionKit's importers; the bundled LLMRouter and RouteProfile copies when `--data`
 * is missing), a seeded uniform sample of them. Both encoders run behind the store's embedding cache
 * (CachedEmbedder, as eval's training-set builder calls it) on a fresh temporary store each round, with
 * no bundled vectors, so nothing is answered from a cache. "before" is @energetic-ai/embeddings' own
 * embed() on the same length-sorted batches, in this thread; the bench checks both give the same vectors.
 * Rounds alternate before/now (the machine is shared); per round texts/s and the CPU shares of this
 * process and of the rest of the machine; medians; the time projected for 17,700 queries (start-up and
 * model load included).
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
import { type CpuShare, loadLine, measureCpuShare, median, waitForQuiet } from "./support/cpu-share.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const SAMPLE = Number(arg("sample", "600"));
const ROUNDS = Number(arg("rounds", "3"));
const DATA = arg("data", "/work/shared/data");
/** Before each round wait up to this many seconds for the rest of the machine to go quiet (0: do not). */
const QUIET_WAIT_S = Number(arg("quiet-wait", "0"));
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
const before = new LibraryUse();
const now = new UseEmbedder();
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
const startBefore = await measureCpuShare(() => before.embed(warm));
const startNow = await measureCpuShare(() => now.embed(warm));
process.stdout.write(
  `start-up + first 64 texts: before ${(startBefore.wallMs / 1000).toFixed(1)} s, now (${threads} worker threads) ${(startNow.wallMs / 1000).toFixed(1)} s\n` +
    "round   before (1 thread): texts/s cores others   now: texts/s cores others   now/before\n",
);

const fmt = (s: CpuShare) =>
  `${(texts.length / (s.wallMs / 1000)).toFixed(1).padStart(7)} ${s.cores.toFixed(2).padStart(5)} ${s.others === null ? "   n/a" : s.others.toFixed(2).padStart(6)}`;
const rates = { before: [] as number[], now: [] as number[] };
let worst = 0;
for (let r = 0; r < ROUNDS; r++) {
  if (QUIET_WAIT_S > 0) {
    const q = await waitForQuiet(QUIET_WAIT_S * 1000);
    process.stdout.write(`  (${q.quiet ? "quiet" : "still busy"} after waiting ${(q.waitedMs / 1000).toFixed(0)} s)\n`);
  }
  const b = await pass(before, "embedding (before)");
  const n = await pass(now, "embedding (now)");
  rates.before.push(texts.length / (b.share.wallMs / 1000));
  rates.now.push(texts.length / (n.share.wallMs / 1000));
  for (let i = 0; i < texts.length; i++)
    for (let k = 0; k < USE_DIM; k++) worst = Math.max(worst, Math.abs(b.vectors[i][k] - n.vectors[i][k]));
  process.stdout.write(
    `  ${String(r + 1).padStart(3)}              ${fmt(b.share)}        ${fmt(n.share)}   ×${(b.share.wallMs / n.share.wallMs).toFixed(2)}\n`,
  );
}
const rb = median(rates.before);
const rn = median(rates.now);
const projected = (start: CpuShare, rate: number) => start.wallMs / 1000 + (PROJECT - warm.length) / rate;
const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
const pb = projected(startBefore, rb);
const pn = projected(startNow, rn);
process.stdout.write(
  `median texts/s: before ${rb.toFixed(1)}, now ${rn.toFixed(1)} (×${(rn / rb).toFixed(2)}); largest difference between their vectors ${worst}\n` +
    `projected embedding time for ${PROJECT.toLocaleString("en")} queries: before ${minutes(pb)}, now ${minutes(pn)} ` +
    `(${((100 * pn) / pb).toFixed(0)}% of before; target < 50%); ${loadLine()}\n`,
);
