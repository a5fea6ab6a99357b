import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * A worker thread running the module `name` that sits beside the caller (`callerUrl`: its import.meta.url).
 * The built package runs `<name>.js`; from sources (.ts through tsx) the thread first registers tsx in its
 * own thread, since a worker does not inherit the loader the main thread registered.
 */
export function moduleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const ts = callerUrl.endsWith(".ts");
  const file = new URL(`./${name}.${ts ? "ts" : "js"}`, callerUrl);
  if (!ts) return new Worker(file, options);
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  return new Worker(`import(${tsx}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`, {
    ...options,
    eval: true,
  });
}
