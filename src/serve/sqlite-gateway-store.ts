import Database from "better-sqlite3";
import { Store } from "../data/store.ts";
import type { ProvidersConfig } from "../llm/providers.ts";
import { type LoadedArtifact, loadRouterFromStore, saveRouterToStore } from "../routing/artifacts.ts";
import { forgetIndexedText } from "../ui/queries/rollup.ts";
import type { GatewayStore } from "./gateway-store.ts";
import { ApiKeys } from "./keys.ts";
import { Labels } from "./labels.ts";
import type { ExchangeSink } from "./log.ts";

/**
 * How long a retention batch waits for another writer's lock (an import): the wait blocks the event loop, so it
 * is short; a batch that finds the store locked fails its pass, which is tried again later (retention.ts).
 */
const PURGE_BUSY_TIMEOUT_MS = 20;

/** The gateway's shared state in the SQLite store (one machine; the processes of `serve --workers` share the file). */
export class SqliteGatewayStore implements GatewayStore {
  readonly location: string;
  readonly exchanges: ExchangeSink;
  readonly sqlite: Database.Database;
  private readonly labels: Labels;
  readonly keys: ApiKeys;
  /** Retention's own connection (its short busy timeout applies to its deletes only), opened on first use. */
  private purger: { db: Database.Database | null; purge: (before: number, limit: number) => number } | null = null;

  /** `owned`: close the store with this object. */
  constructor(
    readonly store: Store,
    providers: ProvidersConfig | null,
    private readonly owned = false,
  ) {
    this.location = store.path;
    // The processes of `serve --workers` write feedback and keys beside the primary's exchange batches.
    store.db.pragma("busy_timeout = 5000");
    this.exchanges = store.db;
    this.sqlite = store.db;
    this.labels = new Labels(store.db, providers);
    this.keys = new ApiKeys(store.db);
  }

  static async open(path: string, providers: ProvidersConfig | null): Promise<SqliteGatewayStore> {
    return new SqliteGatewayStore(new Store(path), providers, true);
  }

  async purgeExchanges(before: number, limit: number) {
    this.purger ??= this.openPurger();
    return this.purger.purge(before, limit);
  }

  /**
   * The newest exchange is never deleted: SQLite would hand its rowid out again once it is gone, and the
   * dashboard's rollup follows the log by rowid (ui/queries/rollup.ts), so a reused rowid would go uncounted.
   */
  private openPurger() {
    const own = !this.store.db.memory;
    const db = own ? new Database(this.store.path, { fileMustExist: true }) : this.store.db;
    if (own) db.pragma(`busy_timeout = ${PURGE_BUSY_TIMEOUT_MS}`);
    const oldest = db.prepare<[number, number], { rid: number; request_id: string; query: string }>(
      `SELECT rowid AS rid, request_id, query FROM gateway_exchanges
       WHERE at < ? AND rowid < (SELECT MAX(rowid) FROM gateway_exchanges) ORDER BY at LIMIT ?`,
    );
    const dropLabel = db.prepare("DELETE FROM gateway_feedback WHERE request_id = ?");
    const dropExchange = db.prepare("DELETE FROM gateway_exchanges WHERE rowid = ?");
    const batch = db.transaction((before: number, limit: number) => {
      const rows = oldest.all(before, limit);
      forgetIndexedText(db, rows);
      for (const r of rows) {
        dropLabel.run(r.request_id);
        dropExchange.run(r.rid);
      }
      return rows.length;
    });
    return { db: own ? db : null, purge: (before: number, limit: number) => batch.immediate(before, limit) as number };
  }

  async label(requestId: string, score: number) {
    return this.labels.label(requestId, score);
  }
  async loadRouterArtifact(id: string) {
    return loadRouterFromStore(this.store, id);
  }
  async publishRouterArtifact(id: string, artifact: LoadedArtifact) {
    saveRouterToStore(this.store, id, artifact);
  }
  async onRouterPublished() {
    return false;
  }
  async close() {
    this.purger?.db?.close();
    if (this.owned) this.store.close();
  }
}
