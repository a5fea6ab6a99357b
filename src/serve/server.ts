import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { UsageError } from "../data/errors.ts";
import type { ProvidersConfig } from "../llm/providers.ts";
import { createUi, UI_PATH } from "../ui/app.ts";
import { createApp } from "./app.ts";
import { Authenticator, isLoopback } from "./auth.ts";
import { Breakers } from "./breaker.ts";
import { Gateway, type ThoughtSource } from "./controller.ts";
import type { RouteOn } from "./conversation.ts";
import { type GatewayStore, labelWhenLogged } from "./gateway-store.ts";
import { type KeyAdmission, KeyMeter } from "./key-limits.ts";
import { ExchangeLog, type ExchangeWriter } from "./log.ts";
import type { LogMode } from "./log-mode.ts";
import { Metrics } from "./metrics.ts";
import type { ServedPolicy } from "./policy.ts";
import { Reporter } from "./report.ts";
import { LogRetention } from "./retention.ts";
import { modelsJson } from "./routes/models.ts";
import { Sessions } from "./sessions.ts";
import { UpstreamPool } from "./upstream.ts";
import type { VirtualModel } from "./virtual.ts";

export interface ServeOptions {
  /** Exchanges, feedback, client keys (SQLite or PostgreSQL: see gateway-store.ts). */
  store: GatewayStore;
  /** Where exchanges go instead of `store` (a worker of `serve --workers` sends them to the primary). */
  exchangeWriter?: ExchangeWriter;
  /** Where per-key limits are counted instead of this process (a worker of `serve --workers` asks the primary). */
  keyAdmission?: KeyAdmission;
  /** GET /metrics text instead of this process's own (a worker of `serve --workers` shows every worker's). */
  metricsText?: () => Promise<string>;
  /** More Prometheus text for this process's /metrics (e.g. the retrain loop's). */
  extraMetrics?: () => string;
  providers: ProvidersConfig;
  virtuals: VirtualModel[];
  /** Multi-call policies served as virtual models (fusionkit/cascade, fusionkit/vote). */
  policies?: ServedPolicy[];
  host: string;
  port: number;
  /** false only with --no-auth, which is refused on a non-loopback host. */
  auth: boolean;
  bodyLimit: number;
  routeOn: RouteOn;
  routeChars: number;
  thoughts: ThoughtSource | null;
  thoughtByDefault: boolean;
  breakerThreshold: number;
  breakerCooldownMs: number;
  sessionTtlMs: number;
  /** Sessions are spread (by a hash of their id) over the candidates within this much of the top score; default 0, the top one. */
  sessionTolerance?: number;
  /** `--explore`: share of routed requests sent to the runner-up instead of the first-ranked candidate. */
  explore?: number;
  logFlushMs: number;
  /** What an exchange stores (log-mode.ts; default full). */
  logMode?: LogMode;
  /** Delete exchanges older than this many days in the background (retention.ts); 0 or absent: keep all. */
  logRetentionDays?: number;
  /** In-flight requests get this long to finish on shutdown before their connections are cut. */
  shutdownGraceMs: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunningGateway {
  url: string;
  port: number;
  gateway: Gateway;
  log: ExchangeLog;
  /** The operator log (stderr, redacted): the command's own lines and stray errors go here too. */
  report: Reporter;
  /** Stop accepting, let in-flight requests finish (up to the grace period), flush the log. */
  close(): Promise<void>;
  /** Swap in new virtual models (e.g. routers retrained on the gateway's own traffic); requests in flight keep theirs. */
  reload(virtuals: VirtualModel[]): void;
}

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

export async function startGateway(o: ServeOptions): Promise<RunningGateway> {
  if (!o.auth && !isLoopback(o.host))
    throw new UsageError(`--no-auth is only allowed on a loopback host (127.0.0.1, ::1), not ${o.host}`);
  checkCandidates(o.virtuals, o.providers);
  const upstreams = new UpstreamPool(o.providers, o.env ?? process.env);
  const report = new Reporter(upstreams.redact);
  const metrics = new Metrics();
  const breakers = new Breakers({ threshold: o.breakerThreshold, cooldownMs: o.breakerCooldownMs });
  metrics.breakerOpen = () => breakers.openCircuits();
  const log = new ExchangeLog(o.exchangeWriter ?? o.store.exchanges, {
    flushMs: o.logFlushMs,
    redact: upstreams.redact,
    mode: o.logMode,
    report: (m) => report.warn(m),
  });
  const retention = o.logRetentionDays
    ? new LogRetention({
        days: o.logRetentionDays,
        purge: (before, limit) => o.store.purgeExchanges(before, limit),
        report: (m) => report.warn(m),
      }).start()
    : null;
  metrics.exchangeLog = () => log.stats();
  metrics.unexpected = () => report.unexpected;
  const labels = {
    label: (requestId: string, score: number) =>
      labelWhenLogged(o.store, requestId, score, async () => {
        await log.drain(2000);
      }),
  };
  const gateway = new Gateway({
    providers: o.providers,
    upstreams,
    virtuals: new Map(o.virtuals.map((v) => [v.name, v])),
    policies: new Map((o.policies ?? []).map((p) => [p.name, p])),
    breakers,
    sessions: new Sessions(100_000, o.sessionTtlMs),
    log,
    metrics,
    report,
    routeOn: o.routeOn,
    routeChars: o.routeChars,
    thoughts: o.thoughts,
    thoughtByDefault: o.thoughtByDefault,
    headerCandidates: 8,
    sessionTolerance: o.sessionTolerance ?? 0,
    explore: o.explore ?? 0,
  });
  const auth = o.auth ? new Authenticator(o.store.keys) : null;
  await auth?.ready;
  // Spend already logged today and this month is read back from a SQLite store; with PostgreSQL it counts from start.
  const keyMeter = auth && !o.keyAdmission ? new KeyMeter(o.store.sqlite) : null;
  if (keyMeter) gateway.deps.onExchange = (e) => keyMeter.recordExchange(e);
  let draining = false;
  const startedAt = Date.now();
  const appDeps = {
    gateway,
    labels,
    auth,
    keyMeter: auth ? (o.keyAdmission ?? keyMeter) : null,
    bodyLimit: o.bodyLimit,
    modelsJson: modelsJson(o.virtuals, o.policies ?? [], o.providers, startedAt),
    draining: () => draining,
    metricsText:
      o.metricsText ??
      (async () =>
        (await metrics.render()) +
        (keyMeter?.render() ?? "") +
        (retention?.render() ?? "") +
        (o.extraMetrics?.() ?? "")),
  };
  const app = createApp(appDeps);
  // The dashboard reads the SQLite store directly; with PostgreSQL it is not served (yet).
  if (o.store.sqlite)
    app.route(
      UI_PATH,
      createUi({
        db: o.store.sqlite,
        auth,
        live: { openBreakers: () => breakers.openCircuits() },
        catchUpBudgetMs: 100,
      }),
    );

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: o.port, hostname: o.host }, () => resolve(s as Server)) as Server;
    s.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" ? new UsageError(`port ${o.port} on ${o.host} is already in use`) : e),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      gateway.drain();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets would hold close() open; busy ones finish their response first.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
      await Promise.race([closed, wait(o.shutdownGraceMs)]);
      // Grace is over: end what is still running (a started stream gets an error event), log each request,
      // give the endings a moment to reach their clients, then cut what is left.
      await gateway.stopAll(2000);
      await Promise.race([closed, wait(200)]);
      clearInterval(sweep);
      server.closeAllConnections();
      await retention?.stop();
      await log.drain();
      log.close();
      auth?.close();
      upstreams.close();
      metrics.close();
    })();
    return closing;
  };
  const reload = (virtuals: VirtualModel[]) => {
    checkCandidates(virtuals, o.providers);
    const map = gateway.deps.virtuals;
    map.clear();
    for (const v of virtuals) map.set(v.name, v);
    // Sessions choose again from the new rankings, as every other worker and replica does after its reload.
    gateway.deps.sessions.clear();
    appDeps.modelsJson = modelsJson(virtuals, o.policies ?? [], o.providers, startedAt);
  };
  return { url: `http://${host}:${port}`, port, gateway, log, report, close, reload };
}

/**
 * A router serves the candidates the providers configure and skips the others (a subset is fine: the
 * ranking among the configured ones is unchanged); a router with none configured could serve nothing.
 */
function checkCandidates(virtuals: VirtualModel[], providers: ProvidersConfig): void {
  for (const [router, missing] of unservedCandidates(virtuals, providers))
    if (missing.length === router.candidates.length)
      throw new UsageError(
        `router '${router.name}' has no candidate configured in ${providers.file} (its candidates: ${missing.join(", ")}); add at least one of these models`,
      );
}

/** Per router, the candidate keys whose model the providers do not configure (not served). */
export function unservedCandidates(
  virtuals: VirtualModel[],
  providers: ProvidersConfig,
): Map<VirtualModel["router"], string[]> {
  const out = new Map<VirtualModel["router"], string[]>();
  for (const r of new Set(virtuals.map((v) => v.router)))
    out.set(
      r,
      r.candidates.filter((c) => !providers.models.has(c.model)).map((c) => c.key),
    );
  return out;
}
