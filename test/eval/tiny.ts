import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "../../src/routing/router.ts";

/**
 * Tiny real routers and a tiny two-task, two-candidate data set for evaluation and report tests, small
 * enough that every metric can be worked out by hand (see test/eval/evaluate.test.ts).
 */

// Two tasks, two candidates (cheap costs 1, dear costs 3). Every figure asserted below is worked by hand
// in the comments from these matrices.
export const candidates: CandidateInfo[] = [
  { key: "cheap", model: "cheap", mode: "direct", inputPrice: 1, outputPrice: 1, description: null },
  { key: "dear", model: "dear", mode: "direct", inputPrice: 3, outputPrice: 3, description: null },
];
const q = (task: string, i: number): RouteQuery => ({ text: `${task}${i}`, embedding: new Float32Array(1), task });
export const set = (tasks: string[], perf: number[]): TrainingSet => ({
  candidates,
  queries: tasks.map(q),
  performance: Float64Array.from(perf),
  cost: Float64Array.from(tasks.flatMap(() => [1, 3])),
  judge: null,
});
// train: task A cheap 1 / dear 0.5; task B cheap 0 / dear 1 (two queries each)
export const train = set(["A", "A", "B", "B"], [1, 0.5, 1, 0.5, 0, 1, 0, 1]);
// test rows (cheap, dear): A (1,0), A (1,1), B (0,1), B (0.5,1)
export const testSet = set(["A", "A", "B", "B"], [1, 0, 1, 1, 0, 1, 0.5, 1]);

/** Predicts each candidate's mean train performance and cost within the query's task. */
export class TaskMeanRouter implements Router {
  readonly name = "task-mean";
  private means = new Map<string, { p: number[]; k: number[] }>();
  fit(data: TrainingSet): void {
    const c = data.candidates.length;
    const acc = new Map<string, { p: number[]; k: number[]; n: number }>();
    data.queries.forEach((query, i) => {
      const a = acc.get(query.task ?? "") ?? { p: new Array(c).fill(0), k: new Array(c).fill(0), n: 0 };
      for (let j = 0; j < c; j++) {
        a.p[j] += data.performance[i * c + j];
        a.k[j] += data.cost[i * c + j];
      }
      a.n++;
      acc.set(query.task ?? "", a);
    });
    for (const [t, a] of acc) this.means.set(t, { p: a.p.map((v) => v / a.n), k: a.k.map((v) => v / a.n) });
  }
  predict(queries: RouteQuery[]): Prediction {
    const rows = queries.map((x) => this.means.get(x.task ?? "") as { p: number[]; k: number[] });
    return {
      performance: Float64Array.from(rows.flatMap((r) => r.p)),
      cost: Float64Array.from(rows.flatMap((r) => r.k)),
    };
  }
  state(): unknown {
    return Object.fromEntries(this.means);
  }
  restore(state: unknown): void {
    this.means = new Map(Object.entries(state as Record<string, { p: number[]; k: number[] }>));
  }
}

/** Predicts the same performance and cost for every query. */
export class ConstantRouter implements Router {
  readonly name = "constant";
  constructor(
    private readonly perf: number[],
    private readonly cost: number[],
  ) {}
  fit(): void {}
  predict(queries: RouteQuery[]): Prediction {
    return {
      performance: Float64Array.from(queries.flatMap(() => this.perf)),
      cost: Float64Array.from(queries.flatMap(() => this.cost)),
    };
  }
  state(): unknown {
    return null;
  }
  restore(): void {}
}
