import type { HttpBindings } from "@hono/node-server";
import type { Authenticator } from "./auth.ts";
import type { Gateway } from "./controller.ts";
import type { KeyAdmission } from "./key-limits.ts";
import type { LabelResult } from "./labels.ts";

/** What every route handler can reach. */
export interface AppDeps {
  gateway: Gateway;
  labels: { label(requestId: string, score: number): LabelResult | Promise<LabelResult> };
  /** null: no client keys required (--no-auth on loopback). */
  auth: Authenticator | null;
  /** Per-key limits and spend; null without client keys. */
  keyMeter: KeyAdmission | null;
  bodyLimit: number;
  /** Precomputed GET /v1/models body. */
  modelsJson: string;
  /** True once shutdown began: health reports draining, new chat requests get 503. */
  draining: () => boolean;
  /** GET /metrics body (Prometheus text). */
  metricsText: () => string | Promise<string>;
}

/** Hono environment: Node bindings (the raw request/response for the hot path) and per-request variables. */
export type Env = {
  Bindings: HttpBindings;
  Variables: { keyId: string | null; requestId: string; start: number };
};
