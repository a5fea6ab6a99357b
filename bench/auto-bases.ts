/**
 * Should `auto` stack one more base router? Cross-validates `auto` with its default bases against `auto` with
 * the extra base(s) added, in the same run on the same folds (the path `fusionkit eval --cv` takes), and
 * prints for each: CV mean ± sd over folds per scenario, the one test-split score (reported, never used to
 * decide), the variant's paired per-fold gain over the default (mean ± standard error), APGR and CPT(50%) on
 * two-model data, and the wall-clock fit time of every outer fold and of the fit on the whole train split, with
 * the ratio of fit times (with ÷ without) measured in this run.
 *
 *   node --import tsx bench/auto-bases.ts --db store.db --dataset llmrouter [--embedder use] [--extra graph]
 *        [--cv 5] [--json out.json]
 *
 * The store must hold the dataset with its train/test split (README, "Cross-validation and the default router
 * `auto`", lists the imports and splits).
 */

import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Store } from "../src/data/store.ts";
import { createEmbedder } from "../src/embed/registry.ts";
import { DEFAULT_CV_SEED, type Spread } from "../src/eval/cv.ts";
import { runEvaluation } from "../src/eval/run.ts";
import { AUTO_DEFAULT_BASES, pairedDifference } from "../src/routing/auto.ts";
import { createRouter } from "../src/routing/registry.ts";
import { flagArg, stringArg } from "./support/args.ts";

/** A flag's value, its default, or an error naming the flag when it has neither. */
function arg(name: string, fallback?: string): string {
  const v = stringArg(`--${name}`) ?? fallback;
  if (v === undefined) throw new Error(`bench/auto-bases.ts: --${name} is required`);
  return v;
}

const dbPath = arg("db");
const dataset = arg("dataset");
const embedder = createEmbedder(arg("embedder", "use"));
const extra = arg("extra", "graph")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const folds = Number(arg("cv", "5"));
const jsonOut = flagArg("--json") ? arg("json") : undefined;

const DEFAULT = "auto";
const WITH = `auto+${extra.join("+")}`;
const variants: Record<string, string[]> = { [DEFAULT]: AUTO_DEFAULT_BASES, [WITH]: [...AUTO_DEFAULT_BASES, ...extra] };

const store = new Store(dbPath);
const load0 = loadavg()[0];
const t0 = performance.now();
const run = await runEvaluation({
  store,
  dataset,
  split: "test",
  embedder,
  routers: Object.keys(variants),
  create: (name) => createRouter("auto", { bases: variants[name] }),
  scenarios: ["performance-first", "balance", "cost-first"],
  cv: { folds, seed: DEFAULT_CV_SEED },
  log: (line) => process.stderr.write(`${line}\n`),
});
const wall = (performance.now() - t0) / 1000;
store.close();

const cv = run.cv;
if (!cv) throw new Error("no cross-validation result");
const f3 = (x: number) => x.toFixed(3);
process.stdout.write(
  `${dataset}: ${run.trainQueries} train / ${run.queries} test queries, embedder ${embedder.name}, ${folds}-fold CV (seed ${DEFAULT_CV_SEED}); wall ${wall.toFixed(0)} s, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}\n`,
);
/** Mean ± standard error of the per-fold difference a − b, and that mean in standard errors. */
function gain(a: Spread, b: Spread): string {
  const d = pairedDifference(
    Float64Array.from(a.folds),
    Float64Array.from(b.folds),
    a.folds.map((_, i) => i),
  );
  if (d.n > 0 && d.mean === 0 && d.se === 0) return `0 (equal on all ${d.n} folds)`;
  return `${d.mean >= 0 ? "+" : ""}${d.mean.toFixed(4)} ± ${d.se.toFixed(4)} (${(d.mean / d.se).toFixed(1)} SE, ${d.n} folds)`;
}
const fit: Record<string, { folds: number[]; full: number }> = {};
for (const name of Object.keys(variants)) {
  process.stdout.write(`  ${name} (bases ${variants[name]?.join(", ")})\n`);
  for (const r of cv.routers.filter((x) => x.name === name)) {
    const test = run.routers.find((x) => x.name === name && x.scenario === r.scenario);
    const figure = r.scenario === "performance-first" ? r.performance : r.reward;
    process.stdout.write(
      `    ${r.scenario.padEnd(17)} ${r.scenario === "performance-first" ? "perf  " : "reward"} CV ${f3(figure.mean)} ± ${f3(figure.sd)} [${figure.folds.map(f3).join(" ")}] / test ${f3((r.scenario === "performance-first" ? test?.performance : test?.reward) ?? Number.NaN)}\n`,
    );
    const ref = cv.routers.find((x) => x.name === DEFAULT && x.scenario === r.scenario);
    if (name !== DEFAULT && ref)
      process.stdout.write(
        `      paired gain over ${DEFAULT} ${gain(figure, r.scenario === "performance-first" ? ref.performance : ref.reward)}\n`,
      );
    if (r.scenario === "performance-first" && r.apgr && r.cpt50) {
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      process.stdout.write(
        `    ${"".padEnd(17)} APGR   CV ${f3(r.apgr.mean)} ± ${f3(r.apgr.sd)} / test ${f3(test?.apgr ?? Number.NaN)}; CPT(50%) CV ${pct(r.cpt50.mean)} ± ${pct(r.cpt50.sd)} / test ${pct(test?.cpt50 ?? Number.NaN)}\n`,
      );
      if (name !== DEFAULT && ref?.apgr && ref.cpt50)
        process.stdout.write(
          `      paired gain over ${DEFAULT}: APGR ${gain(r.apgr, ref.apgr)}, CPT(50%) ${gain(r.cpt50, ref.cpt50)}\n`,
        );
    }
    if (r.scenario === "performance-first")
      fit[name] = { folds: r.fitSeconds.folds, full: test?.fitSeconds ?? Number.NaN };
  }
  const f = fit[name];
  if (f)
    process.stdout.write(
      `    fit per CV fold ${f.folds.map((s) => s.toFixed(1)).join(", ")} s; on all of train ${f.full.toFixed(1)} s\n`,
    );
}
const a = fit[DEFAULT];
const b = fit[WITH];
if (a && b) {
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  process.stdout.write(
    `  fit time ${WITH} ÷ ${DEFAULT}: CV folds ${(sum(b.folds) / sum(a.folds)).toFixed(2)}×, all of train ${(b.full / a.full).toFixed(2)}×\n`,
  );
}
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ dataset, variants, wall, cv, test: run.routers }, null, 1)}\n`);
