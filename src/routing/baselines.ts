import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";

/**
 * Baseline routers: every learned router must beat these. Each predicts per-candidate performance
 * from train-split means, so the shared ranking (objective.ts) turns them into the usual baselines:
 * best-single = best global mean, best-per-task = best mean within the query's task (global for an
 * unseen task), cheapest = equal performance for all (the cost tie-break picks the cheapest), random =
 * a random score per (query, candidate) derived from the query text and the seed.
 */
abstract class PriorsRouter implements Router {
  abstract readonly name: string;
  protected priors: Priors | null = null;

  fit(data: TrainingSet): void {
    this.priors = Priors.fit(data);
  }

  protected get p(): Priors {
    if (!this.priors) throw new Error(`${this.name} router used before fit/restore`);
    return this.priors;
  }

  protected abstract perfRow(q: RouteQuery, out: Float64Array): string;

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    const c = this.p.nCandidates;
    const performance = new Float64Array(queries.length * c);
    const cost = new Float64Array(queries.length * c);
    const reasons: string[] | undefined = opts?.explain ? [] : undefined;
    queries.forEach((q, i) => {
      const why = this.perfRow(q, performance.subarray(i * c, (i + 1) * c));
      cost.set(this.p.costRow(q.task), i * c);
      if (reasons) for (let j = 0; j < c; j++) reasons.push(why);
    });
    return { performance, cost, reasons };
  }

  state(): unknown {
    return { priors: this.p.state() };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    this.priors = Priors.restore((state as { priors: PriorsState }).priors, candidates.length);
  }
}

export class BestSingleRouter extends PriorsRouter {
  readonly name = "best-single";
  protected perfRow(_q: RouteQuery, out: Float64Array): string {
    out.set(this.p.globalPerf);
    return "mean performance on the whole train split";
  }
}

export class BestPerTaskRouter extends PriorsRouter {
  readonly name = "best-per-task";
  protected perfRow(q: RouteQuery, out: Float64Array): string {
    const known = this.p.taskIndex(q.task) >= 0;
    out.set(this.p.perfRow(q.task));
    return known
      ? `mean performance on train task "${q.task}"`
      : "unseen task: mean performance on the whole train split";
  }
}

export class CheapestRouter extends PriorsRouter {
  readonly name = "cheapest";
  protected perfRow(_q: RouteQuery, out: Float64Array): string {
    // Same value for all: the knob's cost term or the cost tie-break decides.
    let s = 0;
    let n = 0;
    for (const v of this.p.globalPerf)
      if (!Number.isNaN(v)) {
        s += v;
        n++;
      }
    out.fill(n ? s / n : 0);
    return "cheapest: every candidate gets the average performance, cost decides";
  }
}

/** FNV-1a of the text and seed, then a per-candidate mulberry-style mix: order- and batch-independent. */
function textSeed(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(h: number, j: number): number {
  let t = (h + Math.imul(j + 1, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export class RandomRouter extends PriorsRouter {
  readonly name = "random";
  constructor(private readonly seed = 1) {
    super();
  }
  protected perfRow(q: RouteQuery, out: Float64Array): string {
    const h = textSeed(q.text, this.seed);
    for (let j = 0; j < out.length; j++) out[j] = mix(h, j);
    return `random score (seed ${this.seed})`;
  }
}
