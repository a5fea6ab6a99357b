import { parentPort } from "node:worker_threads";
import { embedUseBatch } from "./use-model.ts";

/**
 * A worker of the USE pool (use-pool.ts): embeds the batches it is sent one after another (the pool
 * sends the next before this one is done) and hands each result's buffer back without copying it.
 */
let previous: Promise<void> = Promise.resolve();
parentPort?.on("message", (msg: { id: number; texts: string[] }) => {
  previous = previous.then(async () => {
    try {
      const vectors = await embedUseBatch(msg.texts);
      parentPort?.postMessage({ id: msg.id, vectors }, [vectors.buffer as ArrayBuffer]);
    } catch (e) {
      parentPort?.postMessage({ id: msg.id, error: (e as Error).message });
    }
  });
});
