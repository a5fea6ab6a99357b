/**
 * Added decision time of the multi-call policies, on the bundled RouteProfile data (responses recorded):
 * per test query, the policy's plan and every stop decision read from the live answers (extraction with the
 * task's metric, hashed-n-gram embeddings for free text, similarities) — everything the gateway adds to a
 * request beyond the router's own decision. The router's own decision (kNN predict + rank) is timed on the
 * same queries in the same run as the baseline; vote's plan includes its kNN prediction, so its added
 * time is measured beyond that prediction.
 */
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { importPath } from "../../src/data/import.ts";
import { stratifiedSplit } from "../../src/data/split.ts";
import { Store } from "../../src/data/store.ts";
import { createEmbedder } from "../../src/embed/registry.ts";
import { buildTrainingSet } from "../../src/routing/dataset.ts";
import { DEFAULT_KNOB, learnScales, predictionRow, rank, scaleFor } from "../../src/routing/objective.ts";
import { createPolicy } from "../../src/routing/policies.ts";
import { decideAfterStage } from "../../src/routing/policy.ts";
import { buildPolicyData, liveAnswerView } from "../../src/routing/policy-data.ts";
import { createRouter } from "../../src/routing/registry.ts";
import type { VotePolicy } from "../../src/routing/vote.ts";

const row = (xs: number[]) => [50, 95, 99].map((p) => pct(xs, p).toFixed(3).padStart(7)).join("  ");

/** Timed passes over the test queries (the first is a warm-up), so p99 rests on several hundred decisions. */
const PASSES = 6;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

export async function policyDecisionTimes(dir: string, repo: string, write: (s: string) => void): Promise<void> {
  const store = new Store(join(dir, "policies.db"));
  await importPath(store, join(repo, "data/routeprofile"));
  store.setSplits(stratifiedSplit(store.queries({ dataset: "routeprofile" }), 0.2, 42));
  const embedder = createEmbedder("use");
  const train = await buildPolicyData(
    store,
    await buildTrainingSet(store, { dataset: "routeprofile", split: "train", embedder }),
    { dataset: "routeprofile", split: "train" },
  );
  const testSet = await buildTrainingSet(store, { dataset: "routeprofile", split: "test", embedder });
  const c = train.candidates.length;
  const keys = train.candidates.map((x) => x.key);
  const metricOf = new Map(store.queries({ dataset: "routeprofile" }).map((q) => [q.id, q.metric]));
  const responses = testSet.queryIds.map((id) => {
    const m = new Map<number, string>();
    for (const o of store.outcomesForQuery(id)) {
      const j = keys.indexOf(o.mode === "think" ? `${o.model}_think` : o.model);
      if (j >= 0) m.set(j, o.response ?? "");
    }
    return m;
  });
  const scales = learnScales(
    train.queries.map((q) => q.task),
    train.performance,
    train.cost,
    c,
  );
  const knn = createRouter("knn");
  knn.fit(train);
  const routerTimes: number[] = [];
  for (let pass = 0; pass < PASSES; pass++)
    for (const q of testSet.queries) {
      const t0 = performance.now();
      const pred = knn.predict([q]);
      rank(predictionRow(pred, 0, c), train.candidates, DEFAULT_KNOB, scaleFor(scales, q.task));
      if (pass > 0) routerTimes.push(performance.now() - t0);
    }
  write(
    `\nmulti-call policies on RouteProfile (${testSet.queries.length} test queries × ${PASSES - 1} timed passes, live answers from the recorded responses; load average ${loadavg()[0]?.toFixed(2)} on ${cpus().length} cores)\n` +
      "what                              p50 ms   p95 ms   p99 ms\n" +
      "--------------------------------  -------  -------  -------\n" +
      `router's own decision (knn)       ${row(routerTimes)}\n`,
  );
  for (const name of ["cascade", "vote"]) {
    const policy = createPolicy(name);
    policy.fit(train);
    const k = policy.point("within-cost");
    const added: number[] = [];
    // PASSES passes over the queries; the first warms the JIT and is not counted.
    for (let pass = 0; pass < PASSES; pass++)
      for (let i = 0; i < testSet.queries.length; i++) {
        const q = testSet.queries[i] as (typeof testSet.queries)[number];
        // Vote's plan needs its router's prediction: made outside the timed part (it is the router's own time).
        const pred = name === "vote" ? (policy as VotePolicy).predict([q]) : undefined;
        const t0 = performance.now();
        const [{ plan, weights }] = name === "vote" ? (policy as VotePolicy).plans([q], k, pred) : policy.plans([q], k);
        const called: number[] = [];
        const got = new Map<number, string>();
        for (let s = 0; s < plan.stages.length; s++) {
          for (const j of plan.stages[s] as number[]) {
            called.push(j);
            got.set(j, responses[i]?.get(j) ?? "");
          }
          const view = await liveAnswerView(metricOf.get(testSet.queryIds[i] as string), got);
          if (decideAfterStage(plan, s, called, view, weights)) break;
        }
        if (pass > 0) added.push(performance.now() - t0);
      }
    write(`${`${name}: added (plan + decisions)`.padEnd(32)}  ${row(added)}  (target p99 ≤ 2 ms)\n`);
  }
  store.close();
}
