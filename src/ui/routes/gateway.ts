import type { Hono } from "hono";
import { HttpError } from "../../serve/errors.ts";
import type { UiDeps, UiEnv } from "../context.ts";
import { enumParam, intParam } from "../params.ts";
import {
  EXCHANGE_STATUS_FILTERS,
  exchangeDetail,
  exchangesPage,
  gatewayOverview,
  parseCursor,
  timeWindow,
} from "../queries/gateway.ts";
import { GatewayRollup } from "../queries/rollup.ts";

/** Windows the page offers, in seconds ("all": the whole log). */
const WINDOWS: Record<string, number | null> = {
  "5m": 300,
  "1h": 3600,
  "6h": 21600,
  "24h": 86400,
  "7d": 604800,
  all: null,
};

/** GET /api/gateway/overview, /api/gateway/exchanges, /api/gateway/exchanges/:id. */
export function registerGatewayRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  const now = deps.now ?? Date.now;
  // Charts and word search read the rollup: each call first adds the exchanges logged since the last one (a
  // bounded share of them inside the gateway).
  const rollup = new GatewayRollup(deps.db, { now });
  const catchUp = () => rollup.catchUp(deps.catchUpBudgetMs);
  const windowOf = (value: string | undefined) => {
    const key = enumParam(value, "window", Object.keys(WINDOWS)) ?? "1h";
    return timeWindow(deps.db, WINDOWS[key] ?? null, now());
  };

  app.get("/api/gateway/overview", (c) => {
    const { pending } = catchUp();
    const o = gatewayOverview(deps.db, windowOf(c.req.query("window")));
    return c.json({ ...o, pending, openBreakers: deps.live ? deps.live.openBreakers() : null });
  });

  app.get("/api/gateway/exchanges", (c) => {
    const q = c.req.query();
    const before = parseCursor(q.before);
    if (q.before && !before)
      throw new HttpError(
        400,
        "invalid_request_error",
        `'before' must be a cursor from a previous page`,
        null,
        "before",
      );
    catchUp(); // the word index is part of the catch-up
    return c.json(
      exchangesPage(deps.db, {
        window: windowOf(q.window),
        model: q.model || null,
        status: enumParam(q.status, "status", EXCHANGE_STATUS_FILTERS),
        text: q.q || null,
        before,
        limit: intParam(q.limit, "limit", 25, 1, 200),
      }),
    );
  });

  app.get("/api/gateway/exchanges/:id", (c) => {
    const d = exchangeDetail(deps.db, c.req.param("id"));
    if (!d) throw new HttpError(404, "not_found_error", `no exchange '${c.req.param("id")}' in the log`, null, "id");
    return c.json(d);
  });
}
