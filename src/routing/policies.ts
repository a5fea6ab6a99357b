import { UsageError } from "../data/errors.ts";
import { CascadePolicy } from "./cascade.ts";
import type { Policy } from "./policy.ts";
import { createRouter, type RouterParams } from "./registry.ts";
import { VotePolicy } from "./vote.ts";

/** Name → multi-call policy, as the router registry does for single-pick routers. */
const SPECS: Record<string, { description: string; make(params: RouterParams): Policy }> = {
  cascade: {
    description:
      "per task, a chain cheap → strong that stops when answers agree; chain and operating point learned by CV on train",
    make: (p) => new CascadePolicy(p),
  },
  vote: {
    description:
      "the top-k candidates of a router (default knn), weighted majority of their answers; k per λ by CV on train",
    make: (p) => new VotePolicy(p, (name, params) => createRouter(name, params)),
  },
};

export const POLICY_NAMES: string[] = Object.keys(SPECS);

export function policyDescription(name: string): string {
  return spec(name).description;
}

function spec(name: string) {
  const s = SPECS[name];
  if (!s) throw new UsageError(`unknown policy "${name}" (known: ${POLICY_NAMES.join(", ")})`);
  return s;
}

export function createPolicy(name: string, params: RouterParams = {}): Policy {
  return spec(name).make(params);
}
