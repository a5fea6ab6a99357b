import cluster from "node:cluster";
import { type FSWatcher, watch } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import type { Store } from "../../data/store.ts";
import { loadProviders, type ProvidersConfig } from "../../llm/providers.ts";
import { storedRouterIds } from "../../routing/artifacts.ts";
import { judgeKnobProblem } from "../../routing/judge.ts";
import { parseKnob, SCENARIOS } from "../../routing/objective.ts";
import { loadPolicy } from "../../routing/policy-artifacts.ts";
import { DEFAULT_ROUTER } from "../../routing/registry.ts";
import {
  clusterMetrics,
  exchangesToPrimary,
  keysViaPrimary,
  serveAsWorker,
  WorkerPool,
  WorkerStartError,
} from "../../serve/cluster.ts";
import { loadServeConfig, mergeSettings, type ServeConfig, type ServeSettings } from "../../serve/config.ts";
import type { RouteOn } from "../../serve/conversation.ts";
import { ANY_ROUTER, type GatewayStore, isPostgresUrl, openGatewayStore } from "../../serve/gateway-store.ts";
import { KeyMeter } from "../../serve/key-limits.ts";
import { resolveArtifacts, routersFrom } from "../../serve/load.ts";
import { ExchangeLog } from "../../serve/log.ts";
import { type LogMode, parseLogMode } from "../../serve/log-mode.ts";
import { type ServedPolicy, servedPolicy } from "../../serve/policy.ts";
import { LogRetention } from "../../serve/retention.ts";
import { parseRetrainEvery, type RetrainEvery } from "../../serve/retrain-schedule.ts";
import { Retrainer } from "../../serve/retrainer.ts";
import { servedArtifact } from "../../serve/retrains.ts";
import { DEFAULT_BODY_LIMIT, startGateway, unservedCandidates } from "../../serve/server.ts";
import { SqliteGatewayStore } from "../../serve/sqlite-gateway-store.ts";
import { loadThoughts } from "../../serve/thoughts.ts";
import { UpstreamPool } from "../../serve/upstream.ts";
import { AUTO, parseVariant, type VirtualModel } from "../../serve/virtual.ts";
import {
  commaList,
  defaultDb,
  parseInteger,
  parseNonNegative,
  parseOpenShare,
  parsePort,
  parseShare,
  repeatable,
  resolveDataset,
} from "../options.ts";

interface ServeFlags extends ServeSettings {
  config?: string;
  providers?: string;
  workers?: string;
  policy: string[];
}

/** `fusionkit serve`: the OpenAI-compatible routing gateway. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("OpenAI-compatible gateway: routes each request with a trained router, falls back, logs routing data")
    .option(
      "--config <file>",
      "gateway config (YAML, see 'fusionkit init'): providers, models, routers, variants, defaults; flags override it; reloaded when it changes",
    )
    .option("--providers <file>", "providers file (YAML/JSON): upstream APIs and models (instead of --config)")
    .option(
      "--router <artifact>",
      `router artifact file or store id (repeat for several; the first backs fusionkit/auto; default: the store's one "${DEFAULT_ROUTER}" artifact from "fusionkit train")`,
      repeatable,
      [],
    )
    .option("--scenario <name>", `knob of fusionkit/auto: ${Object.keys(SCENARIOS).join(", ")}`)
    .option("--lambda <x>", "knob of fusionkit/auto: willingness to pay (performance − λ·cost)")
    .option(
      "--variant <spec>",
      "extra virtual model <name>=<scenario>|lambda:<x>[@<router>] (repeatable), e.g. cheap=cost-first",
      repeatable,
      [],
    )
    .option(
      "--policy <artifact>",
      "multi-call policy artifact from 'fusionkit train --policy' (repeatable or comma list), served as fusionkit/<policy>",
      repeatable,
      [],
    )
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port (0 = any free port)", "8787")
    .option("--no-auth", "accept requests without a client API key (loopback hosts only)")
    .option(
      "--db <file-or-url>",
      "what the gateway shares: a SQLite store, or postgres://… for several machines (keys, exchange log, feedback, router ids)",
      defaultDb(),
    )
    .option("--body-limit <bytes>", "largest accepted request body", String(DEFAULT_BODY_LIMIT))
    .option("--route-on <what>", "what the router reads: conversation | last-user", "conversation")
    .option("--route-chars <n>", "characters of the conversation the router reads (the most recent)", "2000")
    .option("--thought-set <name>", "thought-template set to inject from (see 'fusionkit thought build')")
    .option("--thought", "inject thought templates into every request (else only when a request asks)")
    .option("--embed-cache <n>", "routing-text embeddings kept in memory (0: embed every request)", "10000")
    .option(
      "--decision-cache <n>",
      "router predictions kept per routing text (0: run the router every request)",
      "10000",
    )
    .option("--breaker-threshold <n>", "consecutive failures that open an upstream's circuit", "5")
    .option("--breaker-cooldown-ms <ms>", "how long an open circuit waits before a probe", "10000")
    .option("--session-ttl <s>", "how long a session stays on its model (seconds)", "3600")
    .option(
      "--session-tolerance <score>",
      "spread sessions (by a hash of their id) over the candidates within this much of the top score; 0: the top one",
      "0",
    )
    .option("--shutdown-grace-ms <ms>", "time in-flight requests get to finish on shutdown", "30000")
    .option(
      "--log-mode <mode>",
      "what an exchange stores: full | redacted (emails, phones, cards, keys masked) | metadata (no text)",
      "full",
    )
    .option(
      "--log-retention-days <n>",
      "delete logged exchanges older than n days, in the background (0: keep all)",
      "0",
    )
    .option("--workers <n>", "gateway processes sharing the port (default: one per CPU core)")
    .option(
      "--retrain-every <n|period>",
      "learn from traffic: retrain fusionkit/auto's router on its data + the labelled traffic after n new labels (50) or every period with new labels (10m), swap it in if not worse on held-back traffic",
    )
    .option("--holdout <share>", "share of labelled traffic held back to compare retrained and live routers", "0.2")
    .option(
      "--explore <share>",
      "ε exploration: this share of routed requests (0–1) goes to the runner-up candidate, so feedback covers more than the router's favourites",
      "0",
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      const given = (name: keyof ServeSettings) => cmd.getOptionValueSource(name) === "cli";
      const config = flags.config ? loadServeConfig(flags.config) : null;
      if (!config && !flags.providers)
        throw new UsageError("serve needs --config <file> (write one with 'fusionkit init') or --providers <file>");
      const f = config ? mergeSettings(flags, config.settings, given) : flags;
      const routeOn = f.routeOn as RouteOn;
      if (routeOn !== "conversation" && routeOn !== "last-user")
        throw new UsageError(`--route-on must be conversation or last-user, got "${f.routeOn}"`);
      const providers = flags.providers ? loadProviders(flags.providers) : (config as ServeConfig).providers;
      const workers =
        flags.workers === undefined ? availableParallelism() : parseInteger(flags.workers, "--workers", 1);
      const retrain = f.retrainEvery ? retrainSettings(f) : null;
      const logging = loggingSettings(f);
      const start = { flags, given, config, f, routeOn, providers, retrain, logging };
      if (cluster.isWorker) return serveWorker(start);
      for (const missing of UpstreamPool.missingKeys(providers))
        process.stderr.write(`fusionkit serve: warning: provider ${missing} has no key in the environment\n`);
      if (workers > 1) return servePrimary(start, workers);
      let retrainer: Retrainer | null = null;
      const running = await startServing(start, false, () => retrainer?.render() ?? "");
      process.stdout.write(`fusionkit serve listening on ${running.url} (${running.banner})\n`);
      retrainer = startRetrainer(start, running.store, running.say, async (why) => {
        await running.reload(why, false);
        return [];
      });
      supervise(start, running.store, running.say, {
        reload: async (why) => {
          await running.reload(why, false);
          return [];
        },
        stop: async () => {
          const left = await running.close();
          return { written: running.log.written, left };
        },
      });
    });
}

/** What every process of `serve` starts from: the flags, the config file (if any), the merged settings. */
interface Start {
  flags: ServeFlags;
  given: (name: keyof ServeSettings) => boolean;
  config: ServeConfig | null;
  f: ServeSettings;
  routeOn: RouteOn;
  providers: ProvidersConfig;
  /** `--retrain-every` and `--holdout`, checked; null without them. */
  retrain: { every: RetrainEvery; holdout: number } | null;
  /** `--log-mode` and `--log-retention-days` (or the config's logging section), checked. */
  logging: { mode: LogMode; retentionDays: number };
}

interface Serving {
  url: string;
  /** What the listening line says after the URL. */
  banner: string;
  store: GatewayStore;
  log: ExchangeLog;
  say(line: string): void;
  /** This process's metrics (Prometheus text). */
  metrics(): Promise<string>;
  /** Re-read the config file (if any) and the router artifacts; throws (keeping the running ones) on failure. */
  reload(why: string, quiet: boolean): Promise<void>;
  /** Drain, flush, close; the exchanges that could not be stored. */
  close(): Promise<number>;
}

/** Load the routers and start one gateway in this process (alone, or as one worker of several). */
async function startServing(s: Start, worker: boolean, extraMetrics?: () => string): Promise<Serving> {
  const { flags, given, providers } = s;
  let { config, f } = s;
  const store = await openGatewayStore(f.db, providers);
  // The SQLite store also caches embeddings and holds thought templates; with PostgreSQL there is no local file.
  const local = store instanceof SqliteGatewayStore ? store.store : null;
  const virtuals = await buildVirtuals(f, store, local);
  await warmUp(virtuals);
  // One worker speaks for all about what every worker finds alike.
  const speaks = !worker || cluster.worker?.id === 1;
  if (speaks) listUnserved(virtuals, providers, (line) => process.stderr.write(`fusionkit serve: ${line}\n`));
  const thoughts = f.thoughtSet || f.thought ? loadThoughts(requireLocal(local, "--thought-set"), f.thoughtSet) : null;
  const policies = loadPolicies(flags.policy, local, providers, (line) => {
    if (speaks) process.stderr.write(`fusionkit serve: ${line}\n`);
  });
  const running = await startGateway({
    store,
    exchangeWriter: worker ? exchangesToPrimary : undefined,
    keyAdmission: worker ? keysViaPrimary : undefined,
    metricsText: worker ? clusterMetrics : undefined,
    extraMetrics,
    providers,
    virtuals,
    policies,
    host: f.host,
    port: parsePort(f.port),
    auth: f.auth,
    bodyLimit: parseInteger(f.bodyLimit, "--body-limit", 1),
    routeOn: s.routeOn,
    routeChars: parseInteger(f.routeChars, "--route-chars", 1),
    thoughts,
    thoughtByDefault: f.thought === true,
    breakerThreshold: parseInteger(f.breakerThreshold, "--breaker-threshold", 1),
    breakerCooldownMs: parseInteger(f.breakerCooldownMs, "--breaker-cooldown-ms", 0),
    sessionTtlMs: parseInteger(f.sessionTtl, "--session-ttl", 0) * 1000,
    sessionTolerance: parseNonNegative(f.sessionTolerance, "--session-tolerance"),
    explore: parseShare(f.explore, "--explore"),
    logFlushMs: 5,
    logMode: s.logging.mode,
    // The process that owns the log deletes old exchanges: alone, or the primary of `serve --workers`.
    logRetentionDays: worker ? 0 : s.logging.retentionDays,
    shutdownGraceMs: parseInteger(f.shutdownGraceMs, "--shutdown-grace-ms", 0),
  });
  const { report } = running;
  // A stray rejection or exception (a bug in a callback) is reported and counted; it never stops the gateway.
  process.on("unhandledRejection", (e) => report.error("unhandled rejection", e));
  process.on("uncaughtException", (e) => report.error("uncaught exception", e));
  // Reloads run one after another: the config file (if any) and the router artifacts. A config that does not
  // validate, or an artifact that does not load, throws and the running ones stay.
  let reloading = Promise.resolve();
  const reload = (why: string, quiet: boolean): Promise<void> => {
    const next = reloading.then(async () => {
      const nextConfig = config ? loadServeConfig(config.file) : null;
      const nf = nextConfig ? mergeSettings(flags, nextConfig.settings, given) : f;
      const nextVirtuals = await buildVirtuals(nf, store, local);
      await warmUp(nextVirtuals);
      running.reload(nextVirtuals);
      const say = quiet && !speaks ? () => {} : (line: string) => report.line(line);
      listUnserved(nextVirtuals, providers, say);
      if (nextConfig && config && !flags.providers && nextConfig.upstreamKey !== config.upstreamKey)
        say(`${nextConfig.file}: providers/models changed; restart the gateway to apply them`);
      const restart = RESTART_SETTINGS.filter((k) => nf[k] !== f[k]);
      if (restart.length) say(`changed ${restart.join(", ")}: restart the gateway to apply`);
      config = nextConfig ?? config;
      f = nf;
      if (!quiet)
        report.line(
          `reloaded router artifacts (${why}): ${nextVirtuals.map((v) => v.name).join(", ") || "no virtual models"}`,
        );
    });
    reloading = next.catch(() => {});
    return next;
  };
  return {
    url: running.url,
    banner: `virtual: ${[...virtuals, ...policies].map((v) => v.name).join(", ") || "none"}; upstream models: ${providers.models.size}; auth: ${f.auth ? "keys" : "off"}`,
    store,
    log: running.log,
    say: (line) => report.line(line),
    metrics: () => running.gateway.deps.metrics.render(),
    reload,
    close: async () => {
      await running.close();
      await store.close();
      return running.log.pending;
    },
  };
}

function requireLocal(local: Store | null, flag: string): Store {
  if (!local) throw new UsageError(`${flag} needs a SQLite store (--db <file>), not a PostgreSQL URL`);
  return local;
}

/** One worker of `serve --workers N`: exchanges go to the primary, which also tells it when to reload and stop. */
async function serveWorker(s: Start): Promise<void> {
  const running = await startServing(s, true);
  serveAsWorker({
    url: running.url,
    banner: running.banner,
    metrics: running.metrics,
    reload: () => running.reload("primary", true),
    stop: async () => {
      await running.close();
    },
  });
}

/** The primary of `serve --workers N`: starts the workers, writes their exchanges, relays reloads and stops. */
async function servePrimary(s: Start, workers: number): Promise<void> {
  const store = await openGatewayStore(s.f.db, s.providers);
  const say = (line: string) => process.stderr.write(`fusionkit serve: ${line}\n`);
  // The workers make each row ready for the log (logging mode); the primary writes what they send.
  const log = new ExchangeLog(store.exchanges, { flushMs: 5, report: say, mode: s.logging.mode });
  let retrainer: Retrainer | null = null;
  // Client keys' limits and spend, counted here for every worker (spend so far read from a SQLite store).
  const keys = s.f.auth ? new KeyMeter(store.sqlite) : null;
  let retention: LogRetention | null = null;
  const pool = new WorkerPool({
    workers,
    onExchanges: (rows) => {
      for (const r of rows) {
        log.push(r);
        keys?.recordExchange(r);
      }
    },
    keys,
    log: say,
    ownMetrics: () => (retrainer?.render() ?? "") + (keys?.render() ?? "") + (retention?.render() ?? ""),
  });
  let first: { url: string; banner: string };
  try {
    first = await pool.start();
  } catch (e) {
    log.close();
    await store.close();
    if (e instanceof WorkerStartError) process.exit(e.code ?? 1);
    throw e;
  }
  process.stdout.write(`fusionkit serve listening on ${first.url} (${first.banner}; workers: ${workers})\n`);
  retention = s.logging.retentionDays
    ? new LogRetention({
        days: s.logging.retentionDays,
        purge: (before, limit) => store.purgeExchanges(before, limit),
        report: say,
      }).start()
    : null;
  // The primary is the one process that retrains; every worker swaps through the reload below.
  retrainer = startRetrainer(s, store, say, async (why) => {
    const failures = await pool.reload();
    if (failures.length === 0) say(`reloaded router artifacts (${why}; ${workers} workers)`);
    return failures;
  });
  supervise(s, store, say, {
    reload: async (why) => {
      const failures = await pool.reload();
      if (failures.length === 0) say(`reloaded router artifacts (${why}; ${workers} workers)`);
      return failures;
    },
    stop: async () => {
      await pool.stop();
      await retention?.stop();
      await log.drain();
      const left = log.close();
      await store.close();
      return { written: log.written, left };
    },
  });
}

/**
 * Signals, file changes and notifications of the process that owns the gateway (alone or as the primary):
 * SIGHUP, a change of the config file and a router published to the store under one of the --router ids
 * reload; SIGTERM/SIGINT drain and stop.
 */
function supervise(
  s: Start,
  store: GatewayStore,
  say: (line: string) => void,
  g: { reload(why: string): Promise<string[]>; stop(): Promise<{ written: number; left: number }> },
): void {
  let chain = Promise.resolve();
  const reload = (why: string) => {
    chain = chain.then(async () => {
      try {
        const failures = await g.reload(why);
        if (failures.length) say(`reload (${why}) failed, keeping the running config: ${failures.join("; ")}`);
      } catch (e) {
        say(`reload (${why}) failed, keeping the running config: ${(e as Error).message}`);
      }
    });
  };
  const file = s.config?.file;
  const watcher = file ? watchFile(file, () => reload(`${file} changed`)) : null;
  process.on("SIGHUP", () => reload("SIGHUP"));
  void store
    .onRouterPublished((id) => {
      if (id === ANY_ROUTER || s.f.router.includes(id)) reload(`${id} published`);
    })
    .catch((e: Error) => say(`warning: not listening for published routers: ${e.message}`));
  const stop = async (signal: string) => {
    say(`${signal}, finishing in-flight requests`);
    watcher?.close();
    const { written, left } = await g.stop();
    say(`stopped (${written} exchanges logged${left ? `; ${left} could not be stored` : ""})`);
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

/** Settings read only at start: a reload that changes them says a restart is needed. */
const RESTART_SETTINGS: Array<keyof ServeSettings> = [
  "host",
  "port",
  "db",
  "auth",
  "bodyLimit",
  "routeOn",
  "routeChars",
  "thoughtSet",
  "thought",
  "breakerThreshold",
  "breakerCooldownMs",
  "sessionTtl",
  "sessionTolerance",
  "shutdownGraceMs",
  "logMode",
  "logRetentionDays",
  "retrainEvery",
  "holdout",
  "explore",
];

/** The candidates no configured model serves, listed once per router (all of them, not the first one). */
function listUnserved(virtuals: VirtualModel[], providers: ProvidersConfig, say: (line: string) => void): void {
  for (const [router, missing] of unservedCandidates(virtuals, providers))
    if (missing.length)
      say(
        `router '${router.name}': ${missing.length} of ${router.candidates.length} candidates are not in ${providers.file} and are not served: ${missing.join(", ")}`,
      );
}

/**
 * Call `onChange` when a file changes, debounced (editors write in several steps). The folder is watched,
 * not the file: an editor that saves by renaming a new file over the old one would end a watch on the file.
 */
function watchFile(file: string, onChange: () => void): FSWatcher {
  let timer: NodeJS.Timeout | null = null;
  const name = basename(file);
  const watcher = watch(dirname(resolve(file)), (_event, changed) => {
    if (changed !== null && changed !== name) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, 200);
  });
  watcher.unref();
  return watcher;
}

/** Virtual models from the flags: fusionkit/auto and one per scenario on the first router, one per other router, variants. */
async function buildVirtuals(f: ServeSettings, store: GatewayStore, local: Store | null): Promise<VirtualModel[]> {
  // A router that `serve --retrain-every` swapped out serves as the artifact that replaced it.
  const specs = routerSpecs(f, local).map((spec) => (local ? servedArtifact(local.db, spec) : spec));
  const routers = routersFrom(
    await resolveArtifacts(specs, (id) => store.loadRouterArtifact(id)),
    local,
    parseInteger(f.embedCache, "--embed-cache", 0),
    parseInteger(f.decisionCache, "--decision-cache", 0),
  );
  const virtuals: VirtualModel[] = [];
  let builtInJudge: VirtualModel | null = null;
  const first = routers.values().next().value;
  if (first) {
    virtuals.push({
      name: AUTO,
      router: first,
      knob: f.scenario || f.lambda ? parseKnob(f.scenario, f.lambda) : first.knob,
    });
    for (const s of Object.keys(SCENARIOS)) {
      const v: VirtualModel = { name: `fusionkit/${s}`, router: first, knob: { scenario: s as "balance" } };
      virtuals.push(v);
      if (s === "llm-judge") builtInJudge = v;
    }
    for (const [label, r] of routers)
      if (r !== first) virtuals.push({ name: `fusionkit/${label}`, router: r, knob: r.knob });
  } else if (f.variant.length || f.scenario || f.lambda)
    throw new UsageError("--scenario, --lambda and --variant need a --router artifact");
  for (const spec of f.variant) {
    const v = parseVariant(spec, routers, parseKnob);
    const i = virtuals.findIndex((x) => x.name === v.name);
    if (i >= 0) virtuals[i] = v;
    else virtuals.push(v);
  }
  // A configured llm-judge knob on a router without a judge head is refused here; the built-in
  // fusionkit/llm-judge stays listed and answers a request with a 400 saying why (serve/plan.ts).
  for (const v of virtuals) {
    if (v === builtInJudge) continue;
    const problem = judgeKnobProblem(v.knob, v.router.router, v.router.artifact);
    if (problem) throw new UsageError(`${v.name}: ${problem}`);
  }
  return virtuals;
}

/** The routers the settings name: --router / the config's routers, else the store's one default-router artifact. */
function routerSpecs(f: ServeSettings, local: Store | null): string[] {
  return f.router.length ? f.router : local ? defaultRouter(local) : [];
}

/** `--log-mode` / `--log-retention-days` (or the config's logging section), checked before anything starts. */
function loggingSettings(f: ServeSettings): { mode: LogMode; retentionDays: number } {
  const days = Number(f.logRetentionDays);
  if (!Number.isFinite(days) || days < 0)
    throw new UsageError(`--log-retention-days must be a number of days ≥ 0, got "${f.logRetentionDays}"`);
  return { mode: parseLogMode(f.logMode, "--log-mode"), retentionDays: days };
}

/** `--retrain-every` / `--holdout` (or the config's retrain section), checked before anything starts. */
function retrainSettings(f: ServeSettings): { every: RetrainEvery; holdout: number } {
  const every = parseRetrainEvery(f.retrainEvery as string);
  const holdout = parseOpenShare(f.holdout, "--holdout");
  if (isPostgresUrl(f.db))
    throw new UsageError(
      "--retrain-every needs a SQLite store (--db <file>): labelled traffic becomes training data there; with PostgreSQL, retrain with 'fusionkit train' and publish",
    );
  return { every, holdout };
}

/** The closed loop of `--retrain-every`, run by the process that owns the gateway (alone, or the primary). */
function startRetrainer(
  s: Start,
  store: GatewayStore,
  say: (line: string) => void,
  reload: (why: string) => Promise<string[]>,
): Retrainer | null {
  if (!s.retrain) return null;
  const local = store instanceof SqliteGatewayStore ? store.store : null;
  if (!local) return null; // refused by retrainSettings
  const [base] = routerSpecs(s.f, local);
  if (!base) throw new UsageError("--retrain-every needs a router to retrain (--router, or routers: in the config)");
  const knob = s.f.scenario || s.f.lambda ? parseKnob(s.f.scenario, s.f.lambda) : null;
  const retrainer = new Retrainer({
    db: local.db,
    dbPath: local.path,
    every: s.retrain.every,
    holdout: s.retrain.holdout,
    base: () => base,
    knob: () => knob,
    served: [...s.providers.models.keys()],
    reload,
    say,
  });
  retrainer.start();
  return retrainer;
}

/**
 * Without --router: the store's artifact of the default router when there is exactly one; among several (the demo
 * saves one per dataset), the default dataset's (the first imported, as every other command), named on stderr.
 */
function defaultRouter(store: Store): string[] {
  let ids = storedRouterIds(store, DEFAULT_ROUTER);
  if (ids.length > 1 && store.datasets().length > 0) {
    const preferred = `${resolveDataset(store, undefined)}/${DEFAULT_ROUTER}`;
    if (ids.includes(preferred)) ids = [preferred];
  }
  if (ids.length > 1)
    throw new UsageError(
      `the store holds several "${DEFAULT_ROUTER}" routers (${ids.join(", ")}); pick one with --router`,
    );
  if (ids.length === 1) process.stderr.write(`fusionkit serve: routing with "${ids[0]}" from the store\n`);
  return ids;
}

/** Load each router's embedder model now (the sentence encoder takes a while), so no client request pays for it. */
async function warmUp(virtuals: VirtualModel[]): Promise<void> {
  for (const r of new Set(virtuals.map((v) => v.router)))
    try {
      await r.embedder.inner.embed(["warm-up"]);
    } catch (e) {
      process.stderr.write(
        `fusionkit serve: warning: embedder of router '${r.name}' failed its warm-up: ${(e as Error).message}\n`,
      );
    }
}

/**
 * `--policy` artifacts as virtual models. Each task's metric comes from a SQLite store (answers are extracted by
 * it); without one (PostgreSQL) answers are compared as free text.
 */
function loadPolicies(
  specs: string[],
  local: Store | null,
  providers: ProvidersConfig,
  say: (line: string) => void,
): ServedPolicy[] {
  const files = specs.flatMap(commaList);
  if (!files.length) return [];
  const metrics = new Map(
    (
      local?.db
        .prepare<[], { task: string; metric: string | null }>(
          "SELECT task, MIN(metric) AS metric FROM queries GROUP BY task",
        )
        .all() ?? []
    ).map((r) => [r.task, r.metric]),
  );
  const served = files.map((file) => servedPolicy(loadPolicy(file), metrics));
  const names = new Set<string>();
  for (const p of served) {
    if (names.has(p.name)) throw new UsageError(`--policy: two artifacts serve ${p.name}`);
    names.add(p.name);
    const missing = p.loaded.candidates.filter((c) => !providers.models.has(c.model)).map((c) => c.key);
    if (missing.length) say(`${p.name}: candidates without an upstream are skipped: ${missing.join(", ")}`);
  }
  return served;
}
