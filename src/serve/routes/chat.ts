import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Hono } from "hono";
import { readJsonBody } from "../body.ts";
import type { AppDeps, Env } from "../context.ts";

/**
 * POST /v1/chat/completions. The hot path: the body is read straight from the Node request and the
 * controller writes straight to the Node response (no Web Request/Response copies), then Hono is told the
 * response was already sent.
 */
export function registerChat(app: Hono<Env>, deps: AppDeps): void {
  app.post("/v1/chat/completions", async (c) => {
    // While draining, the gateway itself refuses the request with 503 after reading it, so it is still logged.
    const { text, value } = await readJsonBody(c.env.incoming, deps.bodyLimit);
    // A key's limits (allowed models, budgets, rate limits) are checked before any routing work.
    const keyId = c.get("keyId");
    const key = keyId ? deps.auth?.key(keyId) : undefined;
    if (key && deps.keyMeter) {
      const model = (value as { model?: unknown } | null)?.model;
      await deps.keyMeter.admit(key, typeof model === "string" ? model : "");
    }
    await deps.gateway.chat(
      value,
      text,
      { requestId: c.get("requestId"), keyId: c.get("keyId"), headers: c.env.incoming.headers, start: c.get("start") },
      c.env.outgoing,
    );
    return RESPONSE_ALREADY_SENT;
  });
}
