import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Semaphore } from "../llm/semaphore.ts";

/**
 * `code_eval`: run a generated Python solution against the task's tests in a child process.
 *
 * Isolation (what it does): a fresh temporary directory as working directory (deleted afterwards), python3 in
 * isolated mode (-I: no user site-packages, no PYTHON* variables), an environment with only PATH and LANG,
 * a wall-clock limit (the whole process group is SIGKILLed), and rlimits set inside the child before the code
 * runs: address space (memory), CPU seconds, file size, core dumps off. Output is discarded.
 * What it does NOT do: it is not a sandbox. The code runs as your user with your network access and can read
 * or write any file you can outside the temp dir, spawn processes, or talk to local services. Only enable it
 * (--allow-code-exec) for model outputs you are willing to run on this machine, or run FusionKit itself in a
 * container/VM without credentials.
 */

export interface CodeRunLimits {
  timeoutMs: number;
  memoryMb: number;
}

export const DEFAULT_LIMITS: CodeRunLimits = { timeoutMs: 10_000, memoryMb: 512 };

export interface CodeRunResult {
  passed: boolean;
  /** "passed", "failed (exit N)", "timed out", "killed by SIGNAL". */
  status: string;
  /** The last lines of stderr (the assertion or error), for reports. */
  stderr: string;
}

/** Sets limits, then runs the program file as __main__; exit 0 means every test passed. */
const HARNESS = `
import resource, sys, runpy
mem = int(sys.argv[2]) * 1024 * 1024
cpu = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
runpy.run_path(sys.argv[1], run_name="__main__")
`;

// CPU-bound work: at most two programs at once whatever the LLM concurrency is.
const runners = new Semaphore(2);

export async function runPython(program: string, limits: CodeRunLimits = DEFAULT_LIMITS): Promise<CodeRunResult> {
  const release = await runners.acquire();
  const dir = mkdtempSync(join(tmpdir(), "fusionkit-code-"));
  try {
    writeFileSync(join(dir, "harness.py"), HARNESS);
    writeFileSync(join(dir, "solution.py"), program);
    const cpuSeconds = Math.max(1, Math.ceil(limits.timeoutMs / 1000));
    return await new Promise<CodeRunResult>((resolve) => {
      const child = spawn("python3", ["-I", "harness.py", "solution.py", String(limits.memoryMb), String(cpuSeconds)], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
        stdio: ["ignore", "ignore", "pipe"],
        detached: true, // own process group, so a timeout kills whatever the solution spawned too
      });
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (d: string) => {
        if (stderr.length < 20_000) stderr += d;
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, limits.timeoutMs);
      const tail = () => stderr.trim().split("\n").slice(-3).join("\n");
      child.on("error", (e) => {
        clearTimeout(timer);
        resolve({ passed: false, status: `could not start python3: ${e.message}`, stderr: "" });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (timedOut) resolve({ passed: false, status: "timed out", stderr: tail() });
        else if (signal) resolve({ passed: false, status: `killed by ${signal}`, stderr: tail() });
        else resolve({ passed: code === 0, status: code === 0 ? "passed" : `failed (exit ${code})`, stderr: tail() });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    release();
  }
}

/** The code between [BEGIN] and [DONE] (either case, [DONE] optional), else a ```python fence, else everything. */
export function extractCode(response: string): string {
  const marked = response.match(/\[BEGIN\]([\s\S]*?)(?:\[DONE\]|$)/i);
  let code = marked ? (marked[1] ?? "") : response;
  const fence = code.match(/```(?:python|py)?[^\n]*\n([\s\S]*?)(?:```|$)/i);
  if (fence) code = fence[1] ?? "";
  return code
    .replace(/\r\n/g, "\n")
    .replace(/^\s*\n/, "")
    .trimEnd();
}

/** Remove the common leading indentation of non-blank lines. */
function dedent(code: string): string {
  const lines = code.split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => (l.match(/^[ \t]*/) as RegExpMatchArray)[0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(cut, l.length - l.trimStart().length))).join("\n");
}

/** The function a HumanEval prompt asks for: the last top-level `def` in the prompt. */
export function entryPointOf(prompt: string): string | null {
  const defs = [...prompt.matchAll(/^def\s+([A-Za-z_]\w*)\s*\(/gm)];
  return defs.length ? ((defs.at(-1) as RegExpMatchArray)[1] as string) : null;
}

/**
 * HumanEval program: the prompt, the completion, the test's `check`, then `check(entry_point)`.
 * A completion that redefines the function is used as is; a bare body is re-indented under the signature.
 */
export function humanEvalProgram(prompt: string, response: string, test: string, entryPoint: string): string {
  const code = dedent(extractCode(response));
  const defines = new RegExp(`^def\\s+${entryPoint}\\s*\\(`, "m").test(code);
  const completion = defines
    ? `\n${code}\n`
    : `${code
        .split("\n")
        .map((l) => (l.trim() ? `    ${l}` : l))
        .join("\n")}\n`;
  return `${defines ? prompt + completion : prompt.replace(/\s*$/, "\n") + completion}\n${test}\n\ncheck(${entryPoint})\n`;
}

/**
 * MBPP program: the solution, then each assert. `tests` is the task's test list as a Python literal
 * (a list of assert strings) or plain assert lines; Python itself parses it.
 */
export function mbppProgram(response: string, tests: string, setup = ""): string {
  const code = dedent(extractCode(response));
  return `${setup ? `${setup}\n` : ""}${code}\n\nimport ast as _fk_ast\n_fk_tests = ${JSON.stringify(tests)}\ntry:\n    _fk_list = _fk_ast.literal_eval(_fk_tests)\nexcept (ValueError, SyntaxError):\n    _fk_list = [_fk_tests]\nif isinstance(_fk_list, str):\n    _fk_list = [_fk_list]\nfor _fk_t in _fk_list:\n    exec(_fk_t, globals())\n`;
}
