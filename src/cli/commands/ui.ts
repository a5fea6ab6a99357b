import type { Command } from "commander";
import { startUi } from "../../ui/server.ts";
import { defaultDb, openStore, parsePort } from "../options.ts";

/** `fusionkit ui`: the web dashboard over a store (routing data, evaluation runs, gateway traffic). */
export function registerUi(program: Command): void {
  program
    .command("ui")
    .description("web dashboard: routing data, stored evaluation runs and live gateway traffic from the store")
    .option("--db <file>", "SQLite store file", defaultDb())
    .option("--host <host>", "listen address (a non-loopback host asks for a client key)", "127.0.0.1")
    .option("--port <port>", "listen port (0 = any free port)", "8788")
    .action(async (opts: { db: string; host: string; port: string }) => {
      const port = parsePort(opts.port);
      const store = openStore(opts);
      const running = await startUi({ store, host: opts.host, port });
      process.stdout.write(`fusionkit ui listening on ${running.url} (store ${store.path})\n`);
      const stop = async () => {
        await running.close();
        store.close();
        process.exit(0);
      };
      process.once("SIGINT", () => void stop());
      process.once("SIGTERM", () => void stop());
    });
}
