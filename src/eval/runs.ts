import type Database from "better-sqlite3";
import { parseCandidateKey } from "../data/types.ts";
import type { EvalResult } from "./evaluate.ts";

/**
 * Stored evaluation runs: every `fusionkit eval` (and demo) run is kept in the store with its settings, its
 * result (the `eval --json` object) and each router's per-query choice under each scenario, so the dashboard
 * can show past runs, their frontiers and the queries where a router chose differently from the best single
 * model, without re-running anything. The tables are migration 3 (data/migrations.ts).
 */

/** What a run was asked to do (the eval command's settings). */
export interface EvalSettings {
  routers: string[];
  /** Parameters given to trained routers (`eval --param`), by router; absent: defaults. */
  params?: Record<string, Record<string, unknown>>;
  artifacts: string[];
  scenarios: string[];
  embedder: string;
  /** "eval" or "demo". */
  command: string;
}

/** An evaluation's result plus the ids of the scored queries (row i of each router's `choices`). */
export type EvalRun = EvalResult & { queryIds: string[] };

export interface StoredRunSummary {
  id: number;
  at: string;
  dataset: string;
  split: string;
  settings: EvalSettings;
  queries: number;
  routers: number;
  bestSingle: string;
}

/**
 * The object `fusionkit eval --json` prints and a stored run keeps (documented in README.md): the EvalResult
 * without the per-query arrays (strong-call curves, one point per test query, which the report plots; choices
 * and query ids, which eval_choices keeps).
 */
export function evalJson(dataset: string, r: EvalResult): unknown {
  const { queryIds: _ids, ...rest } = r as EvalResult & { queryIds?: string[] };
  return {
    dataset,
    ...rest,
    routers: r.routers.map(({ strongCallCurve: _curve, choices: _choices, ...router }) => router),
  };
}

/**
 * Store a run and its per-query choices in one transaction; returns the run id. `result` is what
 * `eval --json` prints (the per-query arrays are kept in eval_choices instead).
 */
export function saveEvalRun(
  db: Database.Database,
  dataset: string,
  settings: EvalSettings,
  run: EvalRun,
  result: unknown,
): number {
  const insRun = db.prepare("INSERT INTO eval_runs (at, dataset, split, settings, result) VALUES (?, ?, ?, ?, ?)");
  const insChoice = db.prepare(
    "INSERT OR REPLACE INTO eval_choices (run_id, router, scenario, query_id, model, mode) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const candidates = run.candidates.map(parseCandidateKey);
  return db.transaction(() => {
    const id = Number(
      insRun.run(new Date().toISOString(), dataset, run.split, JSON.stringify(settings), JSON.stringify(result))
        .lastInsertRowid,
    );
    for (const r of run.routers)
      r.choices?.forEach((j, i) => {
        const c = candidates[j];
        const q = run.queryIds[i];
        if (c && q !== undefined) insChoice.run(id, r.name, r.scenario, q, c.model, c.mode);
      });
    return id;
  })();
}

export function listEvalRuns(db: Database.Database): StoredRunSummary[] {
  // Summary fields come from JSON in SQL, so listing never parses whole results.
  return db
    .prepare<
      [],
      {
        id: number;
        at: string;
        dataset: string;
        split: string;
        settings: string;
        queries: number;
        routers: number;
        best: string;
      }
    >(
      `SELECT id, at, dataset, split, settings, json_extract(result, '$.queries') AS queries,
       json_array_length(result, '$.routers') AS routers, json_extract(result, '$.bestSingle.model') AS best
       FROM eval_runs ORDER BY id DESC`,
    )
    .all()
    .map((r) => ({
      id: r.id,
      at: r.at,
      dataset: r.dataset,
      split: r.split,
      settings: JSON.parse(r.settings) as EvalSettings,
      queries: r.queries,
      routers: r.routers,
      bestSingle: r.best,
    }));
}

/** One stored run: its settings and the `eval --json` object; null when there is no such run. */
export function loadEvalRun(
  db: Database.Database,
  id: number,
): { id: number; at: string; dataset: string; split: string; settings: EvalSettings; result: unknown } | null {
  const r = db
    .prepare<[number], { id: number; at: string; dataset: string; split: string; settings: string; result: string }>(
      "SELECT id, at, dataset, split, settings, result FROM eval_runs WHERE id = ?",
    )
    .get(id);
  if (!r) return null;
  return { ...r, settings: JSON.parse(r.settings) as EvalSettings, result: JSON.parse(r.result) };
}
