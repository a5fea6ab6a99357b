import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { formatTable } from "../../report/text-table.ts";
import { openGatewayStore } from "../../serve/gateway-store.ts";
import { KeyMeter } from "../../serve/key-limits.ts";
import { type KeyLimits, type KeyStore, NO_LIMITS } from "../../serve/keys.ts";
import { commaList, defaultDb, printJson } from "../options.ts";

/** The keys of a gateway store (SQLite file or postgres://…), and the spend meter where the log is SQLite. */
async function withKeys<T>(db: string, use: (keys: KeyStore, meter: KeyMeter | null) => Promise<T>): Promise<T> {
  const store = await openGatewayStore(db, null);
  try {
    return await use(store.keys, store.sqlite ? new KeyMeter(store.sqlite) : null);
  } finally {
    await store.close();
  }
}

interface LimitFlags {
  budgetDay?: string;
  budgetMonth?: string;
  rpm?: string;
  tpm?: string;
  models?: string;
}

/** The limit options shared by `keys create` and `keys limit`; "none" removes a limit. */
function withLimitOptions(cmd: Command): Command {
  return cmd
    .option("--budget-day <usd>", "USD the key may spend per UTC day (429 once spent; 'none' removes it)")
    .option("--budget-month <usd>", "USD the key may spend per UTC calendar month")
    .option("--rpm <n>", "requests per minute (429 with Retry-After beyond it)")
    .option("--tpm <n>", "tokens (input + output) per minute")
    .option(
      "--models <list>",
      "comma-separated models the key may request (virtual or upstream names; 403 for others)",
    );
}

function parseLimits(f: LimitFlags): Partial<KeyLimits> {
  const out: Partial<KeyLimits> = {};
  const num = (v: string, flag: string, integer: boolean) => {
    if (v === "none") return null;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
      throw new UsageError(`${flag} must be a ${integer ? "whole number" : "number"} ≥ 0 or 'none', got "${v}"`);
    return n;
  };
  if (f.budgetDay !== undefined) out.budgetDay = num(f.budgetDay, "--budget-day", false);
  if (f.budgetMonth !== undefined) out.budgetMonth = num(f.budgetMonth, "--budget-month", false);
  if (f.rpm !== undefined) out.rpm = num(f.rpm, "--rpm", true);
  if (f.tpm !== undefined) out.tpm = num(f.tpm, "--tpm", true);
  if (f.models !== undefined) {
    const list = commaList(f.models);
    out.models = f.models === "none" || list.length === 0 ? null : list;
  }
  return out;
}

function describeLimits(l: KeyLimits): string {
  const parts: string[] = [];
  if (l.budgetDay !== null) parts.push(`$${l.budgetDay}/day`);
  if (l.budgetMonth !== null) parts.push(`$${l.budgetMonth}/month`);
  if (l.rpm !== null) parts.push(`${l.rpm} req/min`);
  if (l.tpm !== null) parts.push(`${l.tpm} tok/min`);
  if (l.models) parts.push(`models ${l.models.join("|")}`);
  return parts.join(", ") || "none";
}

/** `fusionkit keys create|list|limit|revoke`: client API keys for `fusionkit serve`, stored hashed in the store. */
export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("client API keys for the gateway (stored hashed)");
  const db = (cmd: Command) =>
    cmd.option("--db <file-or-url>", "gateway store: SQLite file or postgres://…", defaultDb());

  withLimitOptions(db(keys.command("create").description("create a key; prints it once (only its hash is stored)")))
    .requiredOption("--name <name>", "who or what the key is for")
    .option("--json", "print {id, name, key, limits} as JSON")
    .action(async (opts: LimitFlags & { db: string; name: string; json?: boolean }) => {
      const limits = { ...NO_LIMITS, ...parseLimits(opts) };
      await withKeys(opts.db, async (keys) => {
        // Valid at once: a running gateway looks up a key it has not seen yet in the store.
        const { key, info } = await keys.create(opts.name, limits);
        if (opts.json) return printJson({ id: info.id, name: info.name, key, limits });
        process.stdout.write(`${key}\n`);
        process.stderr.write(
          `created ${info.id} (${info.name}; limits: ${describeLimits(limits)}); the key is shown only now — store it safely\n`,
        );
      });
    });

  withLimitOptions(
    db(keys.command("limit").description("change a key's limits (a running gateway applies them within seconds)")),
  )
    .argument("<id-or-name>")
    .action(async (idOrName: string, opts: LimitFlags & { db: string }) => {
      const change = parseLimits(opts);
      if (Object.keys(change).length === 0)
        throw new UsageError("give at least one of --budget-day, --budget-month, --rpm, --tpm, --models");
      await withKeys(opts.db, async (keys) => {
        const n = await keys.setLimits(idOrName, change);
        if (n === 0) throw new UsageError(`no active key with id or name '${idOrName}'`);
        process.stdout.write(`updated ${n} key${n === 1 ? "" : "s"}\n`);
      });
    });

  db(
    keys
      .command("list")
      .description("list keys (id, name, prefix, limits, spend today and this month, created, revoked)"),
  )
    .option("--json", "print JSON")
    .action(async (opts: { db: string; json?: boolean }) => {
      await withKeys(opts.db, async (keys, meter) => {
        const list = await keys.list();
        // Spend is what the gateway logged per key (gateway_exchanges), in the current UTC day and month
        // (read from a SQLite store; a PostgreSQL store shows 0 for now).
        const rows = list.map((k) => ({ ...k, spend: meter?.spend(k.id) ?? { day: 0, month: 0 } }));
        if (opts.json) return printJson(rows);
        if (list.length === 0)
          return void process.stdout.write("no keys; create one with 'fusionkit keys create --name <name>'\n");
        process.stdout.write(
          formatTable(
            ["id", "name", "prefix", "limits", "spent today", "this month", "created", "revoked"],
            rows.map((k) => [
              k.id,
              k.name,
              `${k.prefix}…`,
              describeLimits(k.limits),
              `$${k.spend.day.toFixed(6)}`,
              `$${k.spend.month.toFixed(6)}`,
              k.createdAt,
              k.revokedAt ?? "",
            ]),
          ),
        );
      });
    });

  db(keys.command("revoke").description("revoke a key by id or name (a running gateway notices within seconds)"))
    .argument("<id-or-name>")
    .action(async (idOrName: string, opts: { db: string }) => {
      await withKeys(opts.db, async (keys) => {
        const n = await keys.revoke(idOrName);
        if (n === 0) throw new UsageError(`no active key with id or name '${idOrName}'`);
        process.stdout.write(`revoked ${n} key${n === 1 ? "" : "s"}\n`);
      });
    });
}
