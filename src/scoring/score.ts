import { UsageError } from "../data/errors.ts";
import {
  type CodeRunLimits,
  DEFAULT_LIMITS,
  entryPointOf,
  humanEvalProgram,
  mbppProgram,
  runPython,
} from "./code-eval.ts";
import { answerTagContent, cem, commongenCoverage, emMc, f1, gsm8k, math, normalizeAnswer } from "./text-metrics.ts";

/** The metric names FusionBench files use, mapped to ours. */
const ALIASES: Record<string, Metric> = {
  cem: "cem",
  em: "em",
  em_mc: "em_mc",
  gsm8k: "gsm8k",
  math: "math",
  f1: "f1",
  f1_score: "f1",
  f1_tagged: "f1_tagged",
  code_eval: "code_eval",
  commongen_coverage: "commongen_coverage",
};

export type Metric =
  | "cem"
  | "em"
  | "em_mc"
  | "gsm8k"
  | "math"
  | "f1"
  | "f1_tagged"
  | "code_eval"
  | "commongen_coverage";
export const METRICS: readonly Metric[] = [
  "cem",
  "em",
  "em_mc",
  "gsm8k",
  "math",
  "f1",
  "f1_tagged",
  "code_eval",
  "commongen_coverage",
];

/** Our metric for a file's metric name (case-insensitive, FusionBench aliases), or null when unknown. */
export function canonicalMetric(name: string | null | undefined): Metric | null {
  if (!name) return null;
  return ALIASES[name.trim().toLowerCase()] ?? null;
}

export interface ScoringItem {
  task: string;
  metric: string;
  query: string;
  /** A gold answer, a JSON array of acceptable answers, or (code) the tests. */
  groundTruth: string | null;
  /** "HumanEval/8" for HumanEval; MBPP and others as given. */
  taskId?: string | null;
  /** HumanEval: the function under test; found from the prompt when absent. */
  entryPoint?: string | null;
}

export interface ScoreOptions {
  /** code_eval runs model-written code on this machine; off unless the user asked for it. */
  allowCodeExec?: boolean;
  codeLimits?: CodeRunLimits;
}

export interface Score {
  score: number;
  /** For code: the run status ("passed", "failed (exit 1)", "timed out"); for text: what was compared. */
  detail: string;
}

export class CodeExecDisabledError extends UsageError {
  constructor(task: string) {
    super(
      `task "${task}" is scored with code_eval, which runs model-written code on this machine; ` +
        "pass --allow-code-exec to enable it (see README: what its isolation does not protect against)",
    );
  }
}

/** Acceptable answers: a JSON array of strings is several golds, anything else is one. */
export function goldAnswers(groundTruth: string): string[] {
  const t = groundTruth.trim();
  if (t.startsWith("[") && t.endsWith("]")) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.length && v.every((x) => typeof x === "string")) return v as string[];
    } catch {
      // not JSON: a single answer that happens to start with "["
    }
  }
  return [groundTruth];
}

function best(golds: string[], f: (g: string) => number): number {
  return Math.max(...golds.map(f));
}

export function isHumanEval(item: ScoringItem): boolean {
  return /^humaneval/i.test(item.taskId ?? "") || /^human_?eval$/i.test(item.task);
}

/** Score one response in [0,1] with the item's metric. */
export async function scoreResponse(item: ScoringItem, response: string, options: ScoreOptions = {}): Promise<Score> {
  const metric = canonicalMetric(item.metric);
  if (!metric) throw new UsageError(`unknown metric "${item.metric}" (known: ${METRICS.join(", ")})`);
  if (item.groundTruth === null || item.groundTruth === undefined)
    throw new UsageError(`task "${item.task}": no ground truth to score against`);
  const gt = item.groundTruth;
  switch (metric) {
    case "cem":
      return { score: best(goldAnswers(gt), (g) => cem(response, g)), detail: "gold contained" };
    case "em":
      return {
        score: best(goldAnswers(gt), (g) => (normalizeAnswer(response) === normalizeAnswer(g) ? 1 : 0)),
        detail: "exact match",
      };
    case "em_mc":
      return { score: emMc(response, gt), detail: "last (X) choice" };
    case "gsm8k":
      return { score: gsm8k(response, gt), detail: "last number" };
    case "math":
      return { score: math(response, gt), detail: "last \\boxed{}" };
    case "f1":
      return { score: best(goldAnswers(gt), (g) => f1(response, g)), detail: "token F1" };
    case "f1_tagged": {
      const tagged = answerTagContent(response);
      if (tagged === null) return { score: 0, detail: "no <answer> tag" };
      return { score: best(goldAnswers(gt), (g) => f1(tagged, g)), detail: "token F1 of the <answer> tag" };
    }
    case "commongen_coverage":
      return { score: commongenCoverage(response, gt), detail: "concept coverage" };
    case "code_eval": {
      if (!options.allowCodeExec) throw new CodeExecDisabledError(item.task);
      const limits = options.codeLimits ?? DEFAULT_LIMITS;
      let program: string;
      if (isHumanEval(item)) {
        const entry = item.entryPoint ?? entryPointOf(item.query);
        if (!entry) return { score: 0, detail: "no function definition found in the HumanEval prompt" };
        program = humanEvalProgram(item.query, response, gt, entry);
      } else program = mbppProgram(response, gt);
      const run = await runPython(program, limits);
      return { score: run.passed ? 1 : 0, detail: run.passed ? run.status : `${run.status}: ${run.stderr}`.trim() };
    }
  }
}
