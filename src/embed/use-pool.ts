import { Worker } from "node:worker_threads";

/**
 * Worker threads that each hold their own copy of the USE model and embed a share of a large call, so
 * embedding uses every core (TensorFlow.js' WASM backend runs on one thread). Started on first use, kept
 * for the process's life; an idle worker does not keep the process alive.
 */

interface Job {
  resolve(v: Float32Array[]): void;
  reject(e: Error): void;
}

interface Reply {
  id: number;
  vectors?: Float32Array[];
  error?: string;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  dead: Error | null = null;

  constructor() {
    // The built package runs use-worker.js; from sources (.ts through tsx) the worker first registers
    // tsx in its own thread (a worker does not inherit the loader the main thread registered).
    const ts = import.meta.url.endsWith(".ts");
    const file = new URL(`./use-worker.${ts ? "ts" : "js"}`, import.meta.url);
    this.worker = ts
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`,
          { eval: true },
        )
      : new Worker(file);
    this.worker.on("message", (r: Reply) => {
      const job = this.jobs.get(r.id);
      if (!job) return;
      this.jobs.delete(r.id);
      if (this.jobs.size === 0) this.worker.unref();
      if (r.error !== undefined) job.reject(new Error(`USE embedding worker: ${r.error}`));
      else job.resolve(r.vectors ?? []);
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const job of this.jobs.values()) job.reject(e);
      this.jobs.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`USE embedding worker exited with code ${code}`)));
  }

  run(texts: string[]): Promise<Float32Array[]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    // Busy: keep the process alive until the reply comes (a new worker starts referenced).
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      this.worker.postMessage({ id, texts });
    });
  }
}

class UsePool {
  private workers: PoolWorker[] = [];

  /** Embed prepared texts on worker `w` (started, or restarted after a crash, on demand). */
  run(w: number, texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    let worker = this.workers[w];
    if (!worker || worker.dead) {
      worker = new PoolWorker();
      this.workers[w] = worker;
    }
    return worker.run(texts);
  }
}

let pool: UsePool | null = null;

/** The process's pool (workers are started per index on first use). */
export function usePool(): UsePool {
  if (!pool) pool = new UsePool();
  return pool;
}
