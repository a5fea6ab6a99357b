import type { Store } from "../data/store.ts";
import { blobToVector, vectorToBlob } from "../embed/cache-table.ts";

/**
 * Thought templates live in the store, one row per (template set, source query). A template set is one
 * build configuration — summariser and ranking — so an LLM-written and an extractive set can sit side by
 * side and be compared. Each row carries the source query's task and embedding for retrieval. The table is
 * migration 9 (data/migrations.ts).
 */

/** One response a template was made from. */
export interface TemplateSource {
  model: string;
  mode: string;
  performance: number;
  cost: number;
  judge: number | null;
}

export interface ThoughtTemplate {
  set: string;
  queryId: string;
  dataset: string;
  task: string;
  template: string;
  summariser: string;
  rankBy: string;
  sources: TemplateSource[];
  embedder: string;
  embedding: Float32Array;
  /** USD the summariser call cost (0 for the extractive summariser). */
  cost: number;
  createdAt: string;
}

interface Row {
  template_set: string;
  query_id: string;
  dataset: string;
  task: string;
  template: string;
  summariser: string;
  rank_by: string;
  sources: string;
  embedder: string;
  dim: number;
  embedding: Buffer;
  cost: number;
  created_at: string;
}

function fromRow(r: Row): ThoughtTemplate {
  return {
    set: r.template_set,
    queryId: r.query_id,
    dataset: r.dataset,
    task: r.task,
    template: r.template,
    summariser: r.summariser,
    rankBy: r.rank_by,
    sources: JSON.parse(r.sources) as TemplateSource[],
    embedder: r.embedder,
    embedding: blobToVector(r.embedding, r.dim, `thought_templates(${r.template_set}, ${r.query_id})`),
    cost: r.cost,
    createdAt: r.created_at,
  };
}

export interface TemplateSetInfo {
  set: string;
  dataset: string;
  summariser: string;
  rankBy: string;
  embedder: string;
  templates: number;
  cost: number;
}

export class TemplateStore {
  readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /** Insert or replace one template (its own statement, so every finished template survives a crash). */
  put(t: ThoughtTemplate): void {
    this.store.db
      .prepare(
        `INSERT OR REPLACE INTO thought_templates
         (template_set, query_id, dataset, task, template, summariser, rank_by, sources, embedder, dim, embedding, cost, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.set,
        t.queryId,
        t.dataset,
        t.task,
        t.template,
        t.summariser,
        t.rankBy,
        JSON.stringify(t.sources),
        t.embedder,
        t.embedding.length,
        vectorToBlob(t.embedding),
        t.cost,
        t.createdAt,
      );
  }

  /** Source query ids that already have a template in the set (a rerun skips them). */
  doneIds(set: string): Set<string> {
    return new Set(
      this.store.db
        .prepare<[string], { query_id: string }>("SELECT query_id FROM thought_templates WHERE template_set = ?")
        .all(set)
        .map((r) => r.query_id),
    );
  }

  list(set: string, dataset?: string): ThoughtTemplate[] {
    const rows = dataset
      ? this.store.db
          .prepare<[string, string], Row>(
            "SELECT * FROM thought_templates WHERE template_set = ? AND dataset = ? ORDER BY query_id",
          )
          .all(set, dataset)
      : this.store.db
          .prepare<[string], Row>("SELECT * FROM thought_templates WHERE template_set = ? ORDER BY query_id")
          .all(set);
    return rows.map(fromRow);
  }

  sets(): TemplateSetInfo[] {
    return this.store.db
      .prepare<[], TemplateSetInfo>(
        `SELECT template_set AS "set", dataset, summariser, rank_by AS rankBy, embedder, COUNT(*) AS templates,
                SUM(cost) AS cost
         FROM thought_templates GROUP BY template_set, dataset, summariser, rank_by, embedder ORDER BY template_set, dataset`,
      )
      .all();
  }
}
