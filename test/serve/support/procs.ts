import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, tempDir } from "../../helpers.ts";
import type { FakeOpenAIOptions } from "../../support/fake-openai.ts";

/** A child process that printed "<marker> <url>" on stdout; stderr is kept for failure messages. */
export interface Proc {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM (graceful), then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnUntil(
  args: string[],
  marker: RegExp,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 90_000,
  cwd = REPO,
): Promise<Proc> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const proc: Proc = {
    url: "",
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`process ${args.join(" ")} did not start within ${timeoutMs} ms\nstderr: ${err}`));
    }, timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = marker.exec(out);
      if (m && !proc.url) {
        clearTimeout(timer);
        proc.url = m[1];
        resolve(proc);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!proc.url) reject(new Error(`process ${args.join(" ")} exited with ${code} before starting\nstderr: ${err}`));
    });
  });
}

/** fake-openai (test/support) as its own process. */
export async function startFakeProcess(options: FakeOpenAIOptions): Promise<
  Proc & {
    configure(o: FakeOpenAIOptions): Promise<void>;
    stats(): Promise<{ requests: number; byModel: Record<string, number> }>;
  }
> {
  const file = join(tempDir(), "fake.json");
  writeFileSync(file, JSON.stringify(options));
  const p = await spawnUntil(
    ["--import", "tsx", "test/support/fake-openai.ts", "--port", "0", "--config", file],
    /fake-openai listening (\S+)/,
  );
  const base = p.url.replace(/\/v1$/, "");
  return Object.assign(p, {
    async configure(o: FakeOpenAIOptions) {
      const r = await fetch(`${base}/_fake/config`, { method: "POST", body: JSON.stringify(o) });
      if (!r.ok) throw new Error(`fake config failed: ${r.status} ${await r.text()}`);
    },
    async stats() {
      return (await (await fetch(`${base}/_fake/stats`)).json()) as {
        requests: number;
        byModel: Record<string, number>;
      };
    },
  });
}

/**
 * `fusionkit serve` as its own process on a free port: one process unless `args` ask for `--workers` (the
 * default, one per core, is tested in gateway-cluster.test.ts; here it would only slow the start). Loading a
 * 30 MB router artifact and warming its embedder takes ~3 s on an idle machine but ~30 s on a saturated 2-core
 * one, hence the generous start timeout.
 */
export function startGatewayProcess(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<Proc> {
  const workers = args.includes("--workers") ? [] : ["--workers", "1"];
  return spawnUntil(
    ["bin/fusionkit.js", "serve", "--port", "0", ...workers, ...args],
    /listening on (\S+)/,
    env,
    timeoutMs,
  );
}

/** Run a fusionkit CLI command to completion (the one helper for every test: test/support/cli.ts). */
export { runCli } from "../../support/cli.ts";
