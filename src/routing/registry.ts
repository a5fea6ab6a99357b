import { z } from "zod";
import { UsageError } from "../data/errors.ts";
import { AutoRouter } from "./auto.ts";
import { BestPerTaskRouter, BestSingleRouter, CheapestRouter, RandomRouter } from "./baselines.ts";
import { ClusterRouter } from "./cluster.ts";
import { ConfidenceRouter } from "./confidence.ts";
import { FallbackRouter } from "./fallback.ts";
import { GraphRouter } from "./graph.ts";
import { WithJudge } from "./judge.ts";
import { KnnRouter } from "./knn.ts";
import { IrtRouter, LinearRouter, LogisticRouter, MfRouter, MlpRouter } from "./parametric.ts";
import type { Router } from "./router.ts";

/** Router parameters as given on the command line or stored in an artifact (each router reads its own). */
export type RouterParams = Record<string, unknown>;

interface RouterSpec {
  description: string;
  /** The parameters the router reads: an unknown or mistyped one is an error naming it. */
  params: z.ZodType<RouterParams>;
  make(params: RouterParams): Router;
}

const int = (min: number) => z.int().min(min).optional();
const positive = z.number().positive().optional();
const seed = z.int().optional();
const sgd = { epochs: int(1), batch: int(1), lr: positive, weightDecay: z.number().min(0).optional(), seed };
const none = z.strictObject({});

/** A base router's parameters checked against that router's own schema (for auto and fallback). */
function checkNested(name: unknown, params: unknown, path: (string | number)[], ctx: z.RefinementCtx): void {
  if (typeof name !== "string" || !SPECS[name] || params === undefined) return;
  const r = SPECS[name].params.safeParse(params, { reportInput: true });
  for (const issue of r.error?.issues ?? []) ctx.addIssue({ ...issue, path: [...path, ...issue.path] } as never);
}

/** The confidence routers' parameters (their base is a registered router with its own schema). */
const confidenceParams = z
  .strictObject({
    base: z.string().optional(),
    baseParams: z.record(z.string(), z.unknown()).optional(),
    taus: z.array(z.number().min(0).max(1)).min(1).optional(),
    topK: int(0),
    folds: int(2),
    seed,
  })
  .superRefine((p, ctx) => {
    if (p.base !== undefined && !(p.base in SPECS))
      ctx.addIssue({ code: "custom", path: ["base"], message: `unknown router "${p.base}"`, input: p.base });
    checkNested(p.base ?? "logistic", p.baseParams, ["baseParams"], ctx);
  });

const routerName = z.string().refine((n) => n in SPECS, { error: (i) => `unknown router "${String(i.input)}"` });

/**
 * Name → router class (RouteLLM style): evaluation, the CLI, the gateway and artifacts all create
 * routers through here, so a name always means the same code, defaults and parameter checks.
 */
const SPECS: Record<string, RouterSpec> = {
  random: {
    description: "uniformly random candidate (seeded by the query text)",
    params: z.strictObject({ seed }),
    make: (p) => new RandomRouter((p.seed as number | undefined) ?? 1),
  },
  cheapest: {
    description: "always the cheapest candidate for the task",
    params: none,
    make: () => new CheapestRouter(),
  },
  "best-single": {
    description: "the candidate with the best mean performance on train",
    params: none,
    make: () => new BestSingleRouter(),
  },
  "best-per-task": {
    description: "the best candidate of the query's task on train (best single for unseen tasks)",
    params: none,
    make: () => new BestPerTaskRouter(),
  },
  knn: {
    description: "k nearest same-task neighbours (cosine), distance-weighted, shrunk to the task mean",
    params: z.strictObject({
      k: int(0),
      shrink: z.number().min(-1).optional(),
      sameTask: z.boolean().optional(),
      eps: positive,
      seed,
      projectMinRows: z.number().min(0).optional(),
    }),
    make: (p) => new KnnRouter(p),
  },
  linear: {
    description: "per-candidate ridge regression on embedding ⊕ task ⊕ domain",
    params: z.strictObject({ ridge: z.number().min(0).optional(), seed }),
    make: (p) => new LinearRouter(p),
  },
  logistic: {
    description: "per-candidate logistic regression on embedding ⊕ task ⊕ domain",
    params: z.strictObject(sgd),
    make: (p) => new LogisticRouter(p),
  },
  mlp: {
    description: "one-hidden-layer MLP, one sigmoid output per candidate, early stopping",
    params: z.strictObject({ ...sgd, hidden: int(1) }),
    make: (p) => new MlpRouter(p),
  },
  mf: {
    description: "RouteLLM-style matrix factorisation: projected query × learned model vectors",
    params: z.strictObject({ ...sgd, dim: int(1) }),
    make: (p) => new MfRouter(p),
  },
  irt: {
    description:
      "multidimensional item response theory: query discrimination and difficulty from its embedding, learned model abilities",
    params: z.strictObject({ ...sgd, dim: int(1) }),
    make: (p) => new IrtRouter(p),
  },
  graph: {
    description: "graph of query, task and model nodes; learned weights on two-hop performance messages",
    params: z.strictObject({
      neighbours: int(1),
      halfTrust: z.number().min(0).optional(),
      temperature: positive,
      epochs: int(1),
      taskPenalty: z.number().min(0).optional(),
    }),
    make: (p) => new GraphRouter(p),
  },
  cluster: {
    description: "Avengers-Pro: k-means over query embeddings, per-cluster candidate means; k by CV on train",
    params: z.strictObject({
      ks: z.array(z.int().min(1)).min(1).optional(),
      folds: int(2),
      shrink: z.number().min(0).optional(),
      iterations: int(1),
      seed,
    }),
    make: (p) => new ClusterRouter(p),
  },
  confidence: {
    description:
      "multi-label classifier (default logistic); below confidence τ the best single model; τ by CV on train",
    params: confidenceParams,
    make: (p) => new ConfidenceRouter(p, (name, params) => createRouter(name, params)),
  },
  "confidence-topk": {
    description:
      "confidence router keeping only the k most confident candidates (default 3), the knob picks among them",
    params: confidenceParams,
    make: (p) =>
      new ConfidenceRouter({ topK: 3, ...p }, (name, params) => createRouter(name, params), "confidence-topk"),
  },
  fallback: {
    description: "per task, trust a learned router (default knn) only where it beat the fallbacks out of sample",
    params: z
      .strictObject({
        base: routerName.optional(),
        baseParams: z.record(z.string(), z.unknown()).optional(),
        folds: int(2),
        margin: z.number().optional(),
        seed,
      })
      .superRefine((p, ctx) => checkNested(p.base ?? "knn", p.baseParams, ["baseParams"], ctx)),
    make: (p) => new FallbackRouter(p, (name, params) => createRouter(name, params)),
  },
  auto: {
    description:
      "stacks the others: per task and objective, the base router (or their mean or logistic stack) that beat the task's best model out of fold, else that model; a query already in the routing data is routed by its observed outcome",
    params: z
      .strictObject({
        bases: z.array(routerName).min(1).optional(),
        baseParams: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
        folds: int(2),
        z: z.number().min(0).optional(),
        memory: z.boolean().optional(),
        seed,
      })
      .superRefine((p, ctx) => {
        for (const [name, params] of Object.entries(p.baseParams ?? {}))
          checkNested(name, params, ["baseParams", name], ctx);
      }),
    make: (p) => new AutoRouter(p, (name, params) => makeChecked(name, params)),
  },
};

export const ROUTER_NAMES: string[] = Object.keys(SPECS);

/** The router `train`, `serve` and the demo use when none is named. */
export const DEFAULT_ROUTER = "auto";

export function routerDescription(name: string): string {
  return spec(name).description;
}

function spec(name: string): RouterSpec {
  const s = SPECS[name];
  if (!s) throw new UsageError(`unknown router "${name}" (known: ${ROUTER_NAMES.join(", ")})`);
  return s;
}

/** What is wrong with a router's parameters, naming the parameter; null when they are fine. */
export function routerParamsError(name: string, params: RouterParams): string | null {
  const s = spec(name);
  const r = s.params.safeParse(params, { reportInput: true });
  if (r.success) return null;
  const known = Object.keys((s.params as unknown as { shape?: object }).shape ?? {});
  const issue = r.error.issues[0] as z.core.$ZodIssue & { input?: unknown; keys?: string[] };
  if (issue.code === "unrecognized_keys")
    return `router "${name}": unknown parameter "${issue.keys?.[0]}" (${known.length ? `known: ${known.join(", ")}` : "it takes no parameters"})`;
  const path = issue.path.join(".");
  const got = `got ${JSON.stringify(issue.input)}`;
  let what = issue.message;
  if (issue.code === "invalid_type")
    what = issue.expected === "int" ? "expected an integer" : `expected ${article(issue.expected)}`;
  else if (issue.code === "too_small") what = `must be ${issue.inclusive ? "≥" : ">"} ${issue.minimum}`;
  return `router "${name}": parameter "${path}": ${what}, ${got}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** The router made from checked parameters (no judge head). */
function makeChecked(name: string, params: RouterParams): Router {
  const problem = routerParamsError(name, params);
  if (problem) throw new UsageError(problem);
  return spec(name).make(params);
}

/** A fresh, unfitted router by name (with an LLM-judge head when the training data has judge scores). */
export function createRouter(name: string, params: RouterParams = {}): Router {
  // The judge head is a second instance with the same (already checked) parameters.
  return new WithJudge(makeChecked(name, params), () => spec(name).make(params));
}
