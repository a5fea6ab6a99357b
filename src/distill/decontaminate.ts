import type { Query } from "../data/types.ts";

/**
 * Test-split decontamination of training queries, after GPT-3's 13-gram overlap check: a training query is
 * removed when its normalised text equals a test query's, or when it shares a word n-gram (default 13)
 * with one. Word n-grams shared by many queries are task boilerplate (a puzzle's fixed preamble, a code
 * task's "Write a function to"), not leaked test items; an n-gram that occurs in `boilerplateDf` or more
 * distinct queries (train and test together) is therefore ignored. Exact matches are always removed.
 */
export interface DecontaminationOptions {
  /** Word n-gram length; 0 turns the n-gram check off (exact matches only). */
  ngram: number;
  /** N-grams occurring in at least this many distinct queries are treated as boilerplate and ignored. */
  boilerplateDf: number;
}

export const DEFAULT_DECONTAMINATION: DecontaminationOptions = { ngram: 13, boilerplateDf: 5 };

export interface Removal {
  query: Query;
  reason: "exact" | "ngram";
  /** The test query it overlaps with. */
  testId: string;
  /** The shared n-gram (for reason "ngram"). */
  ngram?: string;
}

export interface DecontaminationResult {
  kept: Query[];
  removed: Removal[];
  /** Distinct n-grams ignored as boilerplate. */
  boilerplateNgrams: number;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased words with punctuation and spacing dropped (so "Hello,  World" matches "hello world"). */
export function words(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().match(WORD) ?? [];
}

export function ngrams(tokens: readonly string[], n: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + n <= tokens.length; i++) out.add(tokens.slice(i, i + n).join(" "));
  return out;
}

export function decontaminate(
  train: readonly Query[],
  test: readonly Query[],
  opts: DecontaminationOptions = DEFAULT_DECONTAMINATION,
): DecontaminationResult {
  if (!(Number.isInteger(opts.ngram) && opts.ngram >= 0))
    throw new RangeError(`n-gram length must be a non-negative integer, got ${opts.ngram}`);
  if (!(Number.isInteger(opts.boilerplateDf) && opts.boilerplateDf >= 2))
    throw new RangeError(`boilerplate document frequency must be an integer ≥ 2, got ${opts.boilerplateDf}`);
  const testIds = new Set(test.map((q) => q.id));
  const exact = new Map<string, string>();
  for (const q of test) exact.set(words(q.text).join(" "), q.id);

  const gramsOf = new Map<string, Set<string>>();
  const df = new Map<string, number>();
  if (opts.ngram > 0) {
    for (const q of [...test, ...train]) {
      if (gramsOf.has(q.id)) continue;
      const g = ngrams(words(q.text), opts.ngram);
      gramsOf.set(q.id, g);
      for (const s of g) df.set(s, (df.get(s) ?? 0) + 1);
    }
  }
  const testGram = new Map<string, string>();
  for (const q of test) for (const g of gramsOf.get(q.id) ?? []) if (!testGram.has(g)) testGram.set(g, q.id);
  let boilerplateNgrams = 0;
  for (const n of df.values()) if (n >= opts.boilerplateDf) boilerplateNgrams++;

  const kept: Query[] = [];
  const removed: Removal[] = [];
  for (const q of train) {
    // A query that is itself in the test split is the plainest overlap of all.
    const sameText = testIds.has(q.id) ? q.id : exact.get(words(q.text).join(" "));
    if (sameText !== undefined) {
      removed.push({ query: q, reason: "exact", testId: sameText });
      continue;
    }
    let hit: Removal | null = null;
    for (const g of gramsOf.get(q.id) ?? []) {
      const testId = testGram.get(g);
      if (testId !== undefined && (df.get(g) ?? 0) < opts.boilerplateDf) {
        hit = { query: q, reason: "ngram", testId, ngram: g };
        break;
      }
    }
    if (hit) removed.push(hit);
    else kept.push(q);
  }
  return { kept, removed, boilerplateNgrams };
}
