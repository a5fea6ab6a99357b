import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/**
 * A progress bar on an interactive terminal, a periodic line (every 10 s) otherwise, so that CI logs
 * and pipes still show long work moving. Writes to stderr, keeping stdout for results.
 */
export function progress(label: string, total: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      update: (done, t) => {
        if (t !== undefined) bar.setTotal(t);
        bar.update(done);
      },
      stop: () => bar.stop(),
    };
  }
  const started = Date.now();
  let last = started;
  let tot = total;
  return {
    update: (done, t) => {
      if (t !== undefined) tot = t;
      if (Date.now() - last >= 10_000) {
        last = Date.now();
        process.stderr.write(`${label}: ${done}/${tot}${eta(done, tot, last - started)}\n`);
      }
    },
    stop: () => {},
  };
}

/** ", eta 1m05s" from the rate so far (empty before any progress). */
export function eta(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || done >= total) return "";
  const s = Math.round(((total - done) * elapsedMs) / done / 1000);
  return `, eta ${s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`}`;
}
