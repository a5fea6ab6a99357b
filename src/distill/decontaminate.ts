import type { Query } from "../data/types.ts";

/**
 * Test-split decontamination of training queries, after GPT-3's 13-gram overlap check. A training query is
 * removed when its normalised text equals a test query's, or when the word n-grams (default 13) it shares
 * with one test query cover at least `minOverlap` of the shorter query's n-grams. `minOverlap` 0 is
 * GPT-3's rule (any shared n-gram); the default 0.5 exists because benchmark queries are often generated
 * from templates: on RouteProfile's logic-grid puzzles the any-n-gram rule removes 29 of 40 training
 * puzzles for sharing phrases like "each person has different pets one is a cat lover", while a real
 * leak (a GSM8K problem repeated with one detail changed) shares all its n-grams.
 * N-grams in `boilerplateDf` or more distinct queries (train and test together) are a task's fixed wording
 * (a shared preamble, "Write a function to") and never count. Exact matches are always removed.
 */
export interface DecontaminationOptions {
  /** Word n-gram length; 0 turns the n-gram check off (exact matches only). */
  ngram: number;
  /** N-grams occurring in at least this many distinct queries are treated as boilerplate and ignored. */
  boilerplateDf: number;
  /** Share of the shorter query's n-grams that must be shared; 0 = any shared n-gram (GPT-3). */
  minOverlap: number;
}

export const DEFAULT_DECONTAMINATION: DecontaminationOptions = { ngram: 13, boilerplateDf: 5, minOverlap: 0.5 };

export interface Removal {
  query: Query;
  reason: "exact" | "ngram";
  /** The test query it overlaps with. */
  testId: string;
  /** The first shared n-gram (for reason "ngram"). */
  ngram?: string;
  /** Shared n-grams over the shorter query's n-gram count (for reason "ngram"). */
  overlap?: number;
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
  if (!(opts.minOverlap >= 0 && opts.minOverlap <= 1))
    throw new RangeError(`n-gram overlap share must be in [0, 1], got ${opts.minOverlap}`);
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
  // Inverted index: n-gram → test queries holding it.
  const testsWith = new Map<string, string[]>();
  for (const q of test)
    for (const g of gramsOf.get(q.id) ?? []) {
      const list = testsWith.get(g);
      if (list) list.push(q.id);
      else testsWith.set(g, [q.id]);
    }
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
    const mine = gramsOf.get(q.id) ?? new Set<string>();
    const shared = new Map<string, { n: number; first: string }>();
    for (const g of mine) {
      if ((df.get(g) ?? 0) >= opts.boilerplateDf) continue;
      for (const t of testsWith.get(g) ?? []) {
        const s = shared.get(t);
        if (s) s.n++;
        else shared.set(t, { n: 1, first: g });
      }
    }
    let hit: Removal | null = null;
    for (const [testId, s] of shared) {
      const overlap = s.n / Math.min(mine.size, gramsOf.get(testId)?.size ?? mine.size);
      if (overlap >= opts.minOverlap && (!hit || overlap > (hit.overlap ?? 0)))
        hit = { query: q, reason: "ngram", testId, ngram: s.first, overlap };
    }
    if (hit) removed.push(hit);
    else kept.push(q);
  }
  return { kept, removed, boilerplateNgrams };
}
