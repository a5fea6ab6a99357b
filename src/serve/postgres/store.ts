import pg from "pg";
import { GATEWAY_DATASET, GATEWAY_TASK } from "../../data/datasets.ts";
import { UsageError } from "../../data/errors.ts";
import { queryId } from "../../data/ids.ts";
import { fromArtifact, type LoadedArtifact, toArtifact } from "../../routing/artifacts.ts";
import { ANY_ROUTER, type GatewayStore } from "../gateway-store.ts";
import { FeedbackError, HAS_TEXT, type LabelResult } from "../labels.ts";
import { EXCHANGE_COLUMNS, type Exchange } from "../log.ts";
import { PostgresKeys } from "./keys.ts";
import { migratePostgres } from "./migrations.ts";

/** The channel `publishRouterArtifact` notifies and every gateway listens on; the payload is the artifact id. */
const ROUTER_CHANNEL = "fusionkit_router_published";

/**
 * PostgreSQL text cannot hold NUL; the gateway's session keys use it as a separator (virtual model NUL
 * session) and client text may contain it. It is stored as U+2400 (␀).
 */
const pgText = (v: string | null): string | null => (v === null ? null : v.replaceAll("\u0000", "\u2400"));
const pgValue = (v: unknown): unknown => (typeof v === "string" ? pgText(v) : v);

/** One statement per batch whatever its size: each column is one array parameter, unnested into rows. */
const INSERT_EXCHANGES = `INSERT INTO gateway_exchanges (${EXCHANGE_COLUMNS.map(([c]) => c).join(", ")})
  SELECT * FROM unnest(${EXCHANGE_COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(", ")})
  ON CONFLICT (request_id) DO NOTHING`;

/**
 * The gateway's shared state in PostgreSQL, for replicas on several machines: a connection pool for
 * reads and batched writes, and one extra connection that LISTENs for published routers.
 */
export class PostgresGatewayStore implements GatewayStore {
  readonly location: string;
  readonly keys: PostgresKeys;
  private listener: pg.Client | null = null;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {
    const u = new URL(url);
    if (u.password) u.password = "***";
    this.location = u.toString();
    this.keys = new PostgresKeys(pool);
  }

  static async open(url: string, poolSize = 5): Promise<PostgresGatewayStore> {
    const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 30_000 });
    // An idle client losing its connection (database restart) must not take the gateway down.
    pool.on("error", (e) => process.stderr.write(`fusionkit: PostgreSQL connection lost: ${e.message}\n`));
    const store = new PostgresGatewayStore(pool, url);
    try {
      await migratePostgres(pool);
    } catch (e) {
      await pool.end();
      const message = `cannot open the PostgreSQL store ${store.location}: ${(e as Error).message}`;
      // A database from a newer FusionKit is the user's to resolve (exit 2, no stack), like a newer SQLite store.
      throw e instanceof UsageError ? new UsageError(message) : new Error(message);
    }
    return store;
  }

  readonly sqlite = null;
  readonly exchanges = async (rows: Exchange[]): Promise<void> => {
    await this.pool.query(
      INSERT_EXCHANGES,
      EXCHANGE_COLUMNS.map(([, , get]) => rows.map((r) => pgValue(get(r)))),
    );
  };

  async purgeExchanges(before: number, limit: number): Promise<number> {
    // Replicas purging at once skip each other's rows instead of waiting; feedback goes in the same statement
    // (its foreign key is checked at the statement's end).
    const r = await this.pool.query(
      `WITH doomed AS (
         SELECT request_id FROM gateway_exchanges WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), labels AS (DELETE FROM gateway_feedback WHERE request_id IN (SELECT request_id FROM doomed))
       DELETE FROM gateway_exchanges WHERE request_id IN (SELECT request_id FROM doomed)`,
      [before, limit],
    );
    return r.rowCount ?? 0;
  }

  async label(requestId: string, score: number): Promise<LabelResult> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const ex = (
        await client.query<{
          query: string;
          served_model: string | null;
          mode: string | null;
          status: number;
          log_mode: string | null;
        }>("SELECT query, served_model, mode, status, log_mode FROM gateway_exchanges WHERE request_id = $1", [
          requestId,
        ])
      ).rows[0];
      if (!ex) throw new FeedbackError(404, `no exchange with request_id '${requestId}' in the gateway log`);
      if (!ex.served_model || ex.status !== 200)
        throw new FeedbackError(
          409,
          `exchange '${requestId}' was not answered (status ${ex.status}); there is nothing to label`,
        );
      await client.query(
        `INSERT INTO gateway_feedback (request_id, score, at) VALUES ($1, $2, $3)
         ON CONFLICT (request_id) DO UPDATE SET score = excluded.score, at = excluded.at`,
        [requestId, score, Date.now()],
      );
      if (ex.log_mode === "metadata") {
        await client.query("COMMIT");
        return { queryId: null, model: ex.served_model, performance: score };
      }
      // The outcome a label stands for is the mean label of every answered exchange of that query and model.
      const mode = ex.mode ?? "direct";
      const { mean } = (
        await client.query<{ mean: number }>(
          `SELECT avg(f.score) AS mean FROM gateway_exchanges e JOIN gateway_feedback f USING (request_id)
           WHERE e.query = $1 AND e.served_model = $2 AND COALESCE(e.mode, 'direct') = $3 AND e.status = 200
             AND ${HAS_TEXT}`,
          [ex.query, ex.served_model, mode],
        )
      ).rows[0];
      await client.query("COMMIT");
      return {
        queryId: queryId(GATEWAY_DATASET, GATEWAY_TASK, ex.query, "train"),
        model: ex.served_model,
        performance: Number(mean),
      };
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async loadRouterArtifact(id: string): Promise<LoadedArtifact> {
    const { rows } = await this.pool.query<{ artifact: string }>(
      "SELECT artifact FROM router_artifacts WHERE id = $1",
      [id],
    );
    if (!rows[0]) throw new Error(`no router artifact "${id}" in ${this.location}`);
    return fromArtifact(JSON.parse(rows[0].artifact), `${this.location}#router_artifacts/${id}`);
  }

  async publishRouterArtifact(id: string, artifact: LoadedArtifact): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO router_artifacts (id, router, embedder, trained_at, artifact) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET router = excluded.router, embedder = excluded.embedder,
           trained_at = excluded.trained_at, artifact = excluded.artifact`,
        [id, artifact.name, artifact.embedder, artifact.trainedAt, JSON.stringify(toArtifact(artifact))],
      );
      // Delivered at COMMIT, so a listener that reloads finds the new artifact.
      await client.query("SELECT pg_notify($1, $2)", [ROUTER_CHANNEL, id]);
      await client.query("COMMIT");
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async onRouterPublished(listener: (id: string) => void): Promise<boolean> {
    const connect = async (): Promise<void> => {
      const client = new pg.Client({ connectionString: this.url });
      client.on("notification", (n) => {
        if (n.channel === ROUTER_CHANNEL && n.payload) listener(n.payload);
      });
      // The listening connection dropped (database restart): reconnect, and reload every router once,
      // since a publication may have been missed meanwhile.
      client.on("error", (e) => process.stderr.write(`fusionkit: PostgreSQL listener: ${e.message}\n`));
      client.on("end", () => {
        if (this.closed) return;
        const retry = () =>
          connect().then(
            () => listener(ANY_ROUTER),
            () => setTimeout(retry, 1000).unref(),
          );
        setTimeout(retry, 1000).unref();
      });
      await client.connect();
      await client.query(`LISTEN ${ROUTER_CHANNEL}`);
      this.listener = client;
    };
    await connect();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => {});
    await this.pool.end();
  }
}
