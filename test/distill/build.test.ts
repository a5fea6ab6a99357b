import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "../../src/data/errors.ts";
import { buildDistillSet, type DistillOptions } from "../../src/distill/build.ts";
import { DEFAULT_DECONTAMINATION } from "../../src/distill/decontaminate.ts";
import { EXPORT_FORMATS, parseFormats } from "../../src/distill/formats.ts";
import { writeDistillSet } from "../../src/distill/write.ts";
import { tempDir } from "../helpers.ts";
import { fixtureStore } from "./fixture.ts";

const MODELS = [
  { name: "small", size: "3B" },
  { name: "mid", size: "8x7B" },
  { name: "big", size: "70B" },
];

function store() {
  return fixtureStore(
    [
      {
        id: "m1",
        task: "math",
        split: "train",
        metric: "math",
        groundTruth: "4",
        text: "What is 2 + 2?",
        answers: [
          { model: "small", performance: 1, cost: 1, response: "2 + 2 = 4. \\boxed{4}" },
          { model: "mid", performance: 0, cost: 1, response: "\\boxed{5}" },
          { model: "big", performance: 1, cost: 5, response: "Adding gives 4. \\boxed{4}" },
        ],
      },
      {
        id: "m2",
        task: "math",
        split: "train",
        metric: "math",
        groundTruth: "9",
        text: "What is 3 * 3?",
        answers: [
          { model: "small", performance: 0, cost: 1, response: "\\boxed{6}" },
          { model: "mid", performance: 0, cost: 1, response: "\\boxed{33}" },
          { model: "big", performance: 0, cost: 5, response: "\\boxed{8}" },
        ],
      },
      {
        id: "c1",
        task: "mc",
        split: "train",
        metric: "em_mc",
        groundTruth: "B",
        text: "Which is a fruit? (A) stone (B) apple",
        answers: [
          { model: "small", performance: 1, cost: 1, response: "(B)" },
          { model: "mid", performance: 1, cost: 0.5, response: "(B)" },
          { model: "big", performance: 1, cost: 5, response: "The answer is (B)" },
        ],
      },
      {
        id: "leak",
        task: "mc",
        split: "train",
        metric: "em_mc",
        groundTruth: "A",
        text: "Which is blue? (A) sky (B) grass",
        answers: [{ model: "small", performance: 1, cost: 1, response: "(A)" }],
      },
      {
        id: "code1",
        task: "code",
        split: "train",
        metric: "code_eval",
        groundTruth: "assert f(1) == 2",
        text: "Write f that adds one.",
        answers: [{ model: "big", performance: 1, cost: 5, response: "def f(x): return x + 1" }],
      },
      {
        id: "t1",
        task: "mc",
        split: "test",
        metric: "em_mc",
        groundTruth: "A",
        text: "which is BLUE? (a) sky (b) grass",
        answers: [{ model: "small", performance: 1, cost: 1, response: "(A)" }],
      },
    ],
    MODELS,
  );
}

const base = (over: Partial<DistillOptions> = {}): DistillOptions => ({
  dataset: "fx",
  rank: "performance",
  topK: 5,
  maxParamsB: null,
  withGold: false,
  decontamination: DEFAULT_DECONTAMINATION,
  promptOf: (q) => q.text,
  ...over,
});

test("distill: top responses per query, stop at first failure, dedupe, decontaminate, DPO pairs", () => {
  const s = store();
  const set = buildDistillSet(s, base());
  const st = set.stats;
  assert.equal(st.total.trainQueries, 5);
  assert.equal(st.total.removedExact, 1);
  assert.equal(st.removed[0]?.queryId, "leak");
  // m1: small then big (mid failed); m2: nothing; c1: mid (cheapest) then big; small's "(B)" duplicates mid's.
  assert.deepEqual(
    set.sftSources.map((r) => `${r.queryId}:${r.source}`),
    ["m1:small", "m1:big", "c1:mid", "c1:big", "code1:big"],
  );
  assert.equal(st.duplicateResponsesSkipped, 1);
  assert.equal(st.perTask.math?.queriesWithoutRecords, 1);
  assert.equal(st.stoppedAtZero, 2);
  // DPO: only m1 has both a success and a failure.
  assert.deepEqual(set.pairSources, [{ queryId: "m1", task: "math", chosen: "small", rejected: "mid" }]);
  assert.equal(set.pairs[0]?.rejected, "\\boxed{5}");
  assert.deepEqual(st.perModel.mid, { sft: 1, dpoChosen: 0, dpoRejected: 1 });
  s.close();
});

test("distill: --small-only keeps models ≤ N B, --with-gold adds gold except for code tasks", () => {
  const s = store();
  const set = buildDistillSet(s, base({ maxParamsB: 10, withGold: true, topK: 1 }));
  assert.deepEqual(set.stats.models, ["small"]);
  assert.deepEqual(
    set.stats.excludedModels.map((m) => m.model),
    ["big", "mid"],
  );
  assert.deepEqual(
    set.sftSources.map((r) => `${r.queryId}:${r.source}`),
    ["m1:small", "m1:gold", "m2:gold", "c1:small"],
  );
  // m1's gold "4" is added (differs from the response), c1's gold "(B)" duplicates small's answer.
  assert.equal(set.sft[2]?.response, "9");
  assert.equal(set.stats.goldSkippedCodeTasks, 1);
  // m2 gold against small's failure forms a DPO pair.
  assert.ok(set.pairSources.some((p) => p.queryId === "m2" && p.chosen === "gold" && p.rejected === "small"));
  s.close();
});

test("distill: judge ranking without judge scores and data without a test split are clear errors", () => {
  const s = store();
  assert.throws(() => buildDistillSet(s, base({ rank: "judge" })), UsageError);
  assert.throws(() => buildDistillSet(s, base({ dataset: "nope" })), /run "fusionkit split"/);
  assert.throws(() => buildDistillSet(s, base({ maxParamsB: 1 })), /no model is left/);
  s.close();
});

test("every export format round-trips: parse the files back and find the same records", () => {
  const s = store();
  const set = buildDistillSet(s, base({ system: "Be brief." }));
  const dir = tempDir();
  writeDistillSet(dir, set, EXPORT_FORMATS, "fusionkit distill --out x");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  const lines = (f: string) =>
    read(f)
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  const alpaca = JSON.parse(read("alpaca.json"));
  assert.equal(alpaca.length, set.sft.length);
  assert.deepEqual(alpaca[0], {
    instruction: "What is 2 + 2?",
    input: "",
    output: "2 + 2 = 4. \\boxed{4}",
    system: "Be brief.",
  });

  const openai = lines("openai.jsonl");
  assert.equal(openai.length, set.sft.length);
  for (const item of openai) {
    assert.deepEqual(Object.keys(item), ["messages"]);
    assert.deepEqual(
      item.messages.map((m: { role: string }) => m.role),
      ["system", "user", "assistant"],
    );
  }
  assert.equal(openai[1].messages[2].content, "Adding gives 4. \\boxed{4}");

  const sharegpt = JSON.parse(read("sharegpt.json"));
  assert.deepEqual(sharegpt[2], {
    conversations: [
      { from: "human", value: "Which is a fruit? (A) stone (B) apple" },
      { from: "gpt", value: "(B)" },
    ],
    system: "Be brief.",
  });

  const dpo = lines("dpo.jsonl");
  assert.deepEqual(dpo, [
    { prompt: "What is 2 + 2?", chosen: "2 + 2 = 4. \\boxed{4}", rejected: "\\boxed{5}", system: "Be brief." },
  ]);

  const info = JSON.parse(read("dataset_info.json"));
  assert.equal(info.fusionkit_alpaca.file_name, "alpaca.json");
  assert.equal(info.fusionkit_sharegpt.formatting, "sharegpt");
  assert.equal(info.fusionkit_dpo.ranking, true);
  assert.deepEqual(info.fusionkit_dpo.columns, {
    prompt: "prompt",
    chosen: "chosen",
    rejected: "rejected",
    system: "system",
  });

  const prov = lines("provenance.jsonl");
  assert.equal(prov.length, set.sft.length);
  assert.equal(prov[0].source, "small");
  const report = JSON.parse(read("report.json"));
  assert.equal(report.total.removedExact, 1);
  assert.match(read("report.md"), /Removed \*\*1 exact \+ 0 n-gram\*\* of 5 training queries/);
  s.close();
});

test("each record's prompt is the one its response answered (think mode adds its cue); DPO uses the chosen's", () => {
  const s = fixtureStore(
    [
      {
        id: "a",
        task: "math",
        split: "train",
        text: "1+1?",
        answers: [
          { model: "small", mode: "think", performance: 1, cost: 1, response: "One plus one. \\boxed{2}" },
          { model: "small", performance: 0, cost: 1, response: "\\boxed{3}" },
        ],
      },
      { id: "b", task: "math", split: "test", text: "2+2?", answers: [] },
    ],
    [{ name: "small", size: "3B" }],
  );
  const set = buildDistillSet(s, base({ promptOf: (q, mode) => (mode === "think" ? `${q.text} Think.` : q.text) }));
  assert.deepEqual(
    set.sft.map((r) => r.prompt),
    ["1+1? Think."],
  );
  assert.deepEqual(set.pairs, [{ prompt: "1+1? Think.", chosen: "One plus one. \\boxed{2}", rejected: "\\boxed{3}" }]);
  s.close();
});

test("format list parsing rejects unknown formats", () => {
  assert.deepEqual(parseFormats("alpaca, dpo,alpaca"), ["alpaca", "dpo"]);
  assert.throws(() => parseFormats("alpaca,csv"), /unknown format "csv"/);
});
