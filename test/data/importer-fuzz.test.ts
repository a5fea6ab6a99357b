import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { before, test } from "node:test";
import fc from "fast-check";
import { DataError, UsageError } from "../../src/data/errors.ts";
import { parsePath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb, tempDir } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

/**
 * Property-based fuzz of every importer (issue 8): real fixture files, mutated at random (bytes cut, inserted
 * or overwritten; lines dropped, repeated or repeated with a change; files truncated), then parsed and imported
 * into a store holding real data. The property: the import either succeeds, or fails with a DataError/UsageError
 * naming a file of the input (and its line/row when the fault is in a record), and then the store is exactly as
 * before. Any other exception is a bug. FUZZ_SEED and FUZZ_RUNS vary the search.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);

interface Subject {
  format: string;
  /** Folder holding the pristine input; `target` (relative) is what is imported. */
  dir: string;
  target: string;
}

const subjects: Subject[] = [];

/** Small copies of the bundled LLMRouter and RouteProfile folders: the first items, joined data kept whole. */
function miniLlmRouter(): string {
  const out = join(tempDir(), "llmrouter");
  const src = join(REPO, "data/llmrouter");
  mkdirSync(join(out, "llm_candidates"), { recursive: true });
  mkdirSync(join(out, "dcrouter_preprocessed"));
  mkdirSync(join(out, "query_data"));
  cpSync(join(src, "llm_candidates/default_llm.json"), join(out, "llm_candidates/default_llm.json"));
  for (const [split, n] of [
    ["train", 12],
    ["test", 4],
  ] as const) {
    const items = (
      JSON.parse(readFileSync(join(src, `dcrouter_preprocessed/${split}.json`), "utf8")) as Array<{
        question: string;
      }>
    ).slice(0, n);
    writeFileSync(join(out, `dcrouter_preprocessed/${split}.json`), JSON.stringify(items, null, 1));
    const wanted = new Set(items.map((i) => i.question));
    const lines = readFileSync(join(src, `query_data/default_query_${split}.jsonl`), "utf8")
      .split("\n")
      .filter((l) => l.trim() && wanted.has((JSON.parse(l) as { query: string }).query));
    writeFileSync(join(out, `query_data/default_query_${split}.jsonl`), `${lines.join("\n")}\n`);
  }
  return out;
}

function miniRouteProfile(): string {
  const out = join(tempDir(), "routeprofile");
  cpSync(join(REPO, "data/routeprofile"), out, { recursive: true });
  const file = join(out, "route_data/routing_test_data.json");
  writeFileSync(file, JSON.stringify((JSON.parse(readFileSync(file, "utf8")) as unknown[]).slice(0, 10), null, 1));
  for (const f of readdirSync(join(out, "route_data")))
    if (f.startsWith("pairwise")) writeFileSync(join(out, "route_data", f), "[]");
  return out;
}

before(() => {
  const fx = (p: string) => join(REPO, "test/fixtures", p);
  subjects.push(
    { format: "fusionbench", dir: fx("fusionbench/csv"), target: "." },
    { format: "fusionbench", dir: fx("fusionbench/jsonl"), target: "." },
    { format: "fusionbench", dir: fx("fusionbench/parquet"), target: "." },
    { format: "routerbench", dir: fx("routerbench/csv"), target: "." },
    { format: "routerbench", dir: fx("routerbench/parquet"), target: "." },
    { format: "llmrouter-nq", dir: fx("llmrouter-nq/pylists"), target: "." },
    { format: "llmrouter-nq", dir: fx("llmrouter-nq/arrays"), target: "." },
    { format: "routellm", dir: fx("routellm"), target: "." },
    { format: "llmrouter", dir: miniLlmRouter(), target: "." },
    { format: "routeprofile", dir: miniRouteProfile(), target: "." },
  );
  // Canonical JSONL: the fusionbench fixture exported (models, queries, outcomes lines).
  const canon = tempDir();
  const store = new Store(tempDb());
  return parsePath(fx("fusionbench/jsonl"))
    .then((b) => store.importBatch(b))
    .then(async () => {
      const { modelLine, queryLine, outcomeLine } = await import("../../src/data/export.ts");
      const lines = [
        ...store.models().map(modelLine),
        ...store.queries().map(queryLine),
        ...store.outcomes().map(outcomeLine),
      ];
      writeFileSync(join(canon, "canon.jsonl"), `${lines.join("\n")}\n`);
      store.close();
      subjects.push({ format: "fusionkit", dir: canon, target: "canon.jsonl" });
    });
});

/** Every regular file under a folder, relative to it. */
function filesUnder(dir: string, at = dir): string[] {
  return readdirSync(at).flatMap((name) => {
    const p = join(at, name);
    return statSync(p).isDirectory() ? filesUnder(dir, p) : [relative(dir, p)];
  });
}

type Mutation =
  | { op: "cut"; at: number; length: number }
  | { op: "insert"; at: number; text: string }
  | { op: "overwrite"; at: number; bytes: number[] }
  | { op: "truncate"; at: number }
  | { op: "drop-line"; line: number }
  | { op: "repeat-line"; line: number; at: number; text: string };

const NASTY = fc.constantFrom(
  '"',
  ",",
  "\n",
  "\r\n",
  "{",
  "}",
  "[",
  "]",
  ":",
  "'",
  "\\",
  "NaN",
  "-1",
  "1e309",
  "null",
  "true",
  "\u0000",
  "\uFEFF",
  "😀",
  "Ω≈ç√",
  "Let's think step by step.",
  "{'pass@1': 2}",
  "tensor([0.1, 0.2])",
  '"kind":"query"',
);
const text = fc.oneof(NASTY, fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 6 }));
const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("cut" as const), at: position, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant("insert" as const), at: position, text }),
  fc.record({
    op: fc.constant("overwrite" as const),
    at: position,
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant("truncate" as const), at: position }),
  fc.record({ op: fc.constant("drop-line" as const), line: position }),
  fc.record({ op: fc.constant("repeat-line" as const), line: position, at: position, text }),
);

function mutate(bytes: Buffer, m: Mutation): Buffer {
  const at = (f: number, n: number) => Math.floor(f * n);
  switch (m.op) {
    case "cut": {
      const i = at(m.at, bytes.length);
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + m.length)]);
    }
    case "insert": {
      const i = at(m.at, bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(m.text), bytes.subarray(i)]);
    }
    case "overwrite": {
      const out = Buffer.from(bytes);
      const i = at(m.at, out.length);
      m.bytes.forEach((b, k) => {
        if (i + k < out.length) out[i + k] = b;
      });
      return out;
    }
    case "truncate":
      return bytes.subarray(0, at(m.at, bytes.length));
    case "drop-line":
    case "repeat-line": {
      const lines = bytes.toString("utf8").split("\n");
      const k = at(m.line, lines.length);
      if (m.op === "drop-line") lines.splice(k, 1);
      else {
        const line = lines[k] ?? "";
        const i = at(m.at, line.length + 1);
        lines.splice(k + 1, 0, line.slice(0, i) + m.text + line.slice(i));
      }
      return Buffer.from(lines.join("\n"));
    }
  }
}

for (const format of [
  "fusionbench",
  "routerbench",
  "llmrouter-nq",
  "routellm",
  "llmrouter",
  "routeprofile",
  "fusionkit",
])
  test(`fuzz: ${format} importer — a clean error naming the file, or a successful import; never anything else`, async () => {
    const mine = subjects.filter((s) => s.format === format);
    assert.ok(mine.length > 0);
    // A store with real data in it, so "unchanged after a failure" is a real check.
    const store = new Store(tempDb());
    store.importBatch(await parsePath(join(REPO, "test/fixtures/llmrouter-nq/arrays")));
    let failures = 0;
    let successes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: mine.length - 1 }),
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (which, pick, mutations) => {
          const subject = mine[which] as Subject;
          const work = join(tempDir(), "in");
          cpSync(subject.dir, work, { recursive: true });
          const files = filesUnder(work).filter((f) => !/LICENSE|README|build\.ts/.test(f));
          const file = join(work, files[pick % files.length] as string);
          let bytes: Buffer = readFileSync(file);
          for (const m of mutations) bytes = mutate(bytes, m);
          writeFileSync(file, bytes);
          const before = snapshot(store);
          try {
            store.importBatch(await parsePath(join(work, subject.target), { format }));
            successes++;
          } catch (e) {
            failures++;
            if (!(e instanceof DataError || e instanceof UsageError)) throw e;
            assert.ok(e.message.includes(work), `the error names no input file: ${e.message}`);
            // The catch-all in parsePath is for faults below the importer (file system, Parquet pages); a text
            // format reaching it means an importer let an unexpected exception through.
            if (!file.endsWith(".parquet"))
              assert.doesNotMatch(e.message, /cannot be read as \S+ data \(/, "an unexpected exception");
            if (e instanceof DataError && e.loc) {
              assert.ok(e.loc.file.startsWith(work), e.message);
              assert.ok(Number.isInteger(e.loc.line) && e.loc.line >= 0, e.message);
            }
            assert.deepEqual(snapshot(store), before, `the store changed after: ${e.message}`);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    store.close();
    assert.ok(failures > 0, "the mutations never broke an input: the fuzz is not reaching the checks");
    assert.ok(successes + failures === RUNS);
  });
