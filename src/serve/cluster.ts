import cluster, { type Worker } from "node:cluster";
import { type ErrorType, HttpError } from "./errors.ts";
import type { KeyAdmission } from "./key-limits.ts";
import type { ActiveKey } from "./keys.ts";
import type { Exchange, ExchangeWriter } from "./log.ts";
import { mergeMetrics } from "./metrics-merge.ts";

/**
 * `fusionkit serve --workers N`: N worker processes (node:cluster) share the listening socket and accept
 * from it themselves (SCHED_NONE; NODE_CLUSTER_SCHED_POLICY=rr restores node's default). node's default on
 * Linux has the primary accept and hand each connection over IPC, but the primary here is busy (it writes
 * the exchange log), so a burst of new connections queued behind it: bench/gateway-scale.ts, 2 workers, 200
 * connections opened at once, first-request max 1.9–2.5 s with round-robin vs 0.18–0.23 s with workers
 * accepting (two alternated runs each, load ~2), at equal or better req/s. The kernel's spread over workers
 * is less even than round-robin; with keep-alive clients that is the price. The primary is the one writer
 * of the exchange log: workers send their
 * exchanges to it over the IPC channel, acknowledged, so none is lost or written twice. SIGHUP and a
 * published router reach every worker through the primary; SIGTERM/SIGINT drain every worker, then the log.
 * Client keys' limits (budgets, requests and tokens per minute) are counted in the primary too: a worker asks
 * it to admit each request, and the primary counts the exchanges it writes, so a limit holds for the whole
 * gateway, not per worker (across machines on PostgreSQL, each replica still counts its own).
 */

/** An HttpError as it crosses the IPC channel. */
interface ErrorJson {
  status: number;
  type: ErrorType;
  message: string;
  code: string | null;
  param: string | null;
  headers: Record<string, string>;
}

/** Messages between the primary and its workers (field `fk` tells them from node:cluster's own). */
type ToPrimary =
  | { fk: "listening"; url: string; banner: string }
  | { fk: "metrics-request"; id: number }
  | { fk: "metrics-part"; id: number; text: string }
  | { fk: "exchanges"; rows: Exchange[] }
  | { fk: "admit"; id: number; key: ActiveKey; model: string }
  | { fk: "reloaded"; id: number; error: string | null };
type ToWorker =
  | { fk: "reload"; id: number }
  | { fk: "shutdown" }
  | { fk: "metrics-collect"; id: number }
  | { fk: "metrics-result"; id: number; text: string }
  | { fk: "admitted"; id: number; error: ErrorJson | null };

const isMessage = (m: unknown): m is { fk: string } =>
  typeof m === "object" && m !== null && typeof (m as { fk?: unknown }).fk === "string";

export interface WorkerPoolOptions {
  workers: number;
  /** Every exchange a worker logged (the caller buffers them into its one ExchangeLog). */
  onExchanges(rows: Exchange[]): void;
  /** Client keys' limits for every worker (null: no client keys). */
  keys?: KeyAdmission | null;
  log(line: string): void;
  /** The primary's own metrics, merged with the workers' (e.g. the retrain loop it runs). */
  ownMetrics?: () => string;
}

export class WorkerPool {
  private readonly live = new Set<Worker>();
  private stopping = false;
  private reloadSeq = 0;
  private readonly pendingReloads = new Map<number, { waiting: Set<number>; errors: string[]; done: () => void }>();

  constructor(private readonly o: WorkerPoolOptions) {}

  /**
   * Start every worker; resolves when all listen. If one fails to start (a bad flag or artifact fails the
   * same way in each), the others are stopped and the error is the first worker's.
   */
  async start(): Promise<{ url: string; banner: string }> {
    // Before the first fork (node reads it then); an operator's NODE_CLUSTER_SCHED_POLICY wins.
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
    const starting = Array.from({ length: this.o.workers }, () => this.spawn());
    try {
      const all = await Promise.all(starting);
      return all[0];
    } catch (e) {
      this.stopping = true;
      for (const w of this.live) w.process.kill("SIGKILL");
      await Promise.allSettled(starting);
      throw e;
    }
  }

  private spawn(): Promise<{ url: string; banner: string }> {
    const w = cluster.fork();
    this.live.add(w);
    return new Promise((resolve, reject) => {
      let listening = false;
      w.on("message", (m: unknown) => {
        if (!isMessage(m)) return;
        const msg = m as ToPrimary;
        if (msg.fk === "exchanges") this.o.onExchanges(msg.rows);
        else if (msg.fk === "admit") void this.admit(w, msg.id, msg.key, msg.model);
        else if (msg.fk === "listening") {
          listening = true;
          resolve({ url: msg.url, banner: msg.banner });
        } else if (msg.fk === "reloaded") this.reloadedBy(w, msg.id, msg.error);
        else if (msg.fk === "metrics-request")
          void this.collectMetrics().then((text) => {
            if (w.isConnected()) w.send({ fk: "metrics-result", id: msg.id, text } satisfies ToWorker);
          });
        else if (msg.fk === "metrics-part") this.metricsParts.get(msg.id)?.(w, msg.text);
      });
      // 'disconnect' comes after every message the worker sent has been read, 'exit' when the process ended.
      const gone = Promise.all([
        new Promise<void>((r) => w.once("disconnect", () => r())),
        new Promise<number | null>((r) => w.once("exit", (code) => r(code))),
      ]);
      void gone.then(([, code]) => {
        this.live.delete(w);
        for (const id of this.pendingReloads.keys()) this.reloadedBy(w, id, null);
        if (!listening) reject(new WorkerStartError(code));
        else if (!this.stopping) {
          this.o.log(`worker ${w.process.pid} exited (code ${code}); starting another`);
          setTimeout(() => void this.spawn().catch((e: Error) => this.o.log(e.message)), 1000).unref();
        }
      });
    });
  }

  private async admit(w: Worker, id: number, key: ActiveKey, model: string): Promise<void> {
    let error: ErrorJson | null = null;
    try {
      if (!this.o.keys) throw new Error("the primary counts no client keys");
      await this.o.keys.admit(key, model);
    } catch (e) {
      const h = e instanceof HttpError ? e : null;
      error = {
        status: h?.status ?? 500,
        type: h?.type ?? "api_error",
        message: h ? h.message : "the gateway could not check the key's limits",
        code: h?.code ?? null,
        param: h?.param ?? null,
        headers: h?.headers ?? {},
      };
      if (!h) this.o.log(`key admission failed: ${(e as Error).message}`);
    }
    if (w.isConnected()) w.send({ fk: "admitted", id, error } satisfies ToWorker);
  }

  private metricsSeq = 0;
  private readonly metricsParts = new Map<number, (w: Worker, text: string) => void>();

  /** Every live worker's metrics, merged; a worker that does not answer within a second is left out. */
  private collectMetrics(): Promise<string> {
    const id = ++this.metricsSeq;
    const waiting = new Set([...this.live].filter((w) => w.isConnected()));
    const parts: string[] = this.o.ownMetrics ? [this.o.ownMetrics()] : [];
    return new Promise<string>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.metricsParts.delete(id);
        resolve(mergeMetrics(parts));
      };
      const timer = setTimeout(done, 1000);
      this.metricsParts.set(id, (w, text) => {
        if (!waiting.delete(w)) return;
        parts.push(text);
        if (waiting.size === 0) done();
      });
      for (const w of waiting) w.send({ fk: "metrics-collect", id } satisfies ToWorker);
    });
  }

  /** Every worker reloads its routers; resolves with the failures (empty: all reloaded). */
  reload(): Promise<string[]> {
    const id = ++this.reloadSeq;
    return new Promise((resolve) => {
      const waiting = new Set([...this.live].map((w) => w.id));
      const entry = { waiting, errors: [] as string[], done: () => resolve(entry.errors) };
      this.pendingReloads.set(id, entry);
      for (const w of this.live) w.send({ fk: "reload", id } satisfies ToWorker);
      if (waiting.size === 0) this.finishReload(id);
    });
  }

  private reloadedBy(w: Worker, id: number, error: string | null): void {
    const entry = this.pendingReloads.get(id);
    if (!entry?.waiting.delete(w.id)) return;
    if (error) entry.errors.push(`worker ${w.process.pid}: ${error}`);
    if (entry.waiting.size === 0) this.finishReload(id);
  }

  private finishReload(id: number): void {
    this.pendingReloads.get(id)?.done();
    this.pendingReloads.delete(id);
  }

  /** Ask every worker to finish its in-flight requests and flush its exchanges; resolves when all are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    const gone = [...this.live].map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once("exit", () => r()))));
    for (const w of this.live) if (w.isConnected()) w.send({ fk: "shutdown" } satisfies ToWorker);
    await Promise.all(gone);
  }
}

export class WorkerStartError extends Error {
  constructor(readonly code: number | null) {
    super(`a gateway worker exited with code ${code} before it listened`);
  }
}

/** In a worker: exchanges go to the primary; the promise resolves once the batch is written to the channel. */
export const exchangesToPrimary: ExchangeWriter = (rows) =>
  new Promise<void>((resolve, reject) => {
    if (!process.send) return reject(new Error("not a cluster worker"));
    process.send({ fk: "exchanges", rows } satisfies ToPrimary, undefined, {}, (e) => (e ? reject(e) : resolve()));
  });

const admitting = new Map<number, (error: ErrorJson | null) => void>();
let admitSeq = 0;

/** In a worker: client keys' limits are checked by the primary, which counts them for every worker. */
export const keysViaPrimary: KeyAdmission = {
  admit: (key, model) =>
    new Promise<void>((resolve, reject) => {
      if (!process.send) return reject(new Error("not a cluster worker"));
      const id = ++admitSeq;
      admitting.set(id, (e) => {
        if (!e) return resolve();
        const err = new HttpError(e.status, e.type, e.message, e.code, e.param);
        Object.assign(err.headers, e.headers);
        reject(err);
      });
      // Only the key's id, name and limits cross the channel (never the key itself: workers hold only hashes).
      const msg: ToPrimary = { fk: "admit", id, key: { id: key.id, name: key.name, limits: key.limits }, model };
      process.send(msg, undefined, {}, (e) => {
        if (!e) return;
        admitting.delete(id);
        reject(e);
      });
    }),
};

const metricsWaiting = new Map<number, (text: string) => void>();
let metricsSeq = 0;

/** In a worker: the metrics of every worker (GET /metrics on any worker shows the whole gateway). */
export function clusterMetrics(): Promise<string> {
  const id = ++metricsSeq;
  return new Promise((resolve) => {
    metricsWaiting.set(id, resolve);
    process.send?.({ fk: "metrics-request", id } satisfies ToPrimary);
  });
}

/** In a worker: tell the primary it listens, and act on its reload, metrics and shutdown requests. */
export function serveAsWorker(o: {
  url: string;
  banner: string;
  /** This worker's own metrics (Prometheus text). */
  metrics(): Promise<string>;
  reload(): Promise<void>;
  /** Drain in-flight requests and flush the exchange log to the primary. */
  stop(): Promise<void>;
}): void {
  const send = (m: ToPrimary) => process.send?.(m);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void o.stop().then(
      () => process.exit(0),
      (e: Error) => {
        process.stderr.write(`fusionkit serve: worker ${process.pid}: stop failed: ${e.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("message", (m: unknown) => {
    if (!isMessage(m)) return;
    const msg = m as ToWorker;
    if (msg.fk === "shutdown") stop();
    else if (msg.fk === "metrics-collect")
      void o.metrics().then(
        (text) => send({ fk: "metrics-part", id: msg.id, text }),
        () => send({ fk: "metrics-part", id: msg.id, text: "" }),
      );
    else if (msg.fk === "admitted") {
      admitting.get(msg.id)?.(msg.error);
      admitting.delete(msg.id);
    } else if (msg.fk === "metrics-result") {
      metricsWaiting.get(msg.id)?.(msg.text);
      metricsWaiting.delete(msg.id);
    } else if (msg.fk === "reload")
      o.reload().then(
        () => send({ fk: "reloaded", id: msg.id, error: null }),
        (e: Error) => send({ fk: "reloaded", id: msg.id, error: e.message }),
      );
  });
  // A terminal's Ctrl-C reaches the whole process group; the primary asks for the shutdown, so these only
  // stop the worker from dying mid-request.
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", () => {});
  send({ fk: "listening", url: o.url, banner: o.banner });
}
