import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { DataError, UsageError } from "../data/errors.ts";
import type { Model } from "../data/types.ts";

/**
 * The providers file: which OpenAI-compatible APIs exist, how to reach them and which models they serve.
 * API keys are never in this file: a provider names the ENVIRONMENT VARIABLE that holds its key.
 * YAML or JSON (JSON is YAML, so one parser reads both and gives line numbers for errors).
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ProviderSchema = z.strictObject({
  name: z.string().min(1),
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** Name of the environment variable holding the key; omit for keyless local servers (vLLM, Ollama). */
  apiKeyEnv: z
    .string()
    .regex(ENV_NAME, "must be an environment variable NAME (letters, digits, _), not the key itself")
    .optional(),
  maxConcurrency: z.int().positive().default(4),
  timeoutMs: z.int().positive().default(120_000),
  retries: z.int().min(0).max(20).default(4),
});

const CapabilitiesSchema = z.strictObject({
  tools: z.boolean().default(false),
  images: z.boolean().default(false),
  reasoning: z.boolean().default(false),
});

const ModelSchema = z.strictObject({
  name: z.string().min(1),
  provider: z.string().min(1),
  upstreamId: z.string().min(1),
  /** USD per 1M input tokens. */
  inputPrice: z.number().nonnegative(),
  /** USD per 1M output tokens. */
  outputPrice: z.number().nonnegative(),
  contextLength: z.int().positive().optional(),
  capabilities: CapabilitiesSchema.default({ tools: false, images: false, reasoning: false }),
  description: z.string().optional(),
});

const FileSchema = z.strictObject({
  providers: z.array(ProviderSchema).min(1),
  models: z.array(ModelSchema).min(1),
});

export type ProviderConfig = z.infer<typeof ProviderSchema>;
export type ModelConfig = z.infer<typeof ModelSchema>;

export interface ProvidersConfig {
  file: string;
  providers: Map<string, ProviderConfig>;
  models: Map<string, ModelConfig>;
}

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(top level)";
}

/** Parse and validate providers text; every error names the file, the line and the field path. */
export function parseProviders(text: string, file: string): ProvidersConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new DataError({ file, line: lineOf(e?.pos[0]) }, null, `not valid YAML/JSON: ${e?.message.split("\n")[0]}`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined)
    throw new DataError({ file, line: 1 }, null, "the providers file is empty (expected `providers:` and `models:`)");
  const parsed = FileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    // Walk up the path until a node exists (a missing field is reported at its parent's line).
    let line = 1;
    for (let n = issue.path.length; n >= 0; n--) {
      const node = doc.getIn(issue.path.slice(0, n) as unknown[], true) as { range?: [number, number] } | undefined;
      if (node?.range) {
        line = lineOf(node.range[0]);
        break;
      }
    }
    throw new DataError({ file, line }, fieldPath(issue.path), issue.message);
  }
  const providers = new Map<string, ProviderConfig>();
  const lineAt = (path: unknown[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number] } | undefined;
    return lineOf(node?.range?.[0]);
  };
  parsed.data.providers.forEach((p, i) => {
    if (providers.has(p.name))
      throw new DataError(
        { file, line: lineAt(["providers", i]) },
        `providers[${i}].name`,
        `duplicate provider "${p.name}"`,
      );
    providers.set(p.name, { ...p, baseUrl: p.baseUrl.replace(/\/+$/, "") });
  });
  const models = new Map<string, ModelConfig>();
  parsed.data.models.forEach((m, i) => {
    if (models.has(m.name))
      throw new DataError({ file, line: lineAt(["models", i]) }, `models[${i}].name`, `duplicate model "${m.name}"`);
    if (!providers.has(m.provider))
      throw new DataError(
        { file, line: lineAt(["models", i, "provider"]) },
        `models[${i}].provider`,
        `unknown provider "${m.provider}" (defined: ${[...providers.keys()].join(", ")})`,
      );
    models.set(m.name, m);
  });
  return { file, providers, models };
}

export function loadProviders(file: string): ProvidersConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read providers file ${file}: ${(e as Error).message}`);
  }
  return parseProviders(text, file);
}

/** The model and its provider, or a usage error listing the known names. */
export function resolveModel(config: ProvidersConfig, name: string): { model: ModelConfig; provider: ProviderConfig } {
  const model = config.models.get(name);
  if (!model)
    throw new UsageError(
      `model "${name}" is not in ${config.file} (known: ${[...config.models.keys()].join(", ") || "none"})`,
    );
  return { model, provider: config.providers.get(model.provider) as ProviderConfig };
}

/** The store's view of a configured model (prices for cost accounting, upstream id for reference). */
export function toStoreModel(m: ModelConfig): Model {
  return {
    name: m.name,
    inputPrice: m.inputPrice,
    outputPrice: m.outputPrice,
    upstreamId: m.upstreamId,
    description: m.description ?? null,
  };
}
