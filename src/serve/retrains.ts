import type Database from "better-sqlite3";

/**
 * The record of `serve --retrain-every` (table `router_retrains`, store migration 4): one row per decision —
 * the retrained router swapped in, kept out, or the retrain failed — with the held-back scores of both routers,
 * the labels it saw and the artifact. The latest swap of a served router is what every gateway process serves
 * in its place (also after a restart), so a swap survives and reaches every worker through the reload path.
 */

export type RetrainDecision = "swap" | "keep" | "failed";

export interface RetrainRecord {
  /** ISO time of the decision. */
  at: string;
  /** The router as the gateway's settings name it (file or store id): what a swap replaces. */
  base: string;
  /** The artifact that was live when the retrain started (base, or an earlier swap). */
  live: string;
  /** Router kind (registry name). */
  router: string;
  /** Training datasets, comma-separated (e.g. "llmrouter,gateway"). */
  datasets: string;
  decision: RetrainDecision;
  reason: string;
  /** Labelled exchanges in the store when the retrain started. */
  labels: number;
  trainQueries: number | null;
  heldoutQueries: number | null;
  /** Held-back queries where both routers' choices are labelled (the ones scored). */
  compared: number | null;
  liveScore: number | null;
  candidateScore: number | null;
  /** Store id of the retrained artifact (saved when swapped in). */
  artifact: string | null;
  artifactSha256: string | null;
  seconds: number;
}

export function recordRetrain(db: Database.Database, r: RetrainRecord): number {
  const info = db
    .prepare(
      `INSERT INTO router_retrains (at, base, live, router, datasets, decision, reason, labels, train_queries,
         heldout_queries, compared, live_score, candidate_score, artifact, artifact_sha256, seconds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      r.at,
      r.base,
      r.live,
      r.router,
      r.datasets,
      r.decision,
      r.reason,
      r.labels,
      r.trainQueries,
      r.heldoutQueries,
      r.compared,
      r.liveScore,
      r.candidateScore,
      r.artifact,
      r.artifactSha256,
      r.seconds,
    );
  return Number(info.lastInsertRowid);
}

/** The columns as RetrainRecord fields. */
const SELECT = `SELECT id, at, base, live, router, datasets, decision, reason, labels, train_queries AS trainQueries,
  heldout_queries AS heldoutQueries, compared, live_score AS liveScore, candidate_score AS candidateScore, artifact,
  artifact_sha256 AS artifactSha256, seconds FROM router_retrains`;

type Stored = RetrainRecord & { id: number };

/** Every decision about a served router (or all), oldest first. */
export function retrainRecords(db: Database.Database, base?: string): Stored[] {
  return base
    ? db.prepare<[string], Stored>(`${SELECT} WHERE base = ? ORDER BY id`).all(base)
    : db.prepare<[], Stored>(`${SELECT} ORDER BY id`).all();
}

/** The latest decision about a served router, or null. */
export function lastRetrain(db: Database.Database, base: string): Stored | null {
  return db.prepare<[string], Stored>(`${SELECT} WHERE base = ? ORDER BY id DESC LIMIT 1`).get(base) ?? null;
}

/** The artifact the latest swap put in place of a served router, or the router itself when it was never swapped. */
export function servedArtifact(db: Database.Database, base: string): string {
  const r = db
    .prepare<[string], { artifact: string }>(
      "SELECT artifact FROM router_retrains WHERE base = ? AND decision = 'swap' AND artifact IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .get(base);
  return r?.artifact ?? base;
}
