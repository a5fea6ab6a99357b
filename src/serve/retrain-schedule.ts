import { UsageError } from "../data/errors.ts";

/**
 * When `serve --retrain-every` retrains: after every `n` new labelled exchanges (`50`, `50 labels`), or every
 * period (`30s`, `10m`, `2h`, `1d`) in which at least one new label arrived (without new labels a retrain could
 * only learn what the live router already knew).
 */
export type RetrainEvery = { labels: number } | { ms: number };

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--retrain-every` (or the config's retrain.every) as a schedule; a UsageError naming `where` when it is neither form. */
export function parseRetrainEvery(spec: string, where = "--retrain-every"): RetrainEvery {
  const e = retrainEvery(spec);
  if (!e) throw new UsageError(`${where}: ${RETRAIN_EVERY_EXPECTED}, got "${spec}"`);
  return e;
}

export const RETRAIN_EVERY_EXPECTED =
  "expected a number of new labels (e.g. 50) or a period of at least 1 s (30s, 10m, 2h, 1d)";

function retrainEvery(spec: string): RetrainEvery | null {
  const s = spec.trim();
  const labels = /^(\d+)\s*(?:labels?)?$/.exec(s);
  if (labels) {
    const n = Number(labels[1]);
    if (n >= 1) return { labels: n };
  }
  const period = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(s);
  if (period) {
    const ms = Number(period[1]) * UNIT_MS[period[2] as keyof typeof UNIT_MS];
    if (ms >= 1000) return { ms };
  }
  return null;
}

export function everyLabel(e: RetrainEvery): string {
  return "labels" in e ? `${e.labels} new labels` : `${e.ms / 1000} s with new labels`;
}

/**
 * Whether a retrain is due: `labels` is the number of labelled exchanges in the store now, `lastLabels` the
 * number at the previous decision (0 before any), `since` the ms elapsed since it (or since the gateway started).
 */
export function retrainDue(e: RetrainEvery, labels: number, lastLabels: number, since: number): boolean {
  const fresh = labels - lastLabels;
  return "labels" in e ? fresh >= e.labels : fresh > 0 && since >= e.ms;
}
