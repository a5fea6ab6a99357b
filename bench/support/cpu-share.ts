import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

/**
 * How much CPU a timed piece of work got, and how much the rest of the machine took meanwhile. On a shared
 * machine a thread-count comparison means little without it: with the kernel's autogroup scheduling each
 * session gets an equal share of the cores, so a process's second thread adds nothing while other
 * sessions keep the cores busy.
 */
export interface CpuShare {
  wallMs: number;
  /** This process's CPU time (all threads) over wall time: cores it kept busy on average. */
  cores: number;
  /** Everything else's CPU time over wall time, from /proc/stat (null where there is none). */
  others: number | null;
  /** This process's CPU milliseconds. */
  cpuMs: number;
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Busy CPU milliseconds of the whole machine since boot (null without /proc/stat). */
function machineBusyMs(): number | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …, in clock ticks (USER_HZ, 100 on Linux).
    const total = fields.reduce((a, b) => a + b, 0);
    return (total - fields[3] - fields[4]) * 10;
  } catch {
    return null;
  }
}

/** Run `work` and measure its wall time and the CPU shares above. */
export async function measureCpuShare(work: () => Promise<unknown>): Promise<CpuShare> {
  const m0 = machineBusyMs();
  const c0 = processCpuMs();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  const cpuMs = processCpuMs() - c0;
  const m1 = machineBusyMs();
  return {
    wallMs,
    cores: cpuMs / wallMs,
    others: m0 === null || m1 === null ? null : Math.max(0, (m1 - m0 - cpuMs) / wallMs),
    cpuMs,
  };
}

/** "load average 1.2 0.9 0.7" */
export function loadLine(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Wait (at most `maxWaitMs`) until the rest of the machine leaves the cores nearly free: less than
 * `threshold` cores busy over one second. Returns whether it got there and how long it waited, so a
 * benchmark round can be reported as run on a quiet or a busy machine.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.3): Promise<{ quiet: boolean; waitedMs: number }> {
  const t0 = performance.now();
  for (;;) {
    const m0 = machineBusyMs();
    if (m0 === null) return { quiet: false, waitedMs: 0 };
    await new Promise((r) => setTimeout(r, 1000));
    const busy = ((machineBusyMs() ?? m0) - m0) / 1000;
    const waitedMs = performance.now() - t0;
    if (busy < threshold) return { quiet: true, waitedMs };
    if (waitedMs >= maxWaitMs) return { quiet: false, waitedMs };
    await new Promise((r) => setTimeout(r, 4000));
  }
}
