import type { Hono } from "hono";
import type { AppDeps, Env } from "../context.ts";

/** GET /healthz: 200 while serving, 503 while draining (so a load balancer stops sending). No auth. */
export function registerHealth(app: Hono<Env>, deps: AppDeps): void {
  app.get("/healthz", (c) => {
    const draining = deps.draining();
    return c.json(
      { status: draining ? "draining" : "ok", in_flight: deps.gateway.deps.metrics.inFlight },
      draining ? 503 : 200,
    );
  });
}
