import type { Knob } from "./objective.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";

interface JudgeState {
  main: unknown;
  judge: unknown | null;
}

/**
 * Gives any router an LLM-judge head: when the training data has judge scores, a second instance of the
 * same router is fitted with the judge scores as its target, and predictions carry both (the
 * "llm-judge" scenario ranks by the judge head). Without judge data it is the plain router.
 */
export class WithJudge implements Router {
  private judge: Router | null = null;
  constructor(
    readonly main: Router,
    private readonly create: () => Router,
  ) {}

  get name(): string {
    return this.main.name;
  }

  /** Whether the router was trained on data with judge scores, so its predictions carry a judge head. */
  get hasJudgeHead(): boolean {
    return this.judge !== null;
  }

  fit(data: TrainingSet): void {
    this.main.fit(data);
    this.judge = null;
    if (data.judge?.some((v) => !Number.isNaN(v))) {
      this.judge = this.create();
      this.judge.fit({ ...data, performance: data.judge, judge: null });
    }
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    const pred = this.main.predict(queries, opts);
    if (!this.judge) return pred;
    const judge = this.judge.predict(queries).performance;
    pred.judge = judge;
    // Knob-specific predictions carry the same judge head.
    const under = pred.underKnob;
    if (under) pred.underKnob = (knob) => ({ ...under(knob), judge });
    return pred;
  }

  state(): JudgeState {
    return { main: this.main.state(), judge: this.judge ? this.judge.state() : null };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as JudgeState;
    if (!s || typeof s !== "object" || !("main" in s))
      throw new Error('artifact field "state": expected {main, judge}');
    this.main.restore(s.main, candidates);
    this.judge = null;
    if (s.judge !== null && s.judge !== undefined) {
      this.judge = this.create();
      this.judge.restore(s.judge, candidates);
    }
  }
}

/** Whether predictions of `router` carry LLM-judge scores (every registry router is a WithJudge). */
export function predictsJudge(router: Router): boolean {
  return router instanceof WithJudge && router.hasJudgeHead;
}

/**
 * Why `knob` cannot rank `router`'s predictions, or null when it can: llm-judge on a router without a judge
 * head would silently rank by performance (objective.ts), so `route` and the gateway refuse it instead.
 */
export function judgeKnobProblem(knob: Knob, router: Router, source: string): string | null {
  if (!("scenario" in knob) || knob.scenario !== "llm-judge" || predictsJudge(router)) return null;
  return `scenario llm-judge ranks by predicted LLM-judge scores, and router ${source} was trained on data without any; choose another scenario or retrain after "fusionkit judge"`;
}
