import { parentPort, workerData } from "node:worker_threads";
import { type RetrainJob, runRetrain } from "./retrain-job.ts";

/** Worker-thread entry of one background retrain (retrainer.ts): runs the job, posts its record or error. */
runRetrain(workerData as RetrainJob).then(
  (record) => parentPort?.postMessage({ record }),
  (e: Error) => parentPort?.postMessage({ error: e?.message ?? String(e) }),
);
