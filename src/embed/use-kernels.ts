import { createRequire } from "node:module";
import { batchMatMulExact } from "./use-matmul.ts";

/**
 * Stand-ins for two of TensorFlow.js' WASM-backend kernels that USE-lite spends avoidable time in, each
 * giving exactly the backend's numbers (the embeddings in caches and trained routers stay valid):
 *
 * - BatchMatMul with batch dimensions (the attention products): use-matmul.ts, SIMD instead of the
 *   backend's scalar fallback. Products without batch dimensions still go to the backend (XNNPACK).
 * - SplitV (the attention's query/key/value split): the backend's version copies its whole input out of
 *   WASM memory once per output piece (`readSync` allocates a fresh buffer each time, which also feeds the
 *   garbage collector); this one copies each piece straight from WASM memory. Copies only: same numbers.
 */

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
type HeapArray = Float32Array | Int32Array | Uint8Array;
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  /** A view of a tensor's data in WASM memory (invalid once memory grows: take it after allocating). */
  typedArrayFromHeap(t: TensorInfo): HeapArray;
}
interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackend;
  attrs: Record<string, unknown>;
}
type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];
interface KernelConfig {
  kernelName: string;
  backendName: string;
  setupFunc?: (backend: unknown) => void;
  kernelFunc: KernelFunc;
}
/** TensorFlow.js as bundled by @energetic-ai/core (see use-model.ts for why it is required, untyped). */
const tf = createRequire(import.meta.url)("@energetic-ai/core") as {
  getKernel(name: string, backend: string): KernelConfig | undefined;
  unregisterKernel(name: string, backend: string): void;
  registerKernel(config: KernelConfig): void;
  util: { parseAxisParam(axis: number | number[], shape: number[]): number[] };
  backend_util: { prepareSplitSize(x: TensorInfo, split: number | number[], axis: number): number[] };
};

let enabled = true;
/**
 * Run `work` with the backend's own kernels (tests and benchmarks compare against them). The switch is per
 * thread: not for overlapping calls.
 */
export async function withBackendKernels<T>(work: () => Promise<T>): Promise<T> {
  const was = enabled;
  enabled = false;
  try {
    return await work();
  } finally {
    enabled = was;
  }
}

const product = (xs: number[]) => xs.reduce((x, y) => x * y, 1);

function batchMatMul(args: KernelArgs): TensorInfo | null {
  const { a, b } = args.inputs;
  const transposeA = args.attrs.transposeA === true;
  const transposeB = args.attrs.transposeB === true;
  const ar = a.shape.length;
  const br = b.shape.length;
  const batch = product(a.shape.slice(0, -2));
  const sameBatch = ar === br && a.shape.slice(0, -2).every((d, x) => d === b.shape[x]);
  // A product without batch dimensions goes to XNNPACK, and broadcast batch dimensions are left to the
  // backend: not ours.
  if (transposeA || !sameBatch || batch === 1 || a.dtype !== "float32" || b.dtype !== "float32") return null;
  const rows = a.shape[ar - 2];
  const depth = a.shape[ar - 1];
  const cols = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if ((transposeB ? b.shape[br - 1] : b.shape[br - 2]) !== depth) return null; // the backend's error message
  const out = args.backend.makeOutput([...a.shape.slice(0, -2), rows, cols], "float32");
  // Views into the backend's memory, not readSync's copies (allocating a copy cost more than the
  // product); taken after makeOutput, whose allocation may grow that memory and detach older views.
  const heap = (t: TensorInfo) => args.backend.typedArrayFromHeap(t) as Float32Array;
  batchMatMulExact(heap(a), heap(b), batch, rows, depth, cols, transposeB, heap(out));
  return out;
}

function splitV(args: KernelArgs): TensorInfo[] | null {
  const { x } = args.inputs;
  if (x.dtype === "string") return null;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, args.attrs.numOrSizeSplits as number | number[], axis);
  // x as [outer, along the axis, inner]: each piece is a run of size·inner values per outer index.
  const outer = product(x.shape.slice(0, axis));
  const inner = product(x.shape.slice(axis + 1));
  const along = x.shape[axis];
  let begin = 0;
  return sizes.map((size) => {
    const shape = [...x.shape];
    shape[axis] = size;
    const out = args.backend.makeOutput(shape, x.dtype);
    const from = args.backend.typedArrayFromHeap(x);
    const to = args.backend.typedArrayFromHeap(out);
    const run = size * inner;
    for (let o = 0; o < outer; o++) {
      const at = (o * along + begin) * inner;
      to.set(from.subarray(at, at + run), o * run);
    }
    begin += size;
    return out;
  });
}

const standIns: Record<string, (args: KernelArgs) => TensorInfo | TensorInfo[] | null> = {
  BatchMatMul: batchMatMul,
  SplitV: splitV,
};

let installed = false;
/** Put the stand-ins in front of the WASM backend's kernels (once per thread, after tf.ready()). */
export function installUseKernels(): void {
  if (installed) return;
  for (const [name, standIn] of Object.entries(standIns)) {
    const original = tf.getKernel(name, "wasm");
    if (!original) throw new Error(`TensorFlow.js' WASM backend has no ${name} kernel to stand in for`);
    const kernelFunc: KernelFunc = (args) => (enabled ? standIn(args) : null) ?? original.kernelFunc(args);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...original, kernelFunc });
  }
  installed = true;
}
