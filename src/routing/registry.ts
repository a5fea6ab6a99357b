import { UsageError } from "../data/errors.ts";
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
  make(params: RouterParams): Router;
}

/**
 * Name → router class (RouteLLM style): evaluation, the CLI, the gateway and artifacts all create
 * routers through here, so a name always means the same code and defaults.
 */
const SPECS: Record<string, RouterSpec> = {
  random: {
    description: "uniformly random candidate (seeded by the query text)",
    make: (p) => new RandomRouter(num(p.seed) ?? 1),
  },
  cheapest: { description: "always the cheapest candidate for the task", make: () => new CheapestRouter() },
  "best-single": {
    description: "the candidate with the best mean performance on train",
    make: () => new BestSingleRouter(),
  },
  "best-per-task": {
    description: "the best candidate of the query's task on train (best single for unseen tasks)",
    make: () => new BestPerTaskRouter(),
  },
  knn: {
    description: "k nearest same-task neighbours (cosine), distance-weighted, shrunk to the task mean",
    make: (p) => new KnnRouter(p),
  },
  linear: {
    description: "per-candidate ridge regression on embedding ⊕ task ⊕ domain",
    make: (p) => new LinearRouter(p),
  },
  logistic: {
    description: "per-candidate logistic regression on embedding ⊕ task ⊕ domain",
    make: (p) => new LogisticRouter(p),
  },
  mlp: {
    description: "one-hidden-layer MLP, one sigmoid output per candidate, early stopping",
    make: (p) => new MlpRouter(p),
  },
  mf: {
    description: "RouteLLM-style matrix factorisation: projected query × learned model vectors",
    make: (p) => new MfRouter(p),
  },
  irt: {
    description:
      "multidimensional item response theory: query discrimination and difficulty from its embedding, learned model abilities",
    make: (p) => new IrtRouter(p),
  },
  graph: {
    description: "graph of query, task and model nodes; learned weights on two-hop performance messages",
    make: (p) => new GraphRouter(p),
  },
  cluster: {
    description: "Avengers-Pro: k-means over query embeddings, per-cluster candidate means; k by CV on train",
    make: (p) => new ClusterRouter(p),
  },
  confidence: {
    description:
      "multi-label classifier (default logistic); below confidence τ the best single model; τ by CV on train",
    make: (p) => new ConfidenceRouter(p, (name, params) => createRouter(name, params)),
  },
  "confidence-topk": {
    description:
      "confidence router keeping only the k most confident candidates (default 3), the knob picks among them",
    make: (p) =>
      new ConfidenceRouter({ topK: 3, ...p }, (name, params) => createRouter(name, params), "confidence-topk"),
  },
  fallback: {
    description: "per task, trust a learned router (default knn) only where it beat the fallbacks out of sample",
    make: (p) => new FallbackRouter(p, (name, params) => createRouter(name, params)),
  },
};

export const ROUTER_NAMES: string[] = Object.keys(SPECS);

export function routerDescription(name: string): string {
  return spec(name).description;
}

function spec(name: string): RouterSpec {
  const s = SPECS[name];
  if (!s) throw new UsageError(`unknown router "${name}" (known: ${ROUTER_NAMES.join(", ")})`);
  return s;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** A fresh, unfitted router by name (with an LLM-judge head when the training data has judge scores). */
export function createRouter(name: string, params: RouterParams = {}): Router {
  const s = spec(name);
  return new WithJudge(s.make(params), () => s.make(params));
}
