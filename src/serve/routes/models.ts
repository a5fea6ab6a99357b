import type { Hono } from "hono";
import type { ProvidersConfig } from "../../llm/providers.ts";
import { knobLabel } from "../../routing/objective.ts";
import type { AppDeps, Env } from "../context.ts";
import type { ServedPolicy } from "../policy.ts";
import type { VirtualModel } from "../virtual.ts";

/**
 * GET /v1/models: the virtual router models first, then the multi-call policies served (fusionkit/cascade,
 * fusionkit/vote), then every upstream model, in OpenAI's list format.
 */
export function registerModels(app: Hono<Env>, deps: AppDeps): void {
  app.get("/v1/models", (c) => c.body(deps.modelsJson, 200, { "content-type": "application/json" }));
}

export function modelsJson(
  virtuals: Iterable<VirtualModel>,
  policies: Iterable<ServedPolicy>,
  providers: ProvidersConfig,
  startedAt: number,
): string {
  const created = Math.floor(startedAt / 1000);
  const data: Record<string, unknown>[] = [];
  for (const v of virtuals)
    data.push({
      id: v.name,
      object: "model",
      created,
      owned_by: "fusionkit",
      description: `routes each request with router '${v.router.name}' (${knobLabel(v.knob)}) over ${v.router.candidates.filter((c) => providers.models.has(c.model)).length} configured candidates`,
    });
  for (const p of policies)
    data.push({
      id: p.name,
      object: "model",
      created,
      owned_by: "fusionkit",
      description: `multi-call policy '${p.loaded.name}' over ${p.loaded.candidates.filter((c) => providers.models.has(c.model)).length} configured candidates, at its cross-validated within-cost operating point`,
    });
  for (const m of providers.models.values())
    data.push({
      id: m.name,
      object: "model",
      created,
      owned_by: m.provider,
      context_length: m.contextLength ?? null,
      capabilities: m.capabilities,
      pricing: { input_per_1m: m.inputPrice, output_per_1m: m.outputPrice },
    });
  return JSON.stringify({ object: "list", data });
}
