import assert from "node:assert/strict";
import { test } from "node:test";
import type { Query } from "../../src/data/types.ts";
import { decontaminate, ngrams, words } from "../../src/distill/decontaminate.ts";
import { parseParamsB } from "../../src/distill/size.ts";

const q = (id: string, text: string): Query => ({ id, dataset: "d", task: "t", text });

test("words drop case and punctuation; n-grams slide over them", () => {
  assert.deepEqual(words("Hello,  World! It's 3.5"), ["hello", "world", "it", "s", "3", "5"]);
  assert.deepEqual([...ngrams(["a", "b", "c", "d"], 3)], ["a b c", "b c d"]);
  assert.equal(ngrams(["a", "b"], 3).size, 0);
});

const LONG = "the quick brown fox jumps over the lazy dog while the farmer counts his seventeen sheep at dawn";

test("exact match after normalisation is removed; different text is kept", () => {
  const res = decontaminate(
    [q("t1", "What is the capital of France?"), q("t2", "What is the capital of Spain?")],
    [q("x1", "what is the CAPITAL of france")],
  );
  assert.deepEqual(
    res.kept.map((x) => x.id),
    ["t2"],
  );
  assert.equal(res.removed[0]?.reason, "exact");
  assert.equal(res.removed[0]?.testId, "x1");
});

const ANY = { ngram: 13, boilerplateDf: 5, minOverlap: 0 };

test("GPT-3 rule (overlap 0): a shared 13-gram removes the training query; a shared 12-gram does not", () => {
  const test13 = q("x", `Prefix words here. ${LONG.split(" ").slice(0, 13).join(" ")} and more`);
  const train13 = q("a", `Something else: ${LONG.split(" ").slice(0, 13).join(" ")}!`);
  const train12 = q("b", `Something else: ${LONG.split(" ").slice(0, 12).join(" ")}!`);
  const res = decontaminate([train13, train12], [test13], ANY);
  assert.deepEqual(
    res.removed.map((r) => [r.query.id, r.reason]),
    [["a", "ngram"]],
  );
  assert.equal(res.removed[0]?.ngram, LONG.split(" ").slice(0, 13).join(" "));
  assert.deepEqual(
    res.kept.map((x) => x.id),
    ["b"],
  );
  // With 8-grams both overlap; with n-grams off only exact matches count.
  assert.equal(decontaminate([train13, train12], [test13], { ...ANY, ngram: 8 }).removed.length, 2);
  assert.equal(decontaminate([train13, train12], [test13], { ...ANY, ngram: 0 }).removed.length, 0);
});

test("default rule: shared n-grams must cover half of the shorter query's n-grams", () => {
  const w = LONG.split(" "); // 18 words
  const testQ = q("x", LONG); // 6 13-grams
  // 15 words → 3 13-grams, 1 shared with the test query: 1/3 < 0.5, kept.
  const weak = q("weak", `Something else: ${w.slice(0, 13).join(" ")}`);
  // 16 words → 4 13-grams, 2 shared: 2/4 = 0.5, removed.
  const strong = q("strong", `Something else: ${w.slice(0, 14).join(" ")}`);
  // The test query embedded in a longer training prompt: all 6 of its n-grams shared, 6/min(…, 6) = 1.
  const wrapped = q("wrapped", `Here is an example to study carefully before you answer. ${LONG}. Now answer it.`);
  const res = decontaminate([weak, strong, wrapped], [testQ]);
  assert.deepEqual(
    res.kept.map((x) => x.id),
    ["weak"],
  );
  assert.deepEqual(
    res.removed.map((r) => [r.query.id, r.overlap]),
    [
      ["strong", 0.5],
      ["wrapped", 1],
    ],
  );
  assert.throws(() => decontaminate([weak], [testQ], { ...ANY, minOverlap: 1.5 }), /\[0, 1\]/);
});

test("n-grams shared by many queries are boilerplate and do not count as overlap", () => {
  const preamble = "there are four houses in a row numbered one on the left to four on the right";
  const tests = [q("x1", `${preamble}. Who owns the cat?`), q("x2", `${preamble}. Who owns the dog?`)];
  const trains = [
    q("a", `${preamble}. Who eats fish?`),
    q("b", `${preamble}. Who plays piano?`),
    q("c", `${preamble}. Who drinks tea?`),
  ];
  // The preamble's n-grams occur in 5 queries: boilerplate at the default threshold of 5.
  const res = decontaminate(trains, tests, ANY);
  assert.equal(res.removed.length, 0);
  assert.ok(res.boilerplateNgrams > 0);
  // With a higher threshold the same preamble counts as overlap.
  assert.equal(decontaminate(trains, tests, { ...ANY, boilerplateDf: 6 }).removed.length, 3);
  assert.throws(() => decontaminate(trains, tests, { ...ANY, boilerplateDf: 1 }), /≥ 2/);
});

test("a training query that is itself in the test split is removed as exact", () => {
  const res = decontaminate([q("same", "abc")], [q("same", "abc")]);
  assert.equal(res.removed[0]?.reason, "exact");
});

test("model sizes parse to billions of parameters", () => {
  assert.equal(parseParamsB("7B"), 7);
  assert.equal(parseParamsB("0.5b"), 0.5);
  assert.equal(parseParamsB("350M"), 0.35);
  assert.equal(parseParamsB("8x7B"), 56);
  assert.equal(parseParamsB("176B"), 176);
  assert.equal(parseParamsB(null), null);
  assert.equal(parseParamsB("large"), null);
});
