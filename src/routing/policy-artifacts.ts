import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { DataError } from "../data/errors.ts";
import { createPolicy } from "./policies.ts";
import type { Policy, PolicyData } from "./policy.ts";
import type { RouterParams } from "./registry.ts";
import type { CandidateInfo } from "./router.ts";

/**
 * A fitted multi-call policy as a file: what `fusionkit eval` measured is what a gateway loads and serves.
 * Stop rules hold ±Infinity ("never by agreement"), which JSON cannot; they are written as the strings
 * "Infinity" / "-Infinity" and read back as numbers.
 */
export interface PolicyArtifact {
  format: "fusionkit-policy";
  version: 1;
  policy: string;
  params: RouterParams;
  /** Embedder of the query vectors the policy's router (if any) was trained on. */
  embedder: string;
  candidates: CandidateInfo[];
  state: unknown;
  trainedAt: string;
}

export interface LoadedPolicy {
  policy: Policy;
  name: string;
  params: RouterParams;
  embedder: string;
  candidates: CandidateInfo[];
  trainedAt: string;
  source: string;
}

/** Create a policy by name and fit it on train data with recorded answers. */
export function trainPolicy(name: string, data: PolicyData, embedder: string, params: RouterParams = {}): LoadedPolicy {
  if (data.queries.length === 0) throw new DataError(null, null, "the training set has no queries");
  const policy = createPolicy(name, params);
  policy.fit(data);
  return {
    policy,
    name,
    params,
    embedder,
    candidates: data.candidates,
    trainedAt: new Date().toISOString(),
    source: `trained ${name}`,
  };
}

function encode(_key: string, v: unknown): unknown {
  return v === Number.POSITIVE_INFINITY ? "Infinity" : v === Number.NEGATIVE_INFINITY ? "-Infinity" : v;
}

function decode(_key: string, v: unknown): unknown {
  return v === "Infinity" ? Number.POSITIVE_INFINITY : v === "-Infinity" ? Number.NEGATIVE_INFINITY : v;
}

/** Write the artifact atomically (a reader never sees half a file). */
export function savePolicy(l: LoadedPolicy, path: string): void {
  const artifact: PolicyArtifact = {
    format: "fusionkit-policy",
    version: 1,
    policy: l.name,
    params: l.params,
    embedder: l.embedder,
    candidates: l.candidates,
    state: l.policy.state(),
    trainedAt: l.trainedAt,
  };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(artifact, encode));
  renameSync(tmp, path);
}

function fail(source: string, field: string | null, problem: string): never {
  throw new DataError({ file: source, line: 1 }, field, problem);
}

/** Load a policy artifact; errors name the file and the field. */
export function loadPolicy(path: string): LoadedPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"), decode);
  } catch (e) {
    fail(path, null, `cannot read policy artifact: ${(e as Error).message}`);
  }
  const a = raw as Partial<PolicyArtifact> | null;
  if (!a || typeof a !== "object" || a.format !== "fusionkit-policy")
    fail(path, "format", 'not a FusionKit policy artifact (expected format "fusionkit-policy")');
  if (a.version !== 1) fail(path, "version", `unsupported artifact version ${String(a.version)} (this build reads 1)`);
  if (typeof a.policy !== "string") fail(path, "policy", "missing policy name");
  if (typeof a.embedder !== "string") fail(path, "embedder", "missing embedder name");
  if (!Array.isArray(a.candidates) || a.candidates.some((c) => typeof c?.key !== "string"))
    fail(path, "candidates", "expected a list of candidates with keys");
  const params = (a.params ?? {}) as RouterParams;
  let policy: Policy;
  try {
    policy = createPolicy(a.policy, params);
  } catch (e) {
    fail(path, "policy", (e as Error).message);
  }
  try {
    policy.restore(a.state, a.candidates);
  } catch (e) {
    fail(path, "state", (e as Error).message);
  }
  return {
    policy,
    name: a.policy,
    params,
    embedder: a.embedder,
    candidates: a.candidates,
    trainedAt: a.trainedAt ?? "",
    source: path,
  };
}
