import type { Hono } from "hono";
import type { AppDeps, Env } from "../context.ts";

/** GET /metrics in Prometheus text format. */
export function registerMetrics(app: Hono<Env>, deps: AppDeps): void {
  app.get("/metrics", async (c) =>
    c.body(await deps.metricsText(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
}
