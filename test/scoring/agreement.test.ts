import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { scoreResponse } from "../../src/scoring/score.ts";
import { REPO } from "../helpers.ts";
import { routeProfileItems } from "./routeprofile-items.ts";

/**
 * Our scorers against the scores recorded in real routing data. Thresholds are what bench/scorer-agreement.ts
 * measured on the full files (less a small margin where agreement is not exact); see the README's table.
 */

const rp = routeProfileItems();

async function agreementOn(task: string, metric: string): Promise<{ rate: number; n: number; meanDiff: number }> {
  let n = 0;
  let agree = 0;
  let diff = 0;
  for (const q of rp.filter((x) => x.task_name === task))
    for (const m of Object.values(q.model_performance)) {
      const s = (await scoreResponse({ task, metric, query: q.query, groundTruth: q.ground_truth }, m.response ?? ""))
        .score;
      n++;
      const d = Math.abs(s - m.task_performance);
      diff += d;
      if (d < 0.01) agree++;
    }
  return { rate: agree / n, n, meanDiff: diff / n };
}

const EXACT: Array<[string, string]> = [
  ["mmlu", "em_mc"],
  ["arc_challenge", "em_mc"],
  ["commonsense_qa", "em_mc"],
  ["openbook_qa", "em_mc"],
  ["agentverse-logicgrid", "em_mc"],
  ["gsm8k", "gsm8k"],
  // RouteProfile's producer (LLMRouter) scored "f1_score" and "math" tasks with cem: recomputed exactly.
  ["natural_qa", "cem"],
  ["trivia_qa", "cem"],
  ["agentverse-mgsm", "cem"],
];

for (const [task, metric] of EXACT)
  test(`RouteProfile ${task}: ${metric} agrees with every recorded score`, async () => {
    const { rate, n } = await agreementOn(task, metric);
    assert.equal(n, 400);
    assert.equal(rate, 1);
  });

test("RouteProfile agentverse-mgsm: the real MATH metric agrees on ≥ 93% (recorded cem also credits unboxed answers)", async () => {
  const { rate } = await agreementOn("agentverse-mgsm", "math");
  assert.ok(rate >= 0.93, `agreement ${rate}`);
});

test("RouteProfile commongen: coverage agrees exactly on ≥ 65%, within 0.02 on average", async () => {
  const { rate, meanDiff } = await agreementOn("commongen", "commongen_coverage");
  assert.ok(rate >= 0.65, `agreement ${rate}`);
  assert.ok(meanDiff < 0.02, `mean |diff| ${meanDiff}`);
});

test("LLMRouter NQ (100 queries × 6 LLMs): f1_tagged reproduces every recorded F1", async () => {
  const nq = JSON.parse(readFileSync(join(REPO, "test/fixtures/scoring/nq6_first100.json"), "utf8")) as Array<{
    query: string;
    gt: string[];
    response_list: string[];
    perf_list: number[];
  }>;
  let n = 0;
  let agree = 0;
  let nonzero = 0;
  for (const q of nq)
    for (const [i, r] of q.response_list.entries()) {
      const s = (
        await scoreResponse({ task: "nq", metric: "f1_tagged", query: q.query, groundTruth: JSON.stringify(q.gt) }, r)
      ).score;
      n++;
      if (Math.abs(s - (q.perf_list[i] as number)) < 1e-9) agree++;
      if (s > 0 && s < 1) nonzero++;
    }
  assert.equal(n, 600);
  assert.equal(agree, n);
  assert.ok(nonzero > 20, "the slice exercises partial F1, not only 0/1");
});
