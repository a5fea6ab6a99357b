import { z } from "zod";
import { DataError, UsageError } from "../data/errors.ts";
import type { Model } from "../data/types.ts";
import { readInputFile } from "../util/read-input.ts";
import { parseYaml } from "../util/yaml-config.ts";

/**
 * The providers file: which OpenAI-compatible APIs exist, how to reach them and which models they serve.
 * API keys are never in this file: a provider names the ENVIRONMENT VARIABLE that holds its key.
 * YAML or JSON (JSON is YAML, so one parser reads both and gives line numbers for errors).
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ProviderSchema = z.strictObject({
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

export const ModelSchema = z.strictObject({
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

/** Parse and validate providers text; every error names the file, the line and the field path. */
export function parseProviders(text: string, file: string): ProvidersConfig {
  const { data, lineAt } = parseYaml(
    text,
    file,
    FileSchema,
    "the providers file is empty (expected `providers:` and `models:`)",
  );
  return checkProviders(data, file, lineAt);
}

/** The providers and models sections (of a providers file or a serve config): names unique, providers known. */
export function checkProviders(
  data: { providers: ProviderConfig[]; models: ModelConfig[] },
  file: string,
  lineAt: (path: unknown[]) => number,
): ProvidersConfig {
  const providers = new Map<string, ProviderConfig>();
  data.providers.forEach((p, i) => {
    if (providers.has(p.name))
      throw new DataError(
        { file, line: lineAt(["providers", i]) },
        `providers[${i}].name`,
        `duplicate provider "${p.name}"`,
      );
    providers.set(p.name, { ...p, baseUrl: p.baseUrl.replace(/\/+$/, "") });
  });
  const models = new Map<string, ModelConfig>();
  data.models.forEach((m, i) => {
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
  const text = readInputFile(file, "providers");
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
