import Database from "better-sqlite3";
import { FUSIONKIT_VERSION } from "../version.ts";
import {
  type ImportPlan,
  type ImportSummary,
  type ModelRow,
  type OutcomeRow,
  planImport,
  type QueryRow,
  toModel,
  toOutcome,
  toQuery,
} from "./import-plan.ts";
import { migrateSqlite } from "./migrations.ts";
import type { Located, Model, Outcome, OutcomeInput, ParsedBatch, Query, Split } from "./types.ts";

export type { ImportSummary };

export const DEFAULT_DB = "./fusionkit.db";

export interface QueryFilter {
  dataset?: string;
  split?: Split;
}

/**
 * How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. The gateway's
 * short writes must not stall requests for long; a command such as `import` passes a longer wait.
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

export interface StoreOptions {
  busyTimeoutMs?: number;
}

/**
 * The embedded store: one SQLite file, brought to the latest schema version on open. Every table — routing
 * data, caches, router artifacts, the gateway's log, keys and the dashboard's rollup — is made by the numbered
 * migrations of data/migrations.ts; the modules that use them through `db` create none.
 */
export class Store {
  readonly db: Database.Database;
  readonly path: string;

  constructor(path: string = DEFAULT_DB, options: StoreOptions = {}) {
    this.path = path;
    // The busy timeout is set before the first statement, so even switching a new file to WAL waits for a
    // concurrent opener instead of failing. WAL lets readers (the gateway, eval) run beside one writer.
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    migrateSqlite(this.db);
  }

  close(): void {
    this.db.close();
  }

  /**
   * Validate and write one parsed batch in a single transaction. On any bad record nothing is written
   * and the DataError names file, line/row and field. Re-importing identical data changes nothing.
   */
  importBatch(batch: ParsedBatch): ImportSummary {
    return this.importBatches([batch])[0] as ImportSummary;
  }

  /**
   * Validate and write several parsed files as one unit: all of them or nothing.
   *
   * Why in two phases: checking every record against the store (duplicate lookups, costs) is about half of an
   * import's write time, and a write transaction holds the database's only write lock, which the gateway needs
   * for its exchange log every few hundred ms. So the plan is made in a read transaction (WAL readers take no
   * lock writers wait for), and only its inserts run under the lock, taken with BEGIN IMMEDIATE (a deferred
   * transaction that read first cannot wait for the lock: SQLite answers SQLITE_BUSY at once).
   *
   * What another writer may have done in between: added one of our queries, outcomes or models (an insert hits
   * the primary key, and the plan is remade under the lock), or changed a stored model the plan priced outcomes
   * with (checked first, same remedy). Other writers (the gateway's log, labels) do not touch what the plan relies
   * on, so the plan is not remade each time they write.
   *
   * Measured on the bundled and bench data: staging the rows in TEMP tables and copying them with one
   * INSERT … SELECT shortened the lock a further ~30% but cost ~25% more import time; splitting the write into
   * several commits would let the gateway write between them but would make a failed or killed import leave
   * half its rows. So: one commit of plain inserts in key order, all-or-nothing. A very large import (100k
   * outcomes with full responses) still holds the lock for seconds on a slow disk: writers beside it need a busy
   * timeout, and the gateway must wait for it without blocking its requests.
   */
  importBatches(batches: readonly ParsedBatch[]): ImportSummary[] {
    let plan = this.db.transaction(() => planImport(this.db, batches))();
    return this.db
      .transaction(() => {
        if (!this.modelsUnchanged(plan)) plan = planImport(this.db, batches);
        try {
          this.db.transaction(() => this.write(plan))(); // a savepoint: undone alone on a conflict
        } catch (e) {
          if ((e as { code?: string }).code !== "SQLITE_CONSTRAINT_PRIMARYKEY") throw e;
          plan = planImport(this.db, batches);
          this.write(plan);
        }
        return plan.summaries;
      })
      .immediate();
  }

  /** The stored models the plan read are still stored as it read them. */
  private modelsUnchanged(plan: ImportPlan): boolean {
    const get = this.db.prepare<[string], ModelRow>("SELECT * FROM models WHERE name = ?");
    return plan.modelsRead.every((m) => {
      const row = get.get(m.name);
      return !!row && JSON.stringify(toModel(row)) === JSON.stringify(m);
    });
  }

  /** The write itself (inside the write transaction): models, queries in file order, outcomes, the import log. */
  private write(plan: ImportPlan): void {
    const insModel = this.db.prepare(
      "INSERT INTO models (name, input_price, output_price, description, size, upstream_id) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const fillModel = this.db.prepare(
      "UPDATE models SET input_price = ?, output_price = ?, description = ?, size = ?, upstream_id = ? WHERE name = ?",
    );
    const insQuery = this.db.prepare(
      `INSERT INTO queries (id, dataset, task, domain, text, ground_truth, metric, task_description, choices, split)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insOutcome = this.db.prepare(
      `INSERT INTO outcomes (query_id, model, mode, response, performance, input_tokens, output_tokens, cost, judge, latency_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insImport = this.db.prepare(
      `INSERT INTO imports (format, dataset, files, queries, outcomes_added, outcomes_unchanged, at, fusionkit_version, models_added)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const m of plan.modelsToInsert)
      insModel.run(m.name, m.inputPrice, m.outputPrice, m.description ?? null, m.size ?? null, m.upstreamId ?? null);
    for (const m of plan.modelsToFill)
      fillModel.run(m.inputPrice, m.outputPrice, m.description ?? null, m.size ?? null, m.upstreamId ?? null, m.name);
    for (const q of plan.queriesToInsert)
      insQuery.run(
        q.id,
        q.dataset,
        q.task,
        q.domain ?? null,
        q.text,
        q.groundTruth ?? null,
        q.metric ?? null,
        q.taskDescription ?? null,
        q.choices ?? null,
        q.split ?? null,
      );
    for (const o of plan.outcomesToInsert)
      insOutcome.run(
        o.queryId,
        o.model,
        o.mode,
        o.response ?? null,
        o.performance,
        o.inputTokens ?? null,
        o.outputTokens ?? null,
        o.cost,
        o.judge ?? null,
        o.latencyMs ?? null,
      );
    const at = new Date().toISOString();
    for (const l of plan.log)
      insImport.run(
        l.format,
        l.dataset,
        l.files,
        l.queries,
        l.outcomesAdded,
        l.outcomesUnchanged,
        at,
        FUSIONKIT_VERSION,
        l.modelsAdded,
      );
  }

  models(): Model[] {
    return this.db.prepare<[], ModelRow>("SELECT * FROM models ORDER BY name").all().map(toModel);
  }

  model(name: string): Model | null {
    const row = this.db.prepare<[string], ModelRow>("SELECT * FROM models WHERE name = ?").get(name);
    return row ? toModel(row) : null;
  }

  datasets(): string[] {
    return this.db
      .prepare<[], { dataset: string }>("SELECT DISTINCT dataset FROM queries ORDER BY dataset")
      .all()
      .map((r) => r.dataset);
  }

  queries(filter: QueryFilter = {}): Query[] {
    const { where, params } = queryWhere(filter);
    return this.db
      .prepare<unknown[], QueryRow>(`SELECT * FROM queries ${where} ORDER BY rowid`)
      .all(...params)
      .map(toQuery);
  }

  query(id: string): Query | null {
    const row = this.db.prepare<[string], QueryRow>("SELECT * FROM queries WHERE id = ?").get(id);
    return row ? toQuery(row) : null;
  }

  outcomes(filter: QueryFilter = {}): Outcome[] {
    const { where, params } = queryWhere(filter, "q.");
    return this.db
      .prepare<unknown[], OutcomeRow>(
        `SELECT o.* FROM outcomes o JOIN queries q ON q.id = o.query_id ${where} ORDER BY q.rowid, o.model, o.mode`,
      )
      .all(...params)
      .map(toOutcome);
  }

  outcomesForQuery(queryId: string): Outcome[] {
    return this.db
      .prepare<[string], OutcomeRow>("SELECT * FROM outcomes WHERE query_id = ? ORDER BY model, mode")
      .all(queryId)
      .map(toOutcome);
  }

  /** Set the split of queries; used by the seeded splitter. One transaction. */
  setSplits(assignments: ReadonlyArray<{ id: string; split: Split }>): void {
    const upd = this.db.prepare("UPDATE queries SET split = ? WHERE id = ?");
    this.db.transaction(() => {
      for (const a of assignments) upd.run(a.split, a.id);
    })();
  }

  counts(): { models: number; queries: number; outcomes: number } {
    const one = (sql: string) => (this.db.prepare<[], { n: number }>(sql).get() as { n: number }).n;
    return {
      models: one("SELECT COUNT(*) AS n FROM models"),
      queries: one("SELECT COUNT(*) AS n FROM queries"),
      outcomes: one("SELECT COUNT(*) AS n FROM outcomes"),
    };
  }
}

function queryWhere(filter: QueryFilter, prefix = ""): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.dataset) {
    parts.push(`${prefix}dataset = ?`);
    params.push(filter.dataset);
  }
  if (filter.split) {
    parts.push(`${prefix}split = ?`);
    params.push(filter.split);
  }
  return { where: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params };
}

export type { Located, OutcomeInput };
