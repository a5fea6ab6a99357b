import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { DEFAULT_DB, type Store } from "../../data/store.ts";
import { loadProviders } from "../../llm/providers.ts";
import { parseKnob, SCENARIOS } from "../../routing/objective.ts";
import type { RouteOn } from "../../serve/conversation.ts";
import { loadRouters } from "../../serve/load.ts";
import { DEFAULT_BODY_LIMIT, startGateway } from "../../serve/server.ts";
import { loadThoughts } from "../../serve/thoughts.ts";
import { UpstreamPool } from "../../serve/upstream.ts";
import { AUTO, parseVariant, type VirtualModel } from "../../serve/virtual.ts";
import { openStore } from "../options.ts";

interface ServeFlags {
  providers: string;
  router: string[];
  scenario?: string;
  lambda?: string;
  variant: string[];
  host: string;
  port: string;
  auth: boolean;
  db: string;
  bodyLimit: string;
  routeOn: string;
  routeChars: string;
  thoughtSet?: string;
  thought?: boolean;
  embedCache: string;
  decisionCache: string;
  breakerThreshold: string;
  breakerCooldownMs: string;
  sessionTtl: string;
  shutdownGraceMs: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function int(value: string, flag: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** `fusionkit serve`: the OpenAI-compatible routing gateway. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("OpenAI-compatible gateway: routes each request with a trained router, falls back, logs routing data")
    .requiredOption("--providers <file>", "providers file (YAML/JSON): upstream APIs and models")
    .option("--router <artifact>", "router artifact (repeat for several; the first backs fusionkit/auto)", collect, [])
    .option("--scenario <name>", `knob of fusionkit/auto: ${Object.keys(SCENARIOS).join(", ")}`)
    .option("--lambda <x>", "knob of fusionkit/auto: willingness to pay (performance − λ·cost)")
    .option(
      "--variant <spec>",
      "extra virtual model <name>=<scenario>|lambda:<x>[@<router>] (repeatable), e.g. cheap=cost-first",
      collect,
      [],
    )
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port (0 = any free port)", "8787")
    .option("--no-auth", "accept requests without a client API key (loopback hosts only)")
    .option("--db <file>", "SQLite store (keys, exchange log, routing data)", process.env.FUSIONKIT_DB ?? DEFAULT_DB)
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
    .option("--shutdown-grace-ms <ms>", "time in-flight requests get to finish on shutdown", "30000")
    .action(async (f: ServeFlags) => {
      const routeOn = f.routeOn as RouteOn;
      if (routeOn !== "conversation" && routeOn !== "last-user")
        throw new UsageError(`--route-on must be conversation or last-user, got "${f.routeOn}"`);
      const providers = loadProviders(f.providers);
      const store = openStore({ db: f.db });
      const virtuals = buildVirtuals(f, store);
      await warmUp(virtuals);
      const thoughts = f.thoughtSet || f.thought ? loadThoughts(store, f.thoughtSet) : null;
      for (const missing of UpstreamPool.missingKeys(providers))
        process.stderr.write(`fusionkit serve: warning: provider ${missing} has no key in the environment\n`);
      const running = await startGateway({
        store,
        providers,
        virtuals,
        host: f.host,
        port: int(f.port, "--port"),
        auth: f.auth,
        bodyLimit: int(f.bodyLimit, "--body-limit", 1),
        routeOn,
        routeChars: int(f.routeChars, "--route-chars", 1),
        thoughts,
        thoughtByDefault: f.thought === true,
        breakerThreshold: int(f.breakerThreshold, "--breaker-threshold", 1),
        breakerCooldownMs: int(f.breakerCooldownMs, "--breaker-cooldown-ms"),
        sessionTtlMs: int(f.sessionTtl, "--session-ttl") * 1000,
        logFlushMs: 5,
        shutdownGraceMs: int(f.shutdownGraceMs, "--shutdown-grace-ms"),
      });
      process.stdout.write(
        `fusionkit serve listening on ${running.url} (virtual: ${virtuals.map((v) => v.name).join(", ") || "none"}; upstream models: ${providers.models.size}; auth: ${f.auth ? "keys" : "off"})\n`,
      );
      const { report } = running;
      // A stray rejection or exception (a bug in a callback) is reported and counted; it never stops the gateway.
      process.on("unhandledRejection", (e) => report.error("unhandled rejection", e));
      process.on("uncaughtException", (e) => report.error("uncaught exception", e));
      const stop = async (signal: string) => {
        report.line(`${signal}, finishing in-flight requests`);
        await running.close();
        store.close();
        const left = running.log.pending;
        report.line(`stopped (${running.log.written} exchanges logged${left ? `; ${left} could not be stored` : ""})`);
        process.exit(0);
      };
      // SIGHUP reloads the router artifacts (e.g. after retraining on the gateway's own traffic).
      process.on("SIGHUP", () => {
        try {
          running.reload(buildVirtuals(f, store));
          report.line("reloaded router artifacts");
        } catch (e) {
          report.line(`reload failed, keeping the old routers: ${(e as Error).message}`);
        }
      });
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
    });
}

/** Virtual models from the flags: fusionkit/auto and one per scenario on the first router, one per other router, variants. */
function buildVirtuals(f: ServeFlags, store: Store): VirtualModel[] {
  const routers = loadRouters(
    f.router,
    store,
    int(f.embedCache, "--embed-cache"),
    int(f.decisionCache, "--decision-cache"),
  );
  const virtuals: VirtualModel[] = [];
  const first = routers.values().next().value;
  if (first) {
    virtuals.push({
      name: AUTO,
      router: first,
      knob: f.scenario || f.lambda ? parseKnob(f.scenario, f.lambda) : first.knob,
    });
    for (const s of Object.keys(SCENARIOS))
      virtuals.push({ name: `fusionkit/${s}`, router: first, knob: { scenario: s as "balance" } });
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
  return virtuals;
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
