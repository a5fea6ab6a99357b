import { UsageError } from "../data/errors.ts";
import { domainOfTask } from "../data/tasks.ts";
import {
  type Knob,
  knobLabel,
  type PredictionRow,
  rank,
  rowsUnderKnob,
  type Scale,
  type ScalesState,
  scaleFor,
} from "../routing/objective.ts";
import type { CandidateInfo, RankedCandidate, Router } from "../routing/router.ts";
import type { EmbeddingLru } from "./embed-lru.ts";
import type { Lru } from "./lru.ts";

/**
 * Virtual models: names a client sends as `model` (fusionkit/auto, fusionkit/cost-first, ...) that stand for
 * a trained router and a knob. A LoadedRouter is one artifact loaded once at startup; several virtual models
 * may share it with different knobs.
 */

export interface LoadedRouter {
  /** Label shown in x-fusionkit-router (the artifact's router name, e.g. "knn"). */
  name: string;
  /** Where the artifact came from: a store id, or a file's base name (x-fusionkit-router-artifact). */
  artifact: string;
  router: Router;
  candidates: CandidateInfo[];
  scales: ScalesState;
  /** The artifact's default knob. */
  knob: Knob;
  embedder: EmbeddingLru;
  /**
   * Predictions per (task, routing text): routers are deterministic, so a repeated query skips both the
   * embedding and the router; the knob and the filters still apply per request. Size 0 disables it.
   */
  decisions: Lru<PredictionRow>;
}

export interface VirtualModel {
  name: string;
  router: LoadedRouter;
  knob: Knob;
}

export const AUTO = "fusionkit/auto";

/** Ranked candidates for one routing text under a knob, best first. */
export async function rankText(
  r: LoadedRouter,
  text: string,
  knob: Knob,
  task: string | null,
): Promise<RankedCandidate[]> {
  // The knob is part of the key: a router may predict differently per objective (auto).
  const key = `${knobLabel(knob)}\u0000${task ?? ""}\u0000${text}`;
  let row = r.decisions.get(key);
  if (!row) {
    const embedding = await r.embedder.embed(text);
    const pred = r.router.predict([{ text, embedding, task, domain: task ? domainOfTask(task) : null }]);
    [row] = rowsUnderKnob(pred, knob, r.candidates.length);
    r.decisions.set(key, row);
  }
  const scale: Scale = scaleFor(r.scales, task);
  return rank(row, r.candidates, knob, scale);
}

/** `x-fusionkit-router` value: router name and knob. */
export function routerLabel(v: VirtualModel, knob: Knob): string {
  return `${v.router.name};${knobLabel(knob)}`;
}

/**
 * Parse a `--variant` spec: `<name>=<scenario>` or `<name>=lambda:<x>`, optionally `@<router-label>` to pick
 * one of several loaded routers. The name gets the "fusionkit/" prefix when it has none.
 */
export function parseVariant(
  spec: string,
  routers: Map<string, LoadedRouter>,
  parseKnob: (scenario: string | undefined, lambda: string | undefined) => Knob,
): VirtualModel {
  const m = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(spec.trim());
  if (!m) throw new UsageError(`--variant "${spec}": expected <name>=<scenario>|lambda:<x>[@<router>]`);
  const name = m[1].includes("/") ? m[1] : `fusionkit/${m[1]}`;
  const knobSpec = m[2].trim();
  const knob = knobSpec.startsWith("lambda:")
    ? parseKnob(undefined, knobSpec.slice("lambda:".length))
    : parseKnob(knobSpec, undefined);
  const routerName = m[3]?.trim();
  const router = routerName ? routers.get(routerName) : routers.values().next().value;
  if (!router)
    throw new UsageError(
      `--variant "${spec}": no router "${routerName}" loaded (have: ${[...routers.keys()].join(", ") || "none"})`,
    );
  return { name, router, knob };
}
