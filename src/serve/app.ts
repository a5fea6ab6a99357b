import { Hono } from "hono";
import { isUiPath } from "../ui/app.ts";
import type { AppDeps, Env } from "./context.ts";
import { newRequestId } from "./controller.ts";
import { errorBody, HttpError } from "./errors.ts";
import { registerChat } from "./routes/chat.ts";
import { registerFeedback } from "./routes/feedback.ts";
import { registerHealth } from "./routes/health.ts";
import { registerMetrics } from "./routes/metrics.ts";
import { registerModels } from "./routes/models.ts";

/** The gateway's HTTP surface: authentication in front of everything but /healthz, one file per route. */
export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.use("*", async (c, next) => {
    c.set("start", performance.now());
    c.set("requestId", newRequestId());
    // The dashboard's pages hold no data and its API checks the key itself (a browser cannot send it on a page load).
    if (c.req.path !== "/healthz" && !isUiPath(c.req.path)) {
      const keyId = deps.auth ? deps.auth.check(c.env.incoming.headers) : null;
      c.set("keyId", typeof keyId === "string" || keyId === null ? keyId : await keyId);
    }
    await next();
  });

  registerHealth(app, deps);
  registerModels(app, deps);
  registerChat(app, deps);
  registerFeedback(app, deps);
  registerMetrics(app, deps);

  app.notFound((c) =>
    c.body(
      errorBody(new HttpError(404, "not_found_error", `no route ${c.req.method} ${c.req.path}`, "unknown_route")),
      404,
      { "content-type": "application/json" },
    ),
  );
  app.onError((e, c) => {
    const err = deps.gateway.errorResponse(e, c.get("requestId") ?? "");
    if (c.req.path === "/v1/chat/completions")
      deps.gateway.deps.metrics.request("chat", err.status, (performance.now() - (c.get("start") ?? 0)) / 1000);
    return c.body(err.body, err.status as 400, {
      ...err.headers,
      "content-type": "application/json",
      "x-request-id": c.get("requestId") ?? "",
    });
  });
  return app;
}
