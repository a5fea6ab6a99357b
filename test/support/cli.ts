import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO } from "../helpers.ts";

export interface CliRun {
  /** The exit code; null when the process was ended by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `fusionkit <args>` as a real process to completion (from the repository root unless `cwd` says otherwise).
 * $FUSIONKIT_DB is cleared unless `env` sets it, so a developer's own store never leaks into a test.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, "bin/fusionkit.js"), ...args], {
      cwd,
      env: { ...process.env, FUSIONKIT_DB: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
