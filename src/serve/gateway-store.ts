import type Database from "better-sqlite3";
import type { ProvidersConfig } from "../llm/providers.ts";
import type { LoadedArtifact } from "../routing/artifacts.ts";
import type { KeyStore } from "./keys.ts";
import { FeedbackError, type LabelResult } from "./labels.ts";
import type { ExchangeSink } from "./log.ts";

/**
 * What the gateway shares between its processes and machines: the exchange log, feedback labels, client keys,
 * router artifacts and the news that a router changed. SQLite (sqlite-gateway-store.ts, one machine) and
 * PostgreSQL (postgres/store.ts, any number of replicas) implement the same interface, chosen by `--db`.
 */
export interface GatewayStore {
  /** For messages: the SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string;
  /** Where the exchange log writes its batches; a re-sent row (same request id) is stored once. */
  readonly exchanges: ExchangeSink;
  /** The SQLite database (the dashboard reads it directly); null for PostgreSQL. */
  readonly sqlite: Database.Database | null;
  /** Label a logged exchange; FeedbackError 404 when it is not (yet) in the log, 409 when it was not answered. */
  label(requestId: string, score: number): Promise<LabelResult>;
  /**
   * Delete up to `limit` of the oldest exchanges logged before `before` (epoch ms) with their feedback, in one
   * short transaction (retention.ts); returns how many were deleted.
   */
  purgeExchanges(before: number, limit: number): Promise<number>;
  /** Client keys with their limits. */
  readonly keys: KeyStore;
  /** A router artifact saved under an id (e.g. "llmrouter/knn" by `fusionkit train`). */
  loadRouterArtifact(id: string): Promise<LoadedArtifact>;
  /** Save (or replace) an artifact under an id and tell every gateway on this store that it changed. */
  publishRouterArtifact(id: string, artifact: LoadedArtifact): Promise<void>;
  /**
   * Calls `listener` with the id of every artifact published from now on, by any process or machine
   * (ANY_ROUTER when publications may have been missed, e.g. after a lost connection); false when this
   * store cannot notify (SQLite: send SIGHUP instead).
   */
  onRouterPublished(listener: (id: string) => void): Promise<boolean>;
  close(): Promise<void>;
}

/** The id `onRouterPublished` reports when any artifact may have changed. */
export const ANY_ROUTER = "*";

export const isPostgresUrl = (spec: string): boolean => /^postgres(ql)?:\/\//.test(spec);

/** `--db`: a SQLite file, or a postgres:// URL. `providers` prices the models of labels exported as routing data (SQLite). */
export async function openGatewayStore(spec: string, providers: ProvidersConfig | null): Promise<GatewayStore> {
  if (isPostgresUrl(spec)) {
    const { PostgresGatewayStore } = await import("./postgres/store.ts");
    return PostgresGatewayStore.open(spec);
  }
  const { SqliteGatewayStore } = await import("./sqlite-gateway-store.ts");
  return SqliteGatewayStore.open(spec, providers);
}

/**
 * Label an exchange that may still be on its way to the log: in this process's write buffer (flushed by
 * `flushLocal`), with the primary of `serve --workers`, or with another replica's writer. A 404 is
 * retried until `waitMs` has passed; only then is the request id unknown.
 */
export async function labelWhenLogged(
  store: Pick<GatewayStore, "label">,
  requestId: string,
  score: number,
  flushLocal: () => Promise<void>,
  waitMs = 2000,
): Promise<LabelResult> {
  await flushLocal();
  const end = Date.now() + waitMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      return await store.label(requestId, score);
    } catch (e) {
      if (!(e instanceof FeedbackError && e.status === 404) || Date.now() >= end) throw e;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}
