/**
 * Compact JSON encoding of typed arrays for router artifacts: little-endian bytes in base64
 * (a 512-d Float32 vector is ~2.7 kB instead of ~10 kB of decimal text, and round-trips exactly).
 */
export type EncodedArray = { dtype: "f32" | "f64" | "i32"; length: number; b64: string };

export function encodeArray(a: Float32Array | Float64Array | Int32Array): EncodedArray {
  const dtype = a instanceof Float32Array ? "f32" : a instanceof Float64Array ? "f64" : "i32";
  const bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return { dtype, length: a.length, b64: bytes.toString("base64") };
}

function decode(e: unknown, dtype: EncodedArray["dtype"], field: string): ArrayBuffer {
  const x = e as Partial<EncodedArray> | null;
  if (!x || typeof x !== "object" || x.dtype !== dtype || typeof x.b64 !== "string" || typeof x.length !== "number")
    throw new Error(`artifact field "${field}": expected an encoded ${dtype} array`);
  const bytes = Buffer.from(x.b64, "base64");
  const width = dtype === "f64" ? 8 : 4;
  if (bytes.length !== x.length * width)
    throw new Error(`artifact field "${field}": ${bytes.length} bytes do not hold ${x.length} ${dtype} values`);
  // Copy into a fresh, aligned buffer (Buffer slices may start at any offset).
  const out = new ArrayBuffer(bytes.length);
  new Uint8Array(out).set(bytes);
  return out;
}

export function decodeF32(e: unknown, field: string): Float32Array {
  return new Float32Array(decode(e, "f32", field));
}
export function decodeF64(e: unknown, field: string): Float64Array {
  return new Float64Array(decode(e, "f64", field));
}
export function decodeI32(e: unknown, field: string): Int32Array {
  return new Int32Array(decode(e, "i32", field));
}
