import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { withBackendKernels } from "../../src/embed/use-kernels.ts";
import { batchMatMulExact } from "../../src/embed/use-matmul.ts";
import { loadUseModel } from "../../src/embed/use-model.ts";
import { Rng } from "../../src/util/prng.ts";

/** The few TensorFlow.js calls used here (its typings are not installed). */
interface Tensor {
  dataSync(): Float32Array;
  dispose(): void;
}
const tf = createRequire(import.meta.url)("@energetic-ai/core") as {
  tensor(values: Float32Array, shape: number[]): Tensor;
  matMul(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor;
  split(x: Tensor, sizes: number[], axis: number): Tensor[];
};

const rng = new Rng(3);
const random = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
/** Equal bit for bit (Object.is tells +0 from -0). */
function sameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) assert.ok(Object.is(actual[i], expected[i]), `${what}: element ${i}`);
}

// The attention products' shapes (texts·heads, tokens, head size) and awkward ones: sizes that are not
// whole tiles (2 rows × 16 columns), depths across the backend's 48-term blocks, a single row.
const products: Array<[batch: number, rows: number, depth: number, cols: number, transposeB: boolean]> = [
  [64, 32, 128, 32, true],
  [64, 32, 32, 128, false],
  [4, 128, 64, 128, true],
  [4, 128, 128, 64, false],
  [3, 29, 97, 29, true],
  [5, 7, 100, 3, false],
  [2, 1, 49, 17, false],
];

test("batched matrix product: bit-identical to the WASM backend's own BatchMatMul", async () => {
  await loadUseModel(); // the backend, with the stand-ins installed
  for (const [batch, rows, depth, cols, transposeB] of products) {
    const what = `${batch}×${rows}×${depth}×${cols}${transposeB ? " (B transposed)" : ""}`;
    const av = random(batch * rows * depth);
    const bv = random(batch * depth * cols);
    const a = tf.tensor(av, [batch, rows, depth]);
    const b = tf.tensor(bv, transposeB ? [batch, cols, depth] : [batch, depth, cols]);
    const backend = await withBackendKernels(async () => tf.matMul(a, b, false, transposeB).dataSync());
    // Through the registered stand-in, and the kernel called directly (so it is certainly exercised).
    sameBits(tf.matMul(a, b, false, transposeB).dataSync(), backend, `${what}, stand-in`);
    const direct = new Float32Array(batch * rows * cols);
    batchMatMulExact(av, bv, batch, rows, depth, cols, transposeB, direct);
    sameBits(direct, backend, `${what}, direct`);
    a.dispose();
    b.dispose();
  }
});

test("split along any axis: the same pieces as the WASM backend's own SplitV", async () => {
  await loadUseModel();
  const x = tf.tensor(random(4 * 6 * 10), [4, 6, 10]);
  for (const [sizes, axis] of [
    [[3, 3, 4], 2],
    [[1, 5], 1],
    [[2, 1, 1], 0],
  ] as Array<[number[], number]>) {
    const backend = await withBackendKernels(async () => tf.split(x, sizes, axis).map((t) => t.dataSync()));
    const mine = tf.split(x, sizes, axis).map((t) => t.dataSync());
    assert.equal(mine.length, sizes.length);
    for (const [k, piece] of mine.entries()) sameBits(piece, backend[k], `axis ${axis}, piece ${k}`);
  }
});
