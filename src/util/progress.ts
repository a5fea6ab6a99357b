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
  let last = Date.now();
  let tot = total;
  return {
    update: (done, t) => {
      if (t !== undefined) tot = t;
      if (Date.now() - last >= 10_000) {
        last = Date.now();
        process.stderr.write(`${label}: ${done}/${tot}\n`);
      }
    },
    stop: () => {},
  };
}
