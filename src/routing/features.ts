import type { RouteQuery, TrainingSet } from "./router.ts";

export interface FeatureSpaceState {
  dim: number;
  tasks: string[];
  domains: string[];
  oneHotScale: number;
}

/**
 * Input features of the parametric routers: the query embedding ⊕ task one-hot ⊕ domain one-hot.
 * The task is the strongest single feature in routing data; an unseen task or domain leaves its block
 * zero, so the router falls back on the embedding (and the domain, when known).
 */
export class FeatureSpace {
  readonly size: number;
  private readonly taskIndex: Map<string, number>;
  private readonly domainIndex: Map<string, number>;

  constructor(
    readonly dim: number,
    readonly tasks: string[],
    readonly domains: string[],
    /** One-hot value; ~1 puts a task on the same footing as the whole (unit-norm) embedding. */
    readonly oneHotScale = 1,
  ) {
    this.size = dim + tasks.length + domains.length;
    this.taskIndex = new Map(tasks.map((t, i) => [t, i]));
    this.domainIndex = new Map(domains.map((d, i) => [d, i]));
  }

  static fit(data: TrainingSet, oneHotScale = 1): FeatureSpace {
    const dim = data.queries[0]?.embedding.length ?? 0;
    if (!dim) throw new Error("training set has no query embeddings");
    const tasks = [...new Set(data.queries.map((q) => q.task).filter((t): t is string => !!t))].sort();
    const domains = [...new Set(data.queries.map((q) => q.domain).filter((d): d is string => !!d))].sort();
    return new FeatureSpace(dim, tasks, domains, oneHotScale);
  }

  /** Write the features of q into out[offset .. offset + size). */
  encodeInto(q: RouteQuery, out: Float64Array | Float32Array, offset = 0): void {
    if (q.embedding.length !== this.dim)
      throw new Error(`query embedding has ${q.embedding.length} dimensions, the router expects ${this.dim}`);
    for (let k = 0; k < this.dim; k++) out[offset + k] = q.embedding[k];
    out.fill(0, offset + this.dim, offset + this.size);
    const t = q.task ? this.taskIndex.get(q.task) : undefined;
    if (t !== undefined) out[offset + this.dim + t] = this.oneHotScale;
    const d = q.domain ? this.domainIndex.get(q.domain) : undefined;
    if (d !== undefined) out[offset + this.dim + this.tasks.length + d] = this.oneHotScale;
  }

  /** n × size matrix of the queries' features. */
  matrix(queries: readonly RouteQuery[]): Float64Array {
    const X = new Float64Array(queries.length * this.size);
    queries.forEach((q, i) => {
      this.encodeInto(q, X, i * this.size);
    });
    return X;
  }

  state(): FeatureSpaceState {
    return { dim: this.dim, tasks: this.tasks, domains: this.domains, oneHotScale: this.oneHotScale };
  }

  static restore(s: FeatureSpaceState): FeatureSpace {
    if (!s || typeof s.dim !== "number" || !Array.isArray(s.tasks) || !Array.isArray(s.domains))
      throw new Error('artifact field "features": expected {dim, tasks, domains}');
    return new FeatureSpace(s.dim, s.tasks, s.domains, s.oneHotScale ?? 1);
  }
}
