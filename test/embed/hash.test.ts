import assert from "node:assert/strict";
import { test } from "node:test";
import { dot, normalize } from "../../src/embed/embedder.ts";
import { HashEmbedder, hash32 } from "../../src/embed/hash.ts";

const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

test("hash32 matches FNV-1a + fmix32 on hand-checked values and is stable", () => {
  // FNV-1a("") = 0x811c9dc5; fmix32 of it, computed by hand with the same constants.
  let h = 0x811c9dc5;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  assert.equal(hash32(""), h >>> 0);
  assert.equal(hash32("abc"), hash32("abc"));
  assert.notEqual(hash32("abc"), hash32("abd"));
});

test("normalize gives unit length and leaves a zero vector zero", () => {
  const v = normalize(Float32Array.from([3, 4]));
  assert.deepEqual(
    [...v].map((x) => Math.round(x * 1e6) / 1e6),
    [0.6, 0.8],
  );
  assert.deepEqual([...normalize(new Float32Array(3))], [0, 0, 0]);
});

test("hash embedder: deterministic, unit-normalised, name carries the dimension", async () => {
  const e = new HashEmbedder(256);
  assert.equal(e.name, "hash-256");
  const texts = ["What is the capital of France?", "Solve for x: 2x + 3 = 7.", "ünïcödé text — with dashes"];
  const a = await e.embed(texts);
  const b = await new HashEmbedder(256).embed(texts);
  assert.equal(a.length, 3);
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i].length, 256);
    assert.ok(Math.abs(norm(a[i]) - 1) < 1e-5);
    assert.deepEqual([...a[i]], [...b[i]]);
  }
  // No token at all: a zero vector rather than NaNs.
  const [empty] = await e.embed(["  ?! "]);
  assert.ok(empty.every((x) => x === 0));
});

test("hash embedder: similar texts are closer than unrelated ones", async () => {
  const e = new HashEmbedder();
  const [q1, q2, q3] = await e.embed([
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell?",
    "Weng sold 48 clips to her friends in April and half as many clips in May. How many clips did Weng sell altogether?",
    "Which river flows through the city of Vienna?",
  ]);
  assert.ok(dot(q1, q2) > 0.5, `similar ${dot(q1, q2)}`);
  assert.ok(dot(q1, q3) < 0.2, `unrelated ${dot(q1, q3)}`);
  assert.ok(dot(q1, q2) > dot(q1, q3) + 0.3);
});

test("hash embedder rejects a nonsensical dimension", () => {
  assert.throws(() => new HashEmbedder(0), /dimension/);
  assert.throws(() => new HashEmbedder(10.5), /dimension/);
});
