/**
 * A faster batched matrix product for TensorFlow.js' WASM backend, giving bit-identical numbers (use-kernels.ts
 * puts it in front of the backend's BatchMatMul).
 *
 * Why: USE-lite's attention (QKᵀ and attention × V, per text and head: [texts·heads, tokens, d]) runs
 * through the backend's fallback for batched products (`slow_batch_matmul` in tfjs-backend-wasm 4.5's
 * batch_mat_mul_impl.cc): scalar loops with a strided inner read, ~5× slower per multiply-add than the
 * XNNPACK path the model's 2-D products take. Profiled on 300 LLMRouter queries in one thread, the
 * batched products were ~32% of all kernel time (bench/embed-profile.ts).
 *
 * Bit-identical: the fallback computes each output as blocks of 48 along the shared dimension — within a
 * block `sum = sum + a·b` from 0 in order, then `out = (out + sum) + 0` (its absent bias reads as +0) —
 * and float32 addition is not associative, so any other order changes the last bits of the embeddings
 * (which the cache and trained routers hold). This kernel does exactly those float32 operations in
 * exactly that order for every output; it only computes four neighbouring outputs at once in the lanes of
 * a WASM SIMD register (lanes never mix), and reads a transposed B from a contiguous copy.

 */

// ---- a tiny WebAssembly assembler: just the instructions the kernel needs ----

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...Buffer.from(s, "utf8")].map((b) => [b]));

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  get: (l: number) => [0x20, ...uleb(l)],
  set: (l: number) => [0x21, ...uleb(l)],
  tee: (l: number) => [0x22, ...uleb(l)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  mul: [0x6c],
  geU: [0x4f],
  ltU: [0x49],
  select: [0x1b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  // memarg: alignment exponent 2 (4 bytes, always true here), offset in bytes
  load: (offset = 0) => [0xfd, ...uleb(0x00), 2, ...uleb(offset)],
  store: (offset = 0) => [0xfd, ...uleb(0x0b), 2, ...uleb(offset)],
  loadSplat: [0xfd, ...uleb(0x09), 2, 0],
  zero: [0xfd, ...uleb(0x0c), ...new Array(16).fill(0)],
  fadd: [0xfd, ...uleb(0xe4)],
  fmul: [0xfd, ...uleb(0xe6)],
};

/** `base + f1·f2·…` (i32 address arithmetic; each argument an instruction sequence). */
function plus(base: number[], ...factors: number[][]): number[] {
  return [...base, ...factors[0], ...factors.slice(1).flatMap((f) => [...f, ...op.mul]), ...op.add];
}

/** `for (v = from; v < limit; v += step) body` — `from`, `limit`, `step` are instruction sequences. */
function loop(v: number, from: number[], limit: number[], step: number[], body: number[]): number[] {
  return [
    ...from,
    ...op.set(v),
    ...[0x02, 0x40], // block
    ...[0x03, 0x40], // loop
    ...op.get(v),
    ...limit,
    ...op.geU,
    ...op.brIf(1),
    ...body,
    ...op.get(v),
    ...step,
    ...op.add,
    ...op.set(v),
    ...op.br(0),
    0x0b,
    0x0b,
  ];
}

/** Shared-dimension block of the backend's fallback kernel: its sums restart every 48 terms. */
const K_BLOCK = 48;
/** Output tile: 2 rows × 16 columns (8 registers of 4 lanes). */
const TILE_ROWS = 2;
const TILE_COLS = 16;

/**
 * `mm(a, b, out, batch, rows, depth, cols)`: out[n] (rows × cols) += A[n] (rows × depth) · B[n] (depth × cols)
 * for n < batch, all row-major float32 at byte addresses a, b, out; rows a multiple of TILE_ROWS, cols of
 * TILE_COLS; out zeroed by the caller.
 */
function kernelModule(): Uint8Array<ArrayBuffer> {
  // params
  const [A, B, OUT, BATCH, ROWS, DEPTH, COLS] = [0, 1, 2, 3, 4, 5, 6];
  // i32 locals
  const [n, i, j, k0, k, kEnd, a0, a1, o0, o1, bp, aN, bN, oN, aStride, bStride] = [
    7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
  ];
  // v128 locals
  const X0 = 23;
  const X1 = 24;
  const S = [25, 26, 27, 28, 29, 30, 31, 32]; // S[r * 4 + c]: row r, columns c*4..c*4+3 of the tile
  const V = [33, 34, 35, 36];

  const kStep = [
    // x_r = splat(A[i + r][k])
    ...plus(op.get(a0), op.get(k), op.i32(4)),
    ...op.loadSplat,
    ...op.set(X0),
    ...plus(op.get(a1), op.get(k), op.i32(4)),
    ...op.loadSplat,
    ...op.set(X1),
    // bp = B[n] + k·bStride + j·4: the 16 columns of row k
    ...plus(plus(op.get(bN), op.get(k), op.get(bStride)), op.get(j), op.i32(4)),
    ...op.set(bp),
    ...[0, 1, 2, 3].flatMap((c) => [...op.get(bp), ...op.load(16 * c), ...op.set(V[c])]),
    // s = s + x·v, lane by lane (the fallback's `sum += a * b`)
    ...[0, 1].flatMap((r) =>
      [0, 1, 2, 3].flatMap((c) => [
        ...op.get(S[r * 4 + c]),
        ...op.get(r === 0 ? X0 : X1),
        ...op.get(V[c]),
        ...op.fmul,
        ...op.fadd,
        ...op.set(S[r * 4 + c]),
      ]),
    ),
  ];

  // out = (out + s) + 0, per register
  const flush = [0, 1].flatMap((r) =>
    [0, 1, 2, 3].flatMap((c) => [
      ...plus(op.get(r === 0 ? o0 : o1), op.get(j), op.i32(4)),
      ...op.set(bp),
      ...op.get(bp),
      ...op.get(bp),
      ...op.load(16 * c),
      ...op.get(S[r * 4 + c]),
      ...op.fadd,
      ...op.zero,
      ...op.fadd,
      ...op.store(16 * c),
    ]),
  );

  const kBlock = [
    ...S.flatMap((s) => [...op.zero, ...op.set(s)]),
    // kEnd = min(k0 + 48, depth)
    ...op.get(k0),
    ...op.i32(K_BLOCK),
    ...op.add,
    ...op.get(DEPTH),
    ...op.get(k0),
    ...op.i32(K_BLOCK),
    ...op.add,
    ...op.get(DEPTH),
    ...op.ltU,
    ...op.select,
    ...op.set(kEnd),
    ...loop(k, op.get(k0), op.get(kEnd), op.i32(1), kStep),
    ...flush,
  ];

  const tile = loop(k0, op.i32(0), op.get(DEPTH), op.i32(K_BLOCK), kBlock);
  const rowPair = [
    // a0 = A[n] + i·aStride, a1 = a0 + aStride; o0 = OUT[n] + i·cols·4, o1 = o0 + cols·4
    ...plus(op.get(aN), op.get(i), op.get(aStride)),
    ...op.tee(a0),
    ...op.get(aStride),
    ...op.add,
    ...op.set(a1),
    ...plus(op.get(oN), op.get(i), op.get(bStride)),
    ...op.tee(o0),
    ...op.get(bStride),
    ...op.add,
    ...op.set(o1),
    ...loop(j, op.i32(0), op.get(COLS), op.i32(TILE_COLS), tile),
  ];
  const matrix = [
    // aN = A + n·rows·aStride, bN = B + n·depth·bStride, oN = OUT + n·rows·bStride
    ...plus(op.get(A), op.get(n), op.get(ROWS), op.get(aStride)),
    ...op.set(aN),
    ...plus(op.get(B), op.get(n), op.get(DEPTH), op.get(bStride)),
    ...op.set(bN),
    ...plus(op.get(OUT), op.get(n), op.get(ROWS), op.get(bStride)),
    ...op.set(oN),
    ...loop(i, op.i32(0), op.get(ROWS), op.i32(TILE_ROWS), rowPair),
  ];
  const body = [
    // aStride = depth·4, bStride = cols·4 (bytes per row of A, and of B and out)
    ...op.get(DEPTH),
    ...op.i32(4),
    ...op.mul,
    ...op.set(aStride),
    ...op.get(COLS),
    ...op.i32(4),
    ...op.mul,
    ...op.set(bStride),
    ...loop(n, op.i32(0), op.get(BATCH), op.i32(1), matrix),
    0x0b,
  ];
  const locals = vec([
    [...uleb(16), I32],
    [...uleb(14), V128],
  ]);
  const func = [...locals, ...body];

  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(new Array(7).fill([I32])), ...vec([])]])), // type: (i32 ×7) → ()
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(1)]])), // import memory
    ...section(3, vec([uleb(0)])), // function 0 has type 0
    ...section(7, vec([[...name("mm"), 0x00, ...uleb(0)]])), // export "mm"
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

// ---- the kernel: operands copied into the module's memory, padded to whole tiles ----

type Mm = (a: number, b: number, out: number, batch: number, rows: number, depth: number, cols: number) => void;

let instance: { mm: Mm; memory: WebAssembly.Memory } | null = null;
function kernel(): { mm: Mm; memory: WebAssembly.Memory } {
  if (!instance) {
    const memory = new WebAssembly.Memory({ initial: 16 });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(kernelModule()), { env: { memory } }).exports;
    instance = { mm: exports.mm as Mm, memory };
  }
  return instance;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * out (batch × rows × cols) = a (batch × rows × depth) · b (batch × depth × cols, or batch × cols × depth
 * when `transposeB`), computed as tfjs-backend-wasm's fallback kernel computes it (bit for bit).
 */
export function batchMatMulExact(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  rows: number,
  depth: number,
  cols: number,
  transposeB: boolean,
  out: Float32Array,
): void {
  const k = kernel();
  const rowsP = roundUp(rows, TILE_ROWS);
  const colsP = roundUp(cols, TILE_COLS);
  const aBytes = batch * rowsP * depth * 4;
  const bBytes = batch * depth * colsP * 4;
  const oBytes = batch * rowsP * colsP * 4;
  const need = aBytes + bBytes + oBytes;
  if (k.memory.buffer.byteLength < need) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const heap = new Float32Array(k.memory.buffer);
  const aAt = 0;
  const bAt = aBytes / 4;
  const oAt = (aBytes + bBytes) / 4;
  // A: rows padded with zero rows; B: k-major with zero columns past `cols`; out: zeros.
  heap.fill(0, 0, need / 4);
  for (let n = 0; n < batch; n++) {
    heap.set(a.subarray(n * rows * depth, (n + 1) * rows * depth), aAt + n * rowsP * depth);
    const bn = bAt + n * depth * colsP;
    if (transposeB) {
      const src = n * cols * depth;
      for (let c = 0; c < cols; c++) for (let d = 0; d < depth; d++) heap[bn + d * colsP + c] = b[src + c * depth + d];
    } else
      for (let d = 0; d < depth; d++)
        heap.set(b.subarray(n * depth * cols + d * cols, n * depth * cols + (d + 1) * cols), bn + d * colsP);
  }
  k.mm(aAt * 4, bAt * 4, oAt * 4, batch, rowsP, depth, colsP);
  for (let n = 0; n < batch; n++)
    for (let r = 0; r < rows; r++) {
      const from = oAt + (n * rowsP + r) * colsP;
      out.set(heap.subarray(from, from + cols), (n * rows + r) * cols);
    }
}
