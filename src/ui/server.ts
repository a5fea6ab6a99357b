import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import { Authenticator, isLoopback } from "../serve/auth.ts";
import type { Env } from "../serve/context.ts";
import { asHttpError, errorBody } from "../serve/errors.ts";
import { ApiKeys } from "../serve/keys.ts";
import { Labels } from "../serve/labels.ts";
import { ExchangeLog } from "../serve/log.ts";
import { registerFeedback } from "../serve/routes/feedback.ts";
import { DEFAULT_BODY_LIMIT } from "../serve/server.ts";
import { createUi, UI_PATH } from "./app.ts";
import { GatewayRollup } from "./queries/rollup.ts";

export interface UiServerOptions {
  store: Store;
  host: string;
  port: number;
  now?: () => number;
}

export interface RunningUi {
  url: string;
  close(): Promise<void>;
}

/**
 * `fusionkit ui`: the dashboard on its own over a store, plus POST /v1/feedback (the same route as the
 * gateway's) so the exchange log's feedback button works without a running gateway. On a loopback host no
 * key is asked; on any other host the gateway's client keys guard the API and feedback.
 */
export async function startUi(o: UiServerOptions): Promise<RunningUi> {
  const auth = isLoopback(o.host) ? null : new Authenticator(new ApiKeys(o.store.db));
  const log = new ExchangeLog(o.store.db);
  const app = new Hono<Env>();
  app.use("/v1/*", async (c, next) => {
    await auth?.check(c.env.incoming.headers);
    await next();
  });
  registerFeedback(app, { labels: new Labels(o.store.db, null), bodyLimit: DEFAULT_BODY_LIMIT });
  app.route(UI_PATH, createUi({ db: o.store.db, auth, now: o.now }));
  // Bring the charts' rollup up to date before listening, so no page waits for it (once, on a large log).
  const waiting = new GatewayRollup(o.store.db, { now: o.now }).pending();
  if (waiting > 10_000) process.stderr.write(`fusionkit ui: rolling up ${waiting} logged exchanges (once)…\n`);
  new GatewayRollup(o.store.db, { now: o.now }).catchUp();
  app.get("/", (c) => c.redirect(`${UI_PATH}/`));
  app.onError((e, c) => {
    const err = asHttpError(e);
    return c.body(errorBody(err), err.status as 400, { "content-type": "application/json" });
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: o.port, hostname: o.host }, () => resolve(s as Server)) as Server;
    s.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new UsageError(`port ${o.port} on ${o.host} is already in use`) : e),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}${UI_PATH}/`,
    close: () =>
      new Promise<void>((resolve) => {
        auth?.close();
        log.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
