import type { HttpBindings } from "@hono/node-server";
import type Database from "better-sqlite3";
import type { Authenticator } from "../serve/auth.ts";

/** What the dashboard's routes read: the store, and the live gateway when mounted inside `fusionkit serve`. */
export interface UiDeps {
  db: Database.Database;
  /** The gateway's client keys; null: no key asked (standalone `fusionkit ui` on a loopback host). */
  auth: Authenticator | null;
  /** Live gateway state; absent in the standalone dashboard (breaker state lives in the gateway process). */
  live?: { openBreakers(): string[] };
  /**
   * Time each API call may spend catching the rollup up with the log (default: no limit). Inside the gateway
   * it is short, so a dashboard opened on a large log never stalls requests; the page shows what is left.
   */
  catchUpBudgetMs?: number;
  /** Clock (epoch ms); tests and the benchmark pin it. */
  now?: () => number;
}

export type UiEnv = { Bindings: HttpBindings };
