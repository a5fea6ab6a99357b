import type { CandidateInfo, RouteQuery, TrainingSet } from "../../src/routing/router.ts";
import { Rng } from "../../src/util/prng.ts";

/**
 * A small routing problem whose answer is known by construction. Two tasks; within each, queries lie in
 * one of two embedding clusters. Candidate "cheap" ($1) solves cluster 0, "big" ($10) solves cluster 1,
 * "mid" ($5) solves every task-"b" query and nothing in task "a". Task a has 3 in 4 queries in cluster 0.
 * Means: task a cheap .75 / big .25 / mid 0; task b .5 / .5 / 1; overall .625 / .375 / .5, so the best
 * single model is "cheap", the best per task is cheap (a) and mid (b), and the per-query oracle picks
 * cheap for cluster 0 (also in task b, where mid ties but costs more), big for a-1 and mid for b-1.
 */
export const CANDIDATES: CandidateInfo[] = [
  { key: "cheap", model: "cheap", mode: "direct", inputPrice: 1, outputPrice: 1, description: "a small fast model" },
  { key: "big", model: "big", mode: "direct", inputPrice: 10, outputPrice: 10, description: "a large strong model" },
  { key: "mid", model: "mid", mode: "direct", inputPrice: 5, outputPrice: 5, description: "a mid-sized model" },
];
const PRICE = [1, 10, 5];

export function toyQuery(task: string, cluster: number, rng: Rng, dim = 8): RouteQuery {
  const e = new Float32Array(dim);
  // Cluster 0 lives on dims 0–1, cluster 1 on dims 2–3; task b shifts onto dims 4–5; small noise elsewhere.
  e[cluster * 2] = 1;
  e[cluster * 2 + 1] = 0.5;
  if (task === "b") e[4] = 0.8;
  for (let k = 0; k < dim; k++) e[k] += 0.05 * rng.normal();
  let s = 0;
  for (const v of e) s += v * v;
  for (let k = 0; k < dim; k++) e[k] /= Math.sqrt(s);
  return {
    text: `${task}-${cluster}-${rng.next().toFixed(6)}`,
    embedding: e,
    task,
    domain: task === "a" ? "Math" : "Code",
  };
}

export function toyPerformance(task: string, cluster: number): number[] {
  return [cluster === 0 ? 1 : 0, cluster === 1 ? 1 : 0, task === "b" ? 1 : 0];
}

export function toySet(n = 80, seed = 7): TrainingSet {
  const rng = new Rng(seed);
  const queries: RouteQuery[] = [];
  const perf: number[] = [];
  const cost: number[] = [];
  for (let i = 0; i < n; i++) {
    const task = i % 2 === 0 ? "a" : "b";
    // Task a: 3 in 4 queries in cluster 0, so "cheap" is task a's best and the best single overall.
    const cluster = task === "a" ? (i % 8 === 6 ? 1 : 0) : (i >> 1) % 2;
    queries.push(toyQuery(task, cluster, rng));
    perf.push(...toyPerformance(task, cluster));
    cost.push(...PRICE);
  }
  return {
    candidates: CANDIDATES,
    queries,
    performance: new Float64Array(perf),
    cost: new Float64Array(cost),
    judge: null,
  };
}
