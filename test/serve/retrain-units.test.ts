import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HashEmbedder } from "../../src/embed/hash.ts";
import { trainRouter } from "../../src/routing/artifacts.ts";
import { type Knob, predictionRow, rank, scaleFor } from "../../src/routing/objective.ts";
import type { TrainingSet } from "../../src/routing/router.ts";
import { parseServeConfig } from "../../src/serve/config.ts";
import { EmbeddingLru } from "../../src/serve/embed-lru.ts";
import { explore } from "../../src/serve/explore.ts";
import { decide, isHeldOut, retrainRows, scoreHeldOut } from "../../src/serve/heldout.ts";
import { Lru } from "../../src/serve/lru.ts";
import type { Planned } from "../../src/serve/plan.ts";
import { gatewayChoices } from "../../src/serve/retrain-job.ts";
import { parseRetrainEvery, retrainDue } from "../../src/serve/retrain-schedule.ts";
import { type LoadedRouter, rankText } from "../../src/serve/virtual.ts";
import { Rng } from "../../src/util/prng.ts";
import { CANDIDATES } from "../routing/toy.ts";

const N = Number.NaN;

describe("held-back comparison of a retrained router with the live one", () => {
  test("performance-first: only queries where both choices are labelled count (hand-checked means)", () => {
    const rows = [
      { performance: [1, 0], cost: [1, 1] }, // live 1, retrained 0
      { performance: [0, 1], cost: [1, 1] }, // live 0, retrained 1
      { performance: [N, 1], cost: [N, 1] }, // live's choice unlabelled: not compared
      { performance: [0.5, N], cost: [1, N] }, // retrained chose nothing scorable: not compared
      { performance: [0.2, 0.6], cost: [1, 1] }, // live 0.2, retrained 0.6
    ];
    const s = scoreHeldOut(
      rows,
      [0, 0, 0, 0, 0],
      [1, 1, 1, -1, 1],
      { scenario: "performance-first" },
      scale(0, 1, 0, 1),
    );
    assert.equal(s.queries, 5);
    assert.equal(s.compared, 3);
    assert.ok(Math.abs((s.live ?? 0) - 1.2 / 3) < 1e-12, `live ${s.live}`);
    assert.ok(Math.abs((s.candidate ?? 0) - 1.6 / 3) < 1e-12, `retrained ${s.candidate}`);
    assert.equal(decide(s).swap, true);
  });

  test("balance: min–max normalised perf and cost with the one scale given (0.5·perf − 0.5·cost/2)", () => {
    // perf range [0,1], cost range [0,2]: live picks (1, $2) → 0.5 − 0.5 = 0; retrained (0.5, $0) → 0.25.
    const s = scoreHeldOut(
      [{ performance: [1, 0.5], cost: [2, 0] }],
      [0],
      [1],
      { scenario: "balance" },
      scale(0, 1, 0, 2),
    );
    assert.equal(s.live, 0);
    assert.equal(s.candidate, 0.25);
    // λ knob: performance − λ·cost in raw USD: 1 − 0.1·2 = 0.8 against 0.5.
    const l = scoreHeldOut([{ performance: [1, 0.5], cost: [2, 0] }], [0], [1], { lambda: 0.1 }, scale(0, 1, 0, 2));
    assert.ok(Math.abs((l.live ?? 0) - 0.8) < 1e-12);
    assert.equal(l.candidate, 0.5);
    assert.equal(decide(l).swap, false);
    assert.match(decide(l).reason, /worse on 1 held-back queries \(0\.5000 vs 0\.8000\)/);
  });

  test("a tie swaps (not worse); no held-back or no comparable query keeps the live router", () => {
    const tie = scoreHeldOut(
      [{ performance: [1, 1], cost: [1, 1] }],
      [0],
      [1],
      { scenario: "performance-first" },
      scale(0, 1, 0, 1),
    );
    assert.deepEqual(decide(tie).swap, true);
    assert.deepEqual(decide({ queries: 0, compared: 0, live: null, candidate: null }), {
      swap: false,
      reason: "no held-back labelled traffic yet",
    });
    const none = scoreHeldOut(
      [{ performance: [1, N], cost: [1, N] }],
      [0],
      [1],
      { scenario: "performance-first" },
      scale(0, 1, 0, 1),
    );
    assert.equal(none.compared, 0);
    assert.equal(decide(none).swap, false);
    assert.match(decide(none).reason, /none of the 1 held-back queries/);
  });

  test("retrain rows: a gateway query spelled like a held-back one up to whitespace is neither trained on nor scored", () => {
    const ids = Array.from({ length: 50 }, (_, i) => `g${i}`);
    const heldId = ids.find((id) => isHeldOut(id, 0.2)) as string;
    const keptId = ids.find((id) => !isHeldOut(id, 0.2)) as string;
    const otherId = ids.filter((id) => !isHeldOut(id, 0.2))[1] as string;
    const queries = [
      { id: heldId, text: "What is 2 + 2?" },
      { id: keptId, text: " What is  2 + 2?\n" }, // the same prompt, other whitespace: dropped
      { id: otherId, text: "what is 2 + 2?" }, // case differs: trained on
      { id: "base-1", text: "What is 2 + 2?" }, // the router's own data (not a label): trained on
    ];
    const gateway = new Set([heldId, keptId, otherId]);
    assert.deepEqual(retrainRows(queries, gateway, 0.2), { trainRows: [2, 3], heldRows: [0] });
    assert.deepEqual(retrainRows(queries, gateway, 0), { trainRows: [0, 1, 2, 3], heldRows: [] });
  });

  test("the held-back share is a deterministic hash split of the query id", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `q${i}`);
    const held = ids.filter((id) => isHeldOut(id, 0.2));
    assert.ok(Math.abs(held.length / ids.length - 0.2) < 0.02, `${held.length} of 10000`);
    assert.deepEqual(
      ids.filter((id) => isHeldOut(id, 0.2)),
      held,
      "same split every time",
    );
    // A larger share holds back a superset: a query held back stays held back.
    assert.ok(held.every((id) => isHeldOut(id, 0.3)));
    assert.equal(
      ids.some((id) => isHeldOut(id, 0)),
      false,
    );
  });
});

describe("the retrain comparison routes held-back queries as the gateway does", () => {
  // Two kinds of prompt (hash-embedded, so a learned router can tell them apart). "cheap" ($1) solves 90% of
  // the first kind and 35% of the second, "big" ($1.5) 60% of both, "mid" ($10) nothing: routing pays off
  // performance-first, but hardly once cost counts, so `auto` chooses its policy per objective.
  const embedder = new HashEmbedder(64);
  const prompt = (kind: number, i: number) =>
    kind === 0 ? `solve the equation number ${i} for x` : `write a short poem about season ${i}`;
  async function routingData(n: number, seed: number, first = 0): Promise<TrainingSet> {
    const rng = new Rng(seed);
    const texts = Array.from({ length: n }, (_, i) => prompt(i % 2, first + i));
    const embeddings = await embedder.embed(texts);
    const performance: number[] = [];
    texts.forEach((_, i) => {
      const [cheap, big] = i % 2 === 0 ? [0.9, 0.6] : [0.35, 0.6];
      performance.push(rng.next() < cheap ? 1 : 0, rng.next() < big ? 1 : 0, 0);
    });
    return {
      candidates: CANDIDATES,
      queries: texts.map((text, i) => ({ text, embedding: embeddings[i], task: "a", domain: "Math" })),
      performance: Float64Array.from(performance),
      cost: Float64Array.from(texts.flatMap(() => [1, 1.5, 10])),
      judge: null,
    };
  }

  test("auto served under a knob is compared on that knob's choices, not its performance-first ones", async () => {
    const live = trainRouter("auto", await routingData(400, 3), { embedder: embedder.name });
    const held = (await routingData(40, 9, 1000)).queries; // prompts not in the routing data
    const gateway: LoadedRouter = {
      name: live.name,
      artifact: "test",
      router: live.router,
      candidates: live.candidateInfo,
      scales: live.scales,
      knob: live.knob,
      embedder: new EmbeddingLru(embedder),
      decisions: new Lru(0),
    };
    const served = new Set(["cheap", "big"]); // mid is not configured: neither may choose it
    const column = new Map(CANDIDATES.map((c, j) => [c.key, j]));
    const costFirst: Knob = { scenario: "cost-first" };
    for (const knob of [{ scenario: "performance-first" }, { scenario: "balance" }, costFirst] as Knob[]) {
      const routed = await Promise.all(
        held.map(async (q) => {
          const top = (await rankText(gateway, q.text, knob, null)).find((r) => served.has(r.model));
          return top ? (column.get(top.key) as number) : -1;
        }),
      );
      assert.deepEqual([...gatewayChoices(live, held, knob, served, column)], routed, JSON.stringify(knob));
    }
    // The data makes the difference: ranked under cost-first, auto's performance-first predictions would send
    // some of these queries elsewhere than the gateway does (what the comparison counted before).
    const pred = live.router.predict(held.map((q) => ({ ...q, task: null, domain: null })));
    const scale = scaleFor(live.scales, null);
    const perfFirstRanked = held.map((_, i) => {
      const top = rank(predictionRow(pred, i, CANDIDATES.length), CANDIDATES, costFirst, scale).find((r) =>
        served.has(r.model),
      );
      return top ? (column.get(top.key) as number) : -1;
    });
    const chosen = [...gatewayChoices(live, held, costFirst, served, column)];
    const differ = chosen.filter((j, i) => j !== perfFirstRanked[i]).length;
    assert.ok(differ > 0, `cost-first choices equal the performance-first predictions' on all ${held.length}`);
  });
});

describe("--retrain-every", () => {
  test("labels or a period; anything else is an error naming the flag", () => {
    assert.deepEqual(parseRetrainEvery("50"), { labels: 50 });
    assert.deepEqual(parseRetrainEvery("20 labels"), { labels: 20 });
    assert.deepEqual(parseRetrainEvery("10m"), { ms: 600_000 });
    assert.deepEqual(parseRetrainEvery("1.5h"), { ms: 5_400_000 });
    for (const bad of ["0", "abc", "10x", "0.5s", "-3"])
      assert.throws(() => parseRetrainEvery(bad), /--retrain-every: expected a number of new labels/, bad);
  });
  test("due after n new labels, or after the period when a new label arrived", () => {
    assert.equal(retrainDue({ labels: 5 }, 14, 10, 0), false);
    assert.equal(retrainDue({ labels: 5 }, 15, 10, 0), true);
    assert.equal(retrainDue({ ms: 1000 }, 10, 10, 5000), false, "no new label");
    assert.equal(retrainDue({ ms: 1000 }, 11, 10, 999), false, "too soon");
    assert.equal(retrainDue({ ms: 1000 }, 11, 10, 1000), true);
  });
  test("the config's retrain section: a bad value names file, line and field", () => {
    const head =
      "providers:\n  - { name: p, baseUrl: http://127.0.0.1:1/v1 }\nmodels:\n  - { name: m, provider: p, upstreamId: m, inputPrice: 1, outputPrice: 1 }\n";
    const ok = parseServeConfig(`${head}retrain:\n  every: 20\n  holdout: 0.25\n`, "gw.yaml");
    assert.equal(ok.settings.retrainEvery, "20");
    assert.equal(ok.settings.holdout, "0.25");
    assert.equal(parseServeConfig(`${head}retrain: { every: 10m }\n`, "gw.yaml").settings.retrainEvery, "10m");
    assert.throws(
      () => parseServeConfig(`${head}retrain:\n  every: soon\n`, "gw.yaml"),
      /gw\.yaml:line 6, field "retrain\.every": expected a number of new labels .* got "soon"/,
    );
    assert.throws(
      () => parseServeConfig(`${head}retrain:\n  every: 5\n  holdout: 1.5\n`, "gw.yaml"),
      /gw\.yaml:line 7/,
    );
  });
});

describe("--explore", () => {
  const planned = (key: string, predictedCost: number): Planned => ({
    model: key,
    mode: "direct",
    ranked: { key, model: key, mode: "direct", predictedPerformance: 0.5, predictedCost, score: 0, reason: "" },
  });
  test("a draw below the share swaps the first two candidates and reports the passed-over one and the extra cost", () => {
    const kept = [planned("a", 1e-4), planned("b", 3e-4), planned("c", 0)];
    const e = explore(kept, 0.05, false, () => 0.049);
    assert.deepEqual(
      kept.map((p) => p.model),
      ["b", "a", "c"],
    );
    assert.equal(e?.ranked, "a");
    assert.ok(Math.abs((e?.predictedExtraCost ?? 0) - 2e-4) < 1e-15);
  });
  test("no exploration at or above the share, for a sticky session, or with one candidate", () => {
    const kept = () => [planned("a", 1), planned("b", 2)];
    for (const [k, share, sticky, draw] of [
      [kept(), 0.05, false, 0.05],
      [kept(), 0, false, 0],
      [kept(), 1, true, 0],
      [[planned("a", 1)], 1, false, 0],
    ] as const) {
      const list = [...k];
      assert.equal(
        explore(list, share, sticky, () => draw),
        null,
      );
      assert.equal(list[0]?.model, "a");
    }
  });
  test("the config's explore share is checked", () => {
    const head =
      "providers:\n  - { name: p, baseUrl: http://127.0.0.1:1/v1 }\nmodels:\n  - { name: m, provider: p, upstreamId: m, inputPrice: 1, outputPrice: 1 }\n";
    assert.equal(parseServeConfig(`${head}explore: 0.05\n`, "gw.yaml").settings.explore, "0.05");
    assert.throws(() => parseServeConfig(`${head}explore: 2\n`, "gw.yaml"), /gw\.yaml:line 5, field "explore"/);
  });
});

function scale(perfMin: number, perfMax: number, costMin: number, costMax: number) {
  return { perfMin, perfMax, costMin, costMax };
}
