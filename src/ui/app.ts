import { Hono } from "hono";
import { asHttpError, errorBody, HttpError } from "../serve/errors.ts";
import type { UiDeps, UiEnv } from "./context.ts";
import { registerDataRoutes } from "./routes/data.ts";
import { registerEvalRoutes } from "./routes/evals.ts";
import { registerGatewayRoutes } from "./routes/gateway.ts";
import { loadAssets } from "./static.ts";

/** Where the dashboard lives, in `fusionkit ui` and in `fusionkit serve`. */
export const UI_PATH = "/ui";

export const isUiPath = (path: string): boolean => path === UI_PATH || path.startsWith(`${UI_PATH}/`);

/**
 * The dashboard as a Hono app to mount at /ui: static pages (no data in them, so no key needed to load
 * them) and the JSON API under /ui/api/..., which asks for the gateway's client key when there is one.
 */
export function createUi(deps: UiDeps): Hono<UiEnv> {
  const assets = loadAssets();
  const ui = new Hono<UiEnv>();

  ui.use("/api/*", async (c, next) => {
    await deps.auth?.check(c.env.incoming.headers);
    await next();
    c.header("cache-control", "no-store");
  });
  registerDataRoutes(ui, deps);
  registerEvalRoutes(ui, deps);
  registerGatewayRoutes(ui, deps);

  ui.get("/*", (c) => {
    const path = c.req.path.slice(UI_PATH.length);
    if (path === "") return c.redirect(`${UI_PATH}/`);
    return serveAsset(c, path === "/" ? "index.html" : path.slice(1));
  });

  function serveAsset(c: { body: (b: Uint8Array, s: 200, h: Record<string, string>) => Response }, path: string) {
    const a = assets.get(path);
    if (!a) throw new HttpError(404, "not_found_error", `no dashboard file '${path}'`, "unknown_route");
    return c.body(new Uint8Array(a.body), 200, {
      "content-type": a.type,
      "cache-control": a.immutable ? "public, max-age=86400" : "no-cache",
    });
  }

  ui.onError((e, c) => {
    const err = asHttpError(e);
    if (!(e instanceof HttpError)) process.stderr.write(`fusionkit ui: ${(e as Error).stack ?? e}\n`);
    return c.body(errorBody(err), err.status as 400, { "content-type": "application/json" });
  });
  return ui;
}
