import { decodeF64, type EncodedArray, encodeArray } from "./codec.ts";
import type { TrainingSet } from "./router.ts";

export interface PriorsState {
  tasks: string[];
  perf: EncodedArray;
  cost: EncodedArray;
  count: EncodedArray;
  globalPerf: EncodedArray;
  globalCost: EncodedArray;
  globalCount: EncodedArray;
}

/**
 * Mean performance and cost of every candidate per task and overall, from the train split. Every router
 * predicts cost from these (cost is set mostly by the task's answer length and the model's price), and
 * the baselines and shrinkage targets of the learned routers are built on them.
 */
export class Priors {
  constructor(
    readonly tasks: string[],
    readonly nCandidates: number,
    /** tasks × candidates */
    readonly perf: Float64Array,
    readonly cost: Float64Array,
    readonly count: Float64Array,
    readonly globalPerf: Float64Array,
    readonly globalCost: Float64Array,
    readonly globalCount: Float64Array,
  ) {}

  static fit(data: TrainingSet, rows?: readonly number[]): Priors {
    const c = data.candidates.length;
    const use = rows ?? data.queries.map((_, i) => i);
    const tasks = [...new Set(use.map((i) => data.queries[i].task).filter((t): t is string => !!t))].sort();
    const ti = new Map(tasks.map((t, k) => [t, k]));
    const T = tasks.length;
    const perf = new Float64Array(T * c);
    const cost = new Float64Array(T * c);
    const count = new Float64Array(T * c);
    // Costs are averaged over the known costs, not the known performances: a missing cost counted as $0
    // would make a candidate look cheaper. (Only the fitted means; the state keeps the performance counts.)
    const costCount = new Float64Array(T * c);
    const gp = new Float64Array(c);
    const gc = new Float64Array(c);
    const gn = new Float64Array(c);
    const gcn = new Float64Array(c);
    const add = (sum: Float64Array, n: Float64Array, at: number, v: number) => {
      if (Number.isNaN(v)) return;
      sum[at] += v;
      n[at]++;
    };
    for (const i of use) {
      const t = data.queries[i].task ? ti.get(data.queries[i].task as string) : undefined;
      for (let j = 0; j < c; j++) {
        const p = data.performance[i * c + j];
        const k = data.cost[i * c + j];
        add(gp, gn, j, p);
        add(gc, gcn, j, k);
        if (t === undefined) continue;
        add(perf, count, t * c + j, p);
        add(cost, costCount, t * c + j, k);
      }
    }
    for (let j = 0; j < c; j++) {
      gp[j] = gn[j] ? gp[j] / gn[j] : Number.NaN;
      gc[j] = gcn[j] ? gc[j] / gcn[j] : Number.NaN;
    }
    // A (task, candidate) cell with no known value falls back to the candidate's global mean (NaN if none).
    for (let t = 0; t < T; t++)
      for (let j = 0; j < c; j++) {
        const at = t * c + j;
        perf[at] = count[at] ? perf[at] / count[at] : gp[j];
        cost[at] = costCount[at] ? cost[at] / costCount[at] : gc[j];
      }
    return new Priors(tasks, c, perf, cost, count, gp, gc, gn);
  }

  taskIndex(task: string | null | undefined): number {
    return task ? this.tasks.indexOf(task) : -1;
  }

  /** The row of per-candidate means for a task (global means for an unknown task). Views, not copies. */
  perfRow(task: string | null | undefined): Float64Array {
    const t = this.taskIndex(task);
    return t < 0 ? this.globalPerf : this.perf.subarray(t * this.nCandidates, (t + 1) * this.nCandidates);
  }
  costRow(task: string | null | undefined): Float64Array {
    const t = this.taskIndex(task);
    return t < 0 ? this.globalCost : this.cost.subarray(t * this.nCandidates, (t + 1) * this.nCandidates);
  }

  state(): PriorsState {
    return {
      tasks: this.tasks,
      perf: encodeArray(this.perf),
      cost: encodeArray(this.cost),
      count: encodeArray(this.count),
      globalPerf: encodeArray(this.globalPerf),
      globalCost: encodeArray(this.globalCost),
      globalCount: encodeArray(this.globalCount),
    };
  }

  static restore(s: PriorsState, nCandidates: number): Priors {
    if (!s || !Array.isArray(s.tasks)) throw new Error('artifact field "priors.tasks": expected a list of tasks');
    // The arrays are row-major over the candidates: a state written for another candidate list would be read
    // with the wrong stride and give plausible-looking nonsense, so its sizes are checked here.
    const sized = (field: keyof PriorsState, rows: number): Float64Array => {
      const a = decodeF64(s[field], `priors.${field}`);
      if (a.length !== rows * nCandidates)
        throw new Error(
          `artifact field "priors.${field}": has ${a.length} values, expected ${rows} × ${nCandidates} candidates (was the state written for another candidate list?)`,
        );
      return a;
    };
    const T = s.tasks.length;
    return new Priors(
      s.tasks,
      nCandidates,
      sized("perf", T),
      sized("cost", T),
      sized("count", T),
      sized("globalPerf", 1),
      sized("globalCost", 1),
      sized("globalCount", 1),
    );
  }
}
