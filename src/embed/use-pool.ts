import type { Worker } from "node:worker_threads";
import { moduleWorker } from "../util/module-worker.ts";

/**
 * Worker threads that each hold their own copy of the USE model, so embedding uses every core
 * (TensorFlow.js' WASM backend runs on one thread). Batches wait in one queue and go to whichever worker
 * is free: on a shared machine one thread can be slowed for seconds, and a fixed share per thread would
 * leave the other idle at the end. Started on first use, kept for the process's life; an idle worker
 * does not keep the process alive.
 */

/** Batches sent to a worker before it answers: the next is already there when one finishes. */
const IN_FLIGHT_PER_WORKER = 2;

interface Job {
  texts: string[];
  resolve(v: Float32Array): void;
  reject(e: Error): void;
}

/** A worker's answer: the batch's unit vectors row after row (its buffer is transferred, not copied). */
interface Reply {
  id: number;
  vectors?: Float32Array;
  error?: string;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  dead: Error | null = null;

  constructor(onFree: () => void) {
    this.worker = moduleWorker(import.meta.url, "use-worker");
    this.worker.on("message", (r: Reply) => {
      const job = this.jobs.get(r.id);
      if (!job) return;
      this.jobs.delete(r.id);
      if (this.jobs.size === 0) this.worker.unref();
      if (r.error !== undefined) job.reject(new Error(`USE embedding worker: ${r.error}`));
      else if (!(r.vectors instanceof Float32Array)) job.reject(new Error("USE embedding worker sent no vectors"));
      else job.resolve(r.vectors);
      onFree();
    });
    const fail = (e: Error) => {
      if (this.dead) return;
      this.dead = e;
      for (const job of this.jobs.values()) job.reject(e);
      this.jobs.clear();
      onFree();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`USE embedding worker exited with code ${code}`)));
  }

  get busy(): number {
    return this.jobs.size;
  }

  send(job: Job): void {
    const id = this.next++;
    // Busy: keep the process alive until the reply comes (a new worker starts referenced).
    this.worker.ref();
    this.jobs.set(id, job);
    this.worker.postMessage({ id, texts: job.texts });
  }
}

export class UsePool {
  readonly size: number;
  private readonly workers: (PoolWorker | undefined)[];
  private readonly queue: Job[] = [];

  constructor(size: number) {
    this.size = size;
    this.workers = new Array(size);
  }

  /**
   * Embed one batch of prepared texts on the first free worker (started, or restarted after a crash, on
   * demand); batches are handed out in the order they were given. Resolves with the batch's unit vectors
   * row after row.
   */
  embedBatch(texts: string[]): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ texts, resolve, reject });
      this.dispatch();
    });
  }

  /** Whether a worker has been started (its model is loaded or loading): a small call is then cheaper here. */
  get started(): boolean {
    return this.workers.some((w) => w !== undefined && !w.dead);
  }

  private dispatch(): void {
    for (let round = 0; round < IN_FLIGHT_PER_WORKER; round++)
      for (let w = 0; w < this.size && this.queue.length > 0; w++) {
        let worker = this.workers[w];
        if (!worker || worker.dead) {
          worker = new PoolWorker(() => this.dispatch());
          this.workers[w] = worker;
        }
        if (worker.busy <= round) worker.send(this.queue.shift() as Job);
      }
  }
}

const pools = new Map<number, UsePool>();

/** The process's pool of `size` workers, if one was made. */
export function existingPool(size: number): UsePool | undefined {
  return pools.get(size);
}

/** The process's pool of `size` workers (started per index on first use). */
export function usePool(size: number): UsePool {
  let pool = pools.get(size);
  if (!pool) {
    pool = new UsePool(size);
    pools.set(size, pool);
  }
  return pool;
}
