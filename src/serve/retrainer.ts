import type Database from "better-sqlite3";
import type { Knob } from "../routing/objective.ts";
import { moduleWorker } from "../util/module-worker.ts";
import type { RetrainJob } from "./retrain-job.ts";
import { everyLabel, type RetrainEvery, retrainDue } from "./retrain-schedule.ts";
import { lastRetrain, type RetrainDecision, type RetrainRecord, recordRetrain, servedArtifact } from "./retrains.ts";

/**
 * `serve --retrain-every`: the closed loop, run by the one process that owns the gateway (alone, or the primary
 * of `--workers N`). It watches the count of labelled exchanges; when a retrain is due it runs one in a worker
 * thread (retrain-job.ts; requests never wait for it), and after a swap reloads the gateway through the same
 * path as SIGHUP, so every worker serves the swapped-in router. A failed retrain is logged, counted and
 * recorded; it never stops the gateway, and the live router keeps serving.
 */
export interface RetrainerOptions {
  /** The SQLite store (its file path runs the job; the handle counts labels and reads decisions). */
  db: Database.Database;
  dbPath: string;
  every: RetrainEvery;
  holdout: number;
  /** The served router (as the settings name it) the loop retrains: fusionkit/auto's. */
  base: () => string;
  /** fusionkit/auto's knob when the settings set one; null: the live artifact's own. */
  knob: () => Knob | null;
  served: string[];
  /** Reload every gateway process; resolves with the failures. */
  reload(why: string): Promise<string[]>;
  say(line: string): void;
  /** How often the label count is read (ms). */
  pollMs?: number;
}

export class Retrainer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly startedAt = Date.now();
  private readonly decisions: Record<RetrainDecision, number> = { swap: 0, keep: 0, failed: 0 };
  private last: RetrainRecord | null = null;
  private stopped = false;

  constructor(private readonly o: RetrainerOptions) {}

  start(): void {
    this.o.say(
      `retraining ${this.o.base()} every ${everyLabel(this.o.every)} (${Math.round(this.o.holdout * 100)}% of labelled traffic held back to compare)`,
    );
    this.timer = setInterval(() => void this.check(), this.o.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Stop polling; a retrain in flight finishes (its decision is recorded). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private labels(): number {
    const has = this.o.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gateway_feedback'")
      .get();
    if (!has) return 0;
    return (this.o.db.prepare("SELECT COUNT(*) AS n FROM gateway_feedback").get() as { n: number }).n;
  }

  private check(): void {
    if (this.running || this.stopped) return;
    try {
      const base = this.o.base();
      const labels = this.labels();
      const last = lastRetrain(this.o.db, base);
      const since = Date.now() - (last ? Date.parse(last.at) : this.startedAt);
      if (!retrainDue(this.o.every, labels, last?.labels ?? 0, since)) return;
      this.running = this.retrain(base, labels).finally(() => {
        this.running = null;
      });
    } catch (e) {
      // A locked or unreadable store only delays the check.
      this.o.say(`retrain check failed: ${(e as Error).message}`);
    }
  }

  private async retrain(base: string, labels: number): Promise<void> {
    const t0 = performance.now();
    const live = servedArtifact(this.o.db, base);
    const job: RetrainJob = {
      db: this.o.dbPath,
      base,
      live,
      knob: this.o.knob(),
      served: this.o.served,
      holdout: this.o.holdout,
      labels,
    };
    this.o.say(`retraining ${live} on ${labels} labelled exchanges…`);
    let record: RetrainRecord;
    try {
      record = await inWorkerThread(job);
    } catch (e) {
      record = {
        at: new Date().toISOString(),
        base,
        live,
        router: "?",
        datasets: "",
        decision: "failed",
        reason: (e as Error).message,
        labels,
        trainQueries: null,
        heldoutQueries: null,
        compared: null,
        liveScore: null,
        candidateScore: null,
        artifact: null,
        artifactSha256: null,
        seconds: (performance.now() - t0) / 1000,
      };
      try {
        recordRetrain(this.o.db, record);
      } catch (w) {
        this.o.say(`could not record the failed retrain: ${(w as Error).message}`);
      }
    }
    this.decisions[record.decision]++;
    this.last = record;
    const r = record;
    const scores =
      r.liveScore === null ? "" : ` live ${r.liveScore.toFixed(4)}, retrained ${r.candidateScore?.toFixed(4)};`;
    const sizes =
      r.trainQueries === null
        ? ""
        : `, ${r.trainQueries} train queries, ${r.heldoutQueries} held back, ${r.compared} compared`;
    const artifact = r.artifact ? `, artifact ${r.artifact} sha256 ${r.artifactSha256?.slice(0, 12)}` : "";
    this.o.say(
      `retrain of ${live}: ${r.decision} —${scores} ${r.reason} (${r.labels} labels${sizes}, ${r.seconds.toFixed(1)} s${artifact})`,
    );
    if (record.decision !== "swap") return;
    const failures = await this.o.reload(`retrained: swapped in ${record.artifact}`);
    if (failures.length) this.o.say(`swap of ${record.artifact} did not reach every process: ${failures.join("; ")}`);
  }

  /** Prometheus text: decisions by kind, the last decision's scores and labels, whether one is running. */
  render(): string {
    const l = this.last;
    const out = [
      "# HELP fusionkit_retrains_total Background retrains of the served router by decision (swap, keep, failed).",
      "# TYPE fusionkit_retrains_total counter",
      ...Object.entries(this.decisions).map(([d, n]) => `fusionkit_retrains_total{decision="${d}"} ${n}`),
      "# HELP fusionkit_retrain_running 1 while a background retrain runs.",
      "# TYPE fusionkit_retrain_running gauge",
      `fusionkit_retrain_running ${this.running ? 1 : 0}`,
    ];
    if (l) {
      out.push(
        "# HELP fusionkit_retrain_last_score Held-back score of the last retrain's routers (live, retrained).",
        "# TYPE fusionkit_retrain_last_score gauge",
      );
      if (l.liveScore !== null) out.push(`fusionkit_retrain_last_score{router="live"} ${l.liveScore}`);
      if (l.candidateScore !== null) out.push(`fusionkit_retrain_last_score{router="retrained"} ${l.candidateScore}`);
      out.push(
        "# HELP fusionkit_retrain_last_labels Labelled exchanges the last retrain saw.",
        "# TYPE fusionkit_retrain_last_labels gauge",
        `fusionkit_retrain_last_labels ${l.labels}`,
        "# HELP fusionkit_retrain_last_timestamp_seconds When the last retrain decided.",
        "# TYPE fusionkit_retrain_last_timestamp_seconds gauge",
        `fusionkit_retrain_last_timestamp_seconds ${Date.parse(l.at) / 1000}`,
      );
    }
    return `${out.join("\n")}\n`;
  }
}

/** Run the job in a worker thread; resolves with its record, rejects with its error. */
function inWorkerThread(job: RetrainJob): Promise<RetrainRecord> {
  const worker = moduleWorker(import.meta.url, "retrain-worker", { workerData: job });
  return new Promise<RetrainRecord>((resolve, reject) => {
    worker.once("message", (m: { record?: RetrainRecord; error?: string }) => {
      if (m.record) resolve(m.record);
      else reject(new Error(m.error ?? "the retrain worker sent no result"));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the retrain worker exited with code ${code}`)));
  });
}
