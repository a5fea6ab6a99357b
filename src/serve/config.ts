import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { DataError } from "../data/errors.ts";
import { checkProviders, ModelSchema, ProviderSchema, type ProvidersConfig } from "../llm/providers.ts";
import { SCENARIOS } from "../routing/objective.ts";
import { readInputFile } from "../util/read-input.ts";
import { parseYaml } from "../util/yaml-config.ts";
import { LOG_MODES } from "./log-mode.ts";
import { parseRetrainEvery, RETRAIN_EVERY_EXPECTED } from "./retrain-schedule.ts";

/**
 * The gateway's one configuration file (`fusionkit serve --config fusionkit.yaml`): upstream providers and
 * models (the providers-file format), routers and their variants, knob and routing defaults, thought
 * templates, the key policy and limits. Each setting stands for the `serve` flag of the same meaning; a flag
 * given on the command line overrides the file. `fusionkit init` writes one.
 */

const scenario = z.enum(Object.keys(SCENARIOS) as [string, ...string[]]);

const ConfigSchema = z.strictObject({
  /** The SQLite store (keys, exchange log, routing data, saved routers); relative to the config file. */
  store: z.string().min(1).optional(),
  listen: z.strictObject({ host: z.string().min(1).optional(), port: z.int().min(0).max(65535).optional() }).optional(),
  providers: z.array(ProviderSchema).min(1),
  models: z.array(ModelSchema).min(1),
  /** Router artifacts: a file (relative to the config file) or the id of a router saved in the store. */
  routers: z.array(z.strictObject({ artifact: z.string().min(1) })).optional(),
  /** Extra virtual models: name → `<scenario>` | `lambda:<x>`, optionally `@<router>`. */
  variants: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Knob of fusionkit/auto and how the router reads a conversation. */
  defaults: z
    .strictObject({
      scenario: scenario.optional(),
      lambda: z.number().nonnegative().optional(),
      routeOn: z.enum(["conversation", "last-user"]).optional(),
      routeChars: z.int().positive().optional(),
      sessionTolerance: z.number().nonnegative().optional(),
    })
    .refine((d) => d.scenario === undefined || d.lambda === undefined, "give scenario or lambda, not both")
    .optional(),
  thought: z.strictObject({ set: z.string().min(1).optional(), always: z.boolean().optional() }).optional(),
  keys: z.strictObject({ required: z.boolean().optional() }).optional(),
  /** ε exploration: this share of routed requests goes to the runner-up candidate. */
  explore: z.number().min(0).max(1).optional(),
  /** What an exchange stores (serve/log-mode.ts) and how many days the log keeps (0 or absent: forever). */
  logging: z
    .strictObject({ mode: z.enum(LOG_MODES).optional(), retentionDays: z.number().nonnegative().optional() })
    .optional(),
  /** Learning from traffic: retrain fusionkit/auto's router every `every` new labels (or period), `holdout` held back. */
  retrain: z
    .strictObject({
      every: z.union([z.int().positive(), z.string().min(1)]),
      holdout: z.number().gt(0).lt(1).optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      bodyLimit: z.int().positive().optional(),
      sessionTtl: z.int().min(0).optional(),
      shutdownGraceMs: z.int().min(0).optional(),
      breakerThreshold: z.int().positive().optional(),
      breakerCooldownMs: z.int().min(0).optional(),
      embedCache: z.int().min(0).optional(),
      decisionCache: z.int().min(0).optional(),
    })
    .optional(),
});

export type ServeConfigFile = z.output<typeof ConfigSchema>;

/** The serve settings as the flags carry them (strings, validated where they are used). */
export interface ServeSettings {
  router: string[];
  scenario?: string;
  lambda?: string;
  variant: string[];
  host: string;
  port: string;
  auth: boolean;
  db: string;
  bodyLimit: string;
  routeOn: string;
  routeChars: string;
  thoughtSet?: string;
  thought?: boolean;
  embedCache: string;
  decisionCache: string;
  breakerThreshold: string;
  breakerCooldownMs: string;
  sessionTtl: string;
  sessionTolerance: string;
  shutdownGraceMs: string;
  /** What an exchange stores: full | redacted | metadata (serve/log-mode.ts). */
  logMode: string;
  /** Days of exchanges the log keeps ("0": all). */
  logRetentionDays: string;
  /** `--retrain-every`: new labels (e.g. "50") or a period ("10m"); unset: no background retraining. */
  retrainEvery?: string;
  /** `--holdout`: share of labelled traffic held back to compare retrained and live routers. */
  holdout: string;
  /** `--explore`: share of routed requests sent to the runner-up. */
  explore: string;
}

export interface ServeConfig {
  file: string;
  providers: ProvidersConfig;
  /** The settings the file gives (only those it gives). */
  settings: Partial<ServeSettings>;
  /** The providers and models sections as text, to tell whether a reload changed them. */
  upstreamKey: string;
}

export function parseServeConfig(text: string, file: string): ServeConfig {
  const { data, lineAt } = parseYaml(
    text,
    file,
    ConfigSchema,
    "the config file is empty (expected at least `providers:` and `models:`; `fusionkit init` writes one)",
  );
  const providers = checkProviders(data, file, lineAt);
  const base = dirname(resolve(file));
  const near = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const s: Partial<ServeSettings> = {};
  const str = (v: number | undefined) => (v === undefined ? undefined : String(v));
  if (data.store !== undefined) s.db = near(data.store);
  if (data.listen?.host !== undefined) s.host = data.listen.host;
  if (data.listen?.port !== undefined) s.port = String(data.listen.port);
  // A router that is not a file next to the config is the id of a router saved in the store.
  if (data.routers) s.router = data.routers.map((r) => (existsSync(near(r.artifact)) ? near(r.artifact) : r.artifact));
  if (data.variants) s.variant = Object.entries(data.variants).map(([name, spec]) => `${name}=${spec}`);
  const d = data.defaults;
  if (d?.scenario !== undefined) s.scenario = d.scenario;
  if (d?.lambda !== undefined) s.lambda = String(d.lambda);
  if (d?.routeOn !== undefined) s.routeOn = d.routeOn;
  if (d?.routeChars !== undefined) s.routeChars = String(d.routeChars);
  if (d?.sessionTolerance !== undefined) s.sessionTolerance = String(d.sessionTolerance);
  if (data.thought?.set !== undefined) s.thoughtSet = data.thought.set;
  if (data.thought?.always !== undefined) s.thought = data.thought.always;
  if (data.keys?.required !== undefined) s.auth = data.keys.required;
  if (data.explore !== undefined) s.explore = String(data.explore);
  if (data.logging?.mode !== undefined) s.logMode = data.logging.mode;
  if (data.logging?.retentionDays !== undefined) s.logRetentionDays = String(data.logging.retentionDays);
  if (data.retrain) {
    s.retrainEvery = String(data.retrain.every);
    try {
      parseRetrainEvery(s.retrainEvery);
    } catch {
      throw new DataError(
        { file, line: lineAt(["retrain", "every"]) },
        "retrain.every",
        `${RETRAIN_EVERY_EXPECTED}, got ${JSON.stringify(data.retrain.every)}`,
      );
    }
    if (data.retrain.holdout !== undefined) s.holdout = String(data.retrain.holdout);
  }
  const l = data.limits ?? {};
  for (const k of Object.keys(l) as Array<keyof typeof l>) {
    const v = str(l[k]);
    if (v !== undefined) s[k] = v;
  }
  return {
    file,
    providers,
    settings: s,
    upstreamKey: JSON.stringify([data.providers, data.models]),
  };
}

export function loadServeConfig(file: string): ServeConfig {
  const text = readInputFile(file, "config");
  return parseServeConfig(text, file);
}

/**
 * Settings in effect: a flag given on the command line wins, then the config file, then the flag's default.
 * `given(name)` tells whether the command line set a flag.
 */
export function mergeSettings(
  flags: ServeSettings,
  fromFile: Partial<ServeSettings>,
  given: (name: keyof ServeSettings) => boolean,
): ServeSettings {
  const out: ServeSettings = { ...flags };
  for (const k of Object.keys(fromFile) as Array<keyof ServeSettings>) {
    if (k === "variant") continue;
    if (!given(k)) (out as unknown as Record<string, unknown>)[k] = fromFile[k];
  }
  // A knob on the command line replaces the file's, whichever form (scenario or lambda) each uses.
  if (given("scenario") || given("lambda")) {
    out.scenario = flags.scenario;
    out.lambda = flags.lambda;
  }
  // Variants add up; a command-line variant of the same name wins (later ones replace earlier ones).
  out.variant = [...(fromFile.variant ?? []), ...flags.variant];
  return out;
}
