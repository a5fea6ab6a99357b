import { sha1 } from "../data/ids.ts";
import { decodeF64, decodeI32, type EncodedArray, encodeArray } from "./codec.ts";
import type { TrainingSet } from "./router.ts";

/**
 * Exact-match memory of the routing data: query text → the performance each candidate was observed to
 * reach on it, and what it cost. A query the router has already seen answered and scored is best routed by that record
 * (published splits repeat queries — LLMRouter: 119 of its 500 test queries are in train, re-answered with
 * the same outcome 92% of the time — and gateway feedback repeats prompts all the time).
 */
export interface QueryMemoryState {
  /** Key of each remembered text (memoryKey). */
  keys: string[];
  /** keys × candidates: NaN-aware mean observed performance, NaN where no candidate outcome was observed. */
  rows: EncodedArray;
  /**
   * keys × candidates: NaN-aware mean observed cost (USD per query), NaN where none was observed. Absent in
   * artifacts written before memory kept costs (`Recall.cost` is then null).
   */
  costs?: EncodedArray;
  /** Training queries behind each key. */
  counts: EncodedArray;
}

/**
 * One remembered query: mean observed performance and cost per candidate (NaN = never observed) over `count`
 * queries; `cost` is null for a memory restored from an artifact that did not keep costs.
 */
export interface Recall {
  observed: Float64Array;
  cost: Float64Array | null;
  count: number;
}

/**
 * The key of a query text: whitespace trimmed and collapsed (case kept), SHA-1, first 64 bits (as query ids
 * are: a collision among a million texts has odds of about 1 in 36 million).
 */
export function memoryKey(text: string): string {
  return sha1(text.trim().replace(/\s+/g, " ")).slice(0, 16);
}

export class QueryMemory {
  private readonly index: Map<string, number>;

  private constructor(
    private readonly keys: string[],
    private readonly nCandidates: number,
    private readonly rows: Float64Array,
    private readonly costs: Float64Array | null,
    private readonly counts: Int32Array,
  ) {
    this.index = new Map(keys.map((k, r) => [k, r]));
  }

  /** Every training query's observed rows, averaged (NaN-aware, per candidate) over queries with the same key. */
  static fit(data: TrainingSet): QueryMemory {
    const c = data.candidates.length;
    const rowOf = new Map<string, number>();
    const keys: string[] = [];
    // Each query's memory row, hashed once.
    const rowOfQuery = data.queries.map((q) => {
      const k = memoryKey(q.text);
      let r = rowOf.get(k);
      if (r === undefined) {
        r = keys.length;
        rowOf.set(k, r);
        keys.push(k);
      }
      return r;
    });
    const counts = new Int32Array(keys.length);
    for (const r of rowOfQuery) counts[r]++;
    const rows = meanByRow(data.performance, rowOfQuery, keys.length, c);
    const costs = meanByRow(data.cost, rowOfQuery, keys.length, c);
    return new QueryMemory(keys, c, rows, costs, counts);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Whether observed costs are kept (false for a memory restored from an artifact written before they were). */
  get hasCosts(): boolean {
    return this.costs !== null;
  }

  /** What was observed for this text, or null when it is not in the routing data. */
  recall(text: string): Recall | null {
    const r = this.index.get(memoryKey(text));
    if (r === undefined) return null;
    const c = this.nCandidates;
    return {
      observed: this.rows.subarray(r * c, (r + 1) * c),
      cost: this.costs ? this.costs.subarray(r * c, (r + 1) * c) : null,
      count: this.counts[r] as number,
    };
  }

  state(): QueryMemoryState {
    return {
      keys: this.keys,
      rows: encodeArray(this.rows),
      ...(this.costs ? { costs: encodeArray(this.costs) } : {}),
      counts: encodeArray(this.counts),
    };
  }

  static restore(state: unknown, nCandidates: number, field: string): QueryMemory {
    const s = state as Partial<QueryMemoryState> | null;
    if (!s || typeof s !== "object" || !Array.isArray(s.keys) || !s.keys.every((k) => typeof k === "string"))
      throw new Error(`artifact field "${field}.keys": expected an array of strings`);
    const rows = decodeF64(s.rows, `${field}.rows`);
    const costs = s.costs === undefined ? null : decodeF64(s.costs, `${field}.costs`);
    const counts = decodeI32(s.counts, `${field}.counts`);
    for (const [name, v] of [
      ["rows", rows],
      ["costs", costs],
    ] as const)
      if (v && v.length !== s.keys.length * nCandidates)
        throw new Error(
          `artifact field "${field}.${name}": ${v.length} values, expected ${s.keys.length} keys × ${nCandidates} candidates`,
        );
    if (counts.length !== s.keys.length)
      throw new Error(`artifact field "${field}.counts": ${counts.length} values, expected one per key`);
    return new QueryMemory(s.keys, nCandidates, rows, costs, counts);
  }
}

/** Per memory row and candidate, the mean of the non-NaN values of the queries in that row (NaN if none). */
function meanByRow(values: Float64Array, rowOfQuery: readonly number[], nRows: number, c: number): Float64Array {
  const sums = new Float64Array(nRows * c);
  const seen = new Int32Array(nRows * c);
  rowOfQuery.forEach((r, i) => {
    for (let j = 0; j < c; j++) {
      const v = values[i * c + j] as number;
      if (Number.isNaN(v)) continue;
      sums[r * c + j] += v;
      seen[r * c + j]++;
    }
  });
  return sums.map((s, k) => (seen[k] ? s / (seen[k] as number) : Number.NaN));
}
