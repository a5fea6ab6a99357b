import { execFile } from "node:child_process";
import { REPO } from "../helpers.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `fusionkit <args>` as a real process from the repository root. */
export function fusionkit(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/fusionkit.js", ...args],
      { cwd: REPO, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, FUSIONKIT_DB: "" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
