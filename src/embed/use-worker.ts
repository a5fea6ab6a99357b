import { parentPort } from "node:worker_threads";
import { embedPrepared } from "./use.ts";

/** A worker of the USE pool (use-pool.ts): embeds the prepared texts it is sent, one job at a time. */
parentPort?.on("message", async (msg: { id: number; texts: string[] }) => {
  try {
    const vectors = await embedPrepared(msg.texts);
    parentPort?.postMessage(
      { id: msg.id, vectors },
      vectors.map((v) => v.buffer as ArrayBuffer),
    );
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: (e as Error).message });
  }
});
