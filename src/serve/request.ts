import type { Knob } from "../routing/objective.ts";
import type { RouteOn, WireMessage } from "./conversation.ts";
import { badRequest } from "./errors.ts";

/**
 * The parts of a chat-completions body the gateway acts on, validated. Per-request routing knobs travel in
 * a `fusionkit` object in the body (removed before forwarding):
 *   {"fusionkit": {"models": [...], "max_cost": 0.001, "scenario": "balance" | "lambda": 2000,
 *                  "thought": true, "route_on": "last-user", "task": "gsm8k"}}
 */

export interface RequestKnobs {
  /** Allowed upstream models (names from the providers file). */
  models: Set<string> | null;
  /** Upper bound on predicted USD cost of the answer. */
  maxCost: number | null;
  knob: Knob | null;
  thought: boolean | null;
  routeOn: RouteOn | null;
  /** The query's task when the client knows it (routers use it: same-task neighbours, per-task scales). */
  task: string | null;
}

export interface ChatBody {
  raw: Record<string, unknown>;
  model: string;
  messages: WireMessage[];
  stream: boolean;
  /** The client asked for the usage chunk of a stream. */
  wantsUsage: boolean;
  knobs: RequestKnobs;
  /** `user` field, used as the session key when there is no x-session-id header. */
  user: string | null;
}

const SCENARIO_NAMES = new Set(["performance-first", "balance", "cost-first", "llm-judge"]);

/**
 * Deepest nesting of arrays and objects a body may have: far beyond any real request (tool schemas included),
 * far below what the recursive code after parsing (JSON.stringify when forwarding) survives.
 */
export const MAX_DEPTH = 100;

export function parseChatBody(value: unknown): ChatBody {
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw badRequest("the request body must be a JSON object");
  checkDepth(value);
  const raw = value as Record<string, unknown>;
  if (typeof raw.model !== "string" || !raw.model)
    throw badRequest(
      "'model' is required: a virtual model such as fusionkit/auto or an upstream model name",
      null,
      "model",
    );
  const messages = raw.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest("'messages' must be a non-empty array", null, "messages");
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as { role?: unknown } | null;
    if (!m || typeof m !== "object" || typeof m.role !== "string")
      throw badRequest(`messages[${i}] must be an object with a string 'role'`, null, `messages[${i}].role`);
  }
  const streamOpts = raw.stream_options as { include_usage?: unknown } | undefined;
  return {
    raw,
    model: raw.model,
    messages: messages as WireMessage[],
    stream: raw.stream === true,
    wantsUsage: streamOpts?.include_usage === true,
    knobs: parseKnobs(raw.fusionkit),
    user: typeof raw.user === "string" && raw.user ? raw.user : null,
  };
}

function parseKnobs(v: unknown): RequestKnobs {
  const k: RequestKnobs = { models: null, maxCost: null, knob: null, thought: null, routeOn: null, task: null };
  if (v === undefined || v === null) return k;
  if (typeof v !== "object" || Array.isArray(v)) throw badRequest("'fusionkit' must be an object", null, "fusionkit");
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!["models", "max_cost", "scenario", "lambda", "thought", "route_on", "task"].includes(key))
      throw badRequest(
        `unknown field fusionkit.${key} (known: models, max_cost, scenario, lambda, thought, route_on, task)`,
        null,
        `fusionkit.${key}`,
      );
  if (o.models !== undefined) {
    if (!Array.isArray(o.models) || o.models.length === 0 || !o.models.every((m) => typeof m === "string"))
      throw badRequest("fusionkit.models must be a non-empty array of model names", null, "fusionkit.models");
    k.models = new Set(o.models as string[]);
  }
  if (o.max_cost !== undefined) {
    if (typeof o.max_cost !== "number" || !(o.max_cost >= 0) || !Number.isFinite(o.max_cost))
      throw badRequest("fusionkit.max_cost must be a finite number ≥ 0 (USD per request)", null, "fusionkit.max_cost");
    k.maxCost = o.max_cost;
  }
  if (o.scenario !== undefined && o.lambda !== undefined)
    throw badRequest("give fusionkit.scenario or fusionkit.lambda, not both", null, "fusionkit.scenario");
  if (o.scenario !== undefined) {
    if (typeof o.scenario !== "string" || !SCENARIO_NAMES.has(o.scenario))
      throw badRequest(
        `fusionkit.scenario must be one of ${[...SCENARIO_NAMES].join(", ")}`,
        null,
        "fusionkit.scenario",
      );
    k.knob = { scenario: o.scenario as "performance-first" };
  }
  if (o.lambda !== undefined) {
    if (typeof o.lambda !== "number" || !(o.lambda >= 0) || !Number.isFinite(o.lambda))
      throw badRequest("fusionkit.lambda must be a finite number ≥ 0", null, "fusionkit.lambda");
    k.knob = { lambda: o.lambda };
  }
  if (o.thought !== undefined) {
    if (typeof o.thought !== "boolean")
      throw badRequest("fusionkit.thought must be true or false", null, "fusionkit.thought");
    k.thought = o.thought;
  }
  if (o.route_on !== undefined) {
    if (o.route_on !== "last-user" && o.route_on !== "conversation")
      throw badRequest("fusionkit.route_on must be 'last-user' or 'conversation'", null, "fusionkit.route_on");
    k.routeOn = o.route_on;
  }
  if (o.task !== undefined) {
    if (typeof o.task !== "string" || !o.task)
      throw badRequest("fusionkit.task must be a task name", null, "fusionkit.task");
    k.task = o.task;
  }
  return k;
}

interface Visit {
  value: unknown;
  depth: number;
  key: string;
  parent: Visit | null;
}

/** Refuse a body nested deeper than MAX_DEPTH, naming where; iterative, so any depth is safe to check. */
function checkDepth(body: object): void {
  const stack: Visit[] = [{ value: body, depth: 1, key: "", parent: null }];
  for (let v = stack.pop(); v; v = stack.pop()) {
    if (v.depth > MAX_DEPTH) {
      let path = "";
      for (let p: Visit | null = v; p?.parent; p = p.parent) path = p.key + path;
      throw badRequest(
        `the request body nests arrays/objects deeper than ${MAX_DEPTH} levels (at ${path.slice(0, 60)}${path.length > 60 ? "…" : ""})`,
        "body_too_deep",
      );
    }
    const value = v.value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++)
        if (value[i] && typeof value[i] === "object")
          stack.push({ value: value[i], depth: v.depth + 1, key: `[${i}]`, parent: v });
    } else
      for (const k in value as Record<string, unknown>) {
        const c = (value as Record<string, unknown>)[k];
        if (c && typeof c === "object") stack.push({ value: c, depth: v.depth + 1, key: `.${k}`, parent: v });
      }
  }
}
