import type { Command } from "commander";
import { UsageError } from "../data/errors.ts";
import { DEFAULT_DB, Store } from "../data/store.ts";
import type { Split } from "../data/types.ts";
import { SCENARIOS, type Scenario } from "../routing/objective.ts";
import { ROUTER_NAMES, type RouterParams } from "../routing/registry.ts";

/**
 * Option parsing shared by the commands: the store options, and flag values checked into numbers, lists and
 * known names, each failing with a UsageError that names the flag.
 */

/** The store a command uses unless --db says otherwise: $FUSIONKIT_DB (an empty one counts as unset), else ./fusionkit.db. */
export function defaultDb(): string {
  return process.env.FUSIONKIT_DB || DEFAULT_DB;
}

/** Options shared by commands that read the store. */
export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option("--db <file>", "SQLite store file", defaultDb())
    .option("--dataset <name>", "restrict to one dataset in the store");
}

export function openStore(opts: { db?: string }): Store {
  return new Store(opts.db ?? DEFAULT_DB);
}

export function parseSplit(value: string | undefined): Split | undefined {
  if (value === undefined) return undefined;
  if (value !== "train" && value !== "test") throw new UsageError(`--split must be train or test, got "${value}"`);
  return value;
}

/** The dataset a command works on (`--dataset` or the store's default): see data/datasets.ts. */
export { resolveDataset } from "../data/datasets.ts";

/** A split the command needs must exist: say how to make it rather than fail on an empty table. */
export function requireSplit(store: Store, dataset: string, split: Split | undefined): void {
  if (split === undefined) return;
  const row = store.db
    .prepare<[string, string], { n: number }>("SELECT COUNT(*) AS n FROM queries WHERE dataset = ? AND split = ?")
    .get(dataset, split);
  if (!row?.n)
    throw new UsageError(
      `dataset "${dataset}" has no ${split} split in ${store.path}; assign one with "fusionkit split --dataset ${dataset}"`,
    );
}

/**
 * The llm-judge scenario ranks by LLM-judge scores; on data without any it would silently equal
 * performance-first, so it is an error that says how to get them.
 */
export function requireJudgeScores(store: Store, dataset: string, split: Split): void {
  const row = store.db
    .prepare<[string, string], { n: number }>(
      "SELECT COUNT(*) AS n FROM (SELECT 1 FROM outcomes o JOIN queries q ON q.id = o.query_id WHERE q.dataset = ? AND q.split = ? AND o.judge IS NOT NULL LIMIT 1)",
    )
    .get(dataset, split);
  if (!row?.n)
    throw new UsageError(
      `scenario llm-judge needs LLM-judge scores, and the ${split} split of dataset "${dataset}" has none; score responses with "fusionkit judge --dataset ${dataset} ..." or choose another scenario`,
    );
}

/** Commander's collector for a repeatable option: `--x a --x b` → ["a", "b"]. */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "a, b,,c" → ["a", "b", "c"]. */
export function commaList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A flag value as a number; NaN for a blank one (which Number() would read as 0). */
function numberOf(value: string): number {
  return value.trim() === "" ? Number.NaN : Number(value);
}

/** An integer flag value ≥ min; an absent (optional) flag stays undefined. */
export function parseInteger(value: string, flag: string, min: number): number;
export function parseInteger(value: string | undefined, flag: string, min: number): number | undefined;
export function parseInteger(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** A finite number ≥ 0; an absent (optional) flag stays undefined. */
export function parseNonNegative(value: string, flag: string): number;
export function parseNonNegative(value: string | undefined, flag: string): number | undefined;
export function parseNonNegative(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = numberOf(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number ≥ 0, got "${value}"`);
  return n;
}

/** A share in [0, 1]. */
export function parseShare(value: string, flag: string): number {
  const n = numberOf(value);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`${flag} must be a share between 0 and 1, got "${value}"`);
  return n;
}

/** A share strictly between 0 and 1: a part that leaves some of the whole on either side (a held-back share). */
export function parseOpenShare(value: string, flag: string): number {
  const n = numberOf(value);
  if (!(n > 0 && n < 1)) throw new UsageError(`${flag} must be a share in (0, 1), got "${value}"`);
  return n;
}

/** A random seed: any integer. */
export function parseSeed(value: string, flag: string): number {
  const n = numberOf(value);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be an integer, got "${value}"`);
  return n;
}

/** A TCP port to listen on (0: any free port). */
export function parsePort(value: string, flag = "--port"): number {
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} must be an integer in [0, 65535], got "${value}"`);
  return n;
}

/** "k=10" → {k: 10}; values are JSON when they parse as JSON ("true", "0.5", "[1,2]"), else strings. */
export function parseParams(items: string[]): RouterParams {
  const out: RouterParams = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param must look like name=value, got "${item}"`);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string value
    }
    out[item.slice(0, eq)] = value;
  }
  return out;
}

/** "a,b,a" → ["a", "b"], each a known name (else a usage error naming the flag); absent → the fallback. */
export function parseNameList(
  value: string | undefined,
  fallback: readonly string[],
  known: readonly string[],
  flag: string,
  what: string,
): string[] {
  if (value === undefined) return [...fallback];
  const names = [...new Set(commaList(value))];
  for (const n of names)
    if (!known.includes(n)) throw new UsageError(`${flag}: unknown ${what} "${n}" (known: ${known.join(", ")})`);
  return names;
}

/** `--routers a,b` → known router names; absent → the fallback. */
export function parseRouters(value: string | undefined, fallback: readonly string[]): string[] {
  return parseNameList(value, fallback, ROUTER_NAMES, "--routers", "router");
}

export const DEFAULT_SCENARIOS: Scenario[] = ["performance-first", "balance", "cost-first"];

/** "performance,balance,cost" → scenarios; the short names are accepted for the three FusionFactory ones. */
export function parseScenarios(value: string | undefined): Scenario[] {
  if (value === undefined) return DEFAULT_SCENARIOS;
  const alias: Record<string, Scenario> = {
    performance: "performance-first",
    cost: "cost-first",
    judge: "llm-judge",
  };
  const out = commaList(value).map((s) => {
    const name = alias[s] ?? s;
    if (!(name in SCENARIOS))
      throw new UsageError(
        `--scenario: unknown scenario "${s}" (known: ${Object.keys(SCENARIOS).join(", ")}; short: performance, cost, judge)`,
      );
    return name as Scenario;
  });
  if (out.length === 0) throw new UsageError("--scenario: give at least one scenario");
  return [...new Set(out)];
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
