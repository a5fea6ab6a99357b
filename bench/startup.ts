/**
 * CLI start-up: wall time of `fusionkit --help` and `fusionkit route --help` (compiled dist/, subcommands
 * loaded lazily), against `node -e 0` (the floor: Node's own start) and the sources run through tsx (how
 * the bin ran before dist/), measured alternately in the same run. The machine is shared, so each figure is
 * the median of --runs runs, with the load average printed. On a busy machine the wall time is mostly waiting
 * for a core, so the CPU time each start used (user + system, the children's times of this process on Linux,
 * clock ticks of 10 ms; mean over the runs) is printed beside it.
 *
 *   npm run build && node --import tsx bench/startup.ts [--runs 9]
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { distState } from "../bin/dist-state.js";
import { numberArg } from "./support/args.ts";

const REPO = resolve(import.meta.dirname, "..");
const RUNS = numberArg("--runs", 9);
if (distState(REPO) !== "current") {
  process.stderr.write("dist/ is not current with src/: run `npm run build` first\n");
  process.exit(1);
}

const cases: [string, string[]][] = [
  ["node -e 0 (floor)", ["-e", "0"]],
  ["fusionkit --help (dist)", ["bin/fusionkit.js", "--help"]],
  ["fusionkit route --help (dist)", ["bin/fusionkit.js", "route", "--help"]],
  ["fusionkit --help (src via tsx)", ["--import", "tsx", "src/cli/main.ts", "--help"]],
];
/** CPU ms (user + system) of this process's waited-for children so far (Linux; NaN elsewhere). */
function childrenCpuMs(): number {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}
const times = cases.map(() => [] as number[]);
const cpu = cases.map(() => 0);
for (let r = 0; r < RUNS; r++)
  cases.forEach(([, args], c) => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const p = spawnSync(process.execPath, args, { cwd: REPO, stdio: "ignore" });
    if (p.status !== 0) throw new Error(`${args.join(" ")} exited ${p.status}`);
    times[c].push(performance.now() - t0);
    cpu[c] += childrenCpuMs() - cpu0;
  });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const floor = median(times[0]);
const cpuFloor = cpu[0] / RUNS;
console.log(`load average ${loadavg()[0].toFixed(1)}, ${RUNS} runs each: median wall time; mean CPU time`);
for (const [c, [name]] of cases.entries()) {
  const m = median(times[c]);
  const u = cpu[c] / RUNS;
  console.log(
    `${name.padEnd(34)} ${m.toFixed(0).padStart(6)} ms   ${(m - floor).toFixed(0).padStart(6)} ms over node   CPU ${u.toFixed(0).padStart(5)} ms   ${(u - cpuFloor).toFixed(0).padStart(5)} ms over node`,
  );
}
