import type { Command } from "commander";
import { UsageError } from "../../data/errors.ts";
import { DEFAULT_DB } from "../../data/store.ts";
import { formatTable } from "../../report/text-table.ts";
import { ApiKeys } from "../../serve/keys.ts";
import { openStore, printJson } from "../options.ts";

/** `fusionkit keys create|list|revoke`: client API keys for `fusionkit serve`, stored hashed in the store. */
export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("client API keys for the gateway (stored hashed)");
  const db = (cmd: Command) => cmd.option("--db <file>", "SQLite store file", process.env.FUSIONKIT_DB ?? DEFAULT_DB);

  db(keys.command("create").description("create a key; prints it once (only its hash is stored)"))
    .requiredOption("--name <name>", "who or what the key is for")
    .option("--json", "print {id, name, key} as JSON")
    .action((opts: { db: string; name: string; json?: boolean }) => {
      const store = openStore(opts);
      try {
        const { key, info } = new ApiKeys(store.db).create(opts.name);
        if (opts.json) return printJson({ id: info.id, name: info.name, key });
        process.stdout.write(`${key}\n`);
        process.stderr.write(`created ${info.id} (${info.name}); the key is shown only now — store it safely\n`);
      } finally {
        store.close();
      }
    });

  db(keys.command("list").description("list keys (id, name, prefix, created, revoked)"))
    .option("--json", "print JSON")
    .action((opts: { db: string; json?: boolean }) => {
      const store = openStore(opts);
      try {
        const list = new ApiKeys(store.db).list();
        if (opts.json) return printJson(list);
        if (list.length === 0)
          return void process.stdout.write("no keys; create one with 'fusionkit keys create --name <name>'\n");
        process.stdout.write(
          formatTable(
            ["id", "name", "prefix", "created", "revoked"],
            list.map((k) => [k.id, k.name, `${k.prefix}…`, k.createdAt, k.revokedAt ?? ""]),
          ),
        );
      } finally {
        store.close();
      }
    });

  db(keys.command("revoke").description("revoke a key by id or name (a running gateway notices within seconds)"))
    .argument("<id-or-name>")
    .action((idOrName: string, opts: { db: string }) => {
      const store = openStore(opts);
      try {
        const n = new ApiKeys(store.db).revoke(idOrName);
        if (n === 0) throw new UsageError(`no active key with id or name '${idOrName}'`);
        process.stdout.write(`revoked ${n} key${n === 1 ? "" : "s"}\n`);
      } finally {
        store.close();
      }
    });
}
