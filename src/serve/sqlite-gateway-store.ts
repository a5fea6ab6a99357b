import type Database from "better-sqlite3";
import { Store } from "../data/store.ts";
import type { ProvidersConfig } from "../llm/providers.ts";
import { type LoadedArtifact, loadRouterFromStore, saveRouterToStore } from "../routing/artifacts.ts";
import type { GatewayStore } from "./gateway-store.ts";
import { ApiKeys } from "./keys.ts";
import { Labels } from "./labels.ts";
import type { ExchangeSink } from "./log.ts";

/** The gateway's shared state in the SQLite store (one machine; the processes of `serve --workers` share the file). */
export class SqliteGatewayStore implements GatewayStore {
  readonly location: string;
  readonly exchanges: ExchangeSink;
  readonly sqlite: Database.Database;
  private readonly labels: Labels;
  readonly keys: ApiKeys;

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
    if (this.owned) this.store.close();
  }
}
