import assert from "node:assert/strict";
import { test } from "node:test";
import { createEmbedder } from "../../src/embed/registry.ts";

test("embedder specs map to names, and every name is itself a spec", () => {
  const cases: Array<[string, string]> = [
    ["use", "use-512"],
    ["use:2000", "use-512:2000"],
    ["use:full", "use-512:full"],
    ["use:1000", "use-512"],
    ["hash", "hash-1024"],
    ["hash:2048", "hash-2048"],
    ["openai:bge-m3@http://localhost:8080", "openai:bge-m3@http://localhost:8080/v1"],
    [
      "openai:nomic-embed-text:latest@http://127.0.0.1:11434/v1/",
      "openai:nomic-embed-text:latest@http://127.0.0.1:11434/v1",
    ],
  ];
  for (const [spec, name] of cases) {
    const e = createEmbedder(spec);
    assert.equal(e.name, name, spec);
    assert.equal(createEmbedder(e.name).name, name, `round trip of ${name}`);
  }
  assert.equal(createEmbedder("hash:64").dim, 64);
  assert.equal(createEmbedder("use").dim, 512);
});

test("bad embedder specs are usage errors that say what is expected", () => {
  assert.throws(() => createEmbedder("bert"), { name: "UsageError", message: /unknown embedder "bert".*hash/ });
  assert.throws(() => createEmbedder("openai:model-without-url"), {
    name: "UsageError",
    message: /openai:<model>@<baseURL>/,
  });
  assert.throws(() => createEmbedder("openai:m@ftp://x"), { name: "UsageError", message: /http/ });
  assert.throws(() => createEmbedder("hash:3"), { name: "UsageError", message: /dimension/ });
});
