import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import type { Query, Split } from "../data/types.ts";
import { groupByQuery, HYBRID_POOL, type RankBy, selectTop } from "../distill/rank.ts";
import { cached } from "../embed/cache.ts";
import type { Embedder } from "../embed/embedder.ts";
import { forEachConcurrently } from "../util/concurrent.ts";
import { progress } from "../util/progress.ts";
import type { Summariser } from "./summarise.ts";
import { TemplateStore } from "./templates.ts";

export const DEFAULT_TEMPLATE_RESPONSES = 3;

export interface BuildOptions {
  dataset: string;
  /** Which queries templates are made from; "train" by default so test queries never lend their answers. */
  split: Split | "all";
  rank: RankBy;
  /** Responses summarised per query (the paper's hybrid: top 3 of the top 5). */
  k: number;
  summariser: Summariser;
  embedder: Embedder;
  /** Template set name; default "<summariser>+<rank>". */
  set?: string;
  /** Summariser calls in flight at once. */
  concurrency: number;
  /** Build at most this many new templates (for trying a paid summariser on a few queries first). */
  limit?: number;
  signal?: AbortSignal;
}

export interface BuildSummary {
  set: string;
  dataset: string;
  summariser: string;
  rank: RankBy;
  embedder: string;
  queries: number;
  alreadyDone: number;
  built: number;
  /** Queries with no successful response to learn from. */
  noSuccessfulResponse: number;
  /** Summariser replies that held no usable template (recorded here, nothing stored). */
  unusable: number;
  problems: Array<{ queryId: string; problem: string }>;
  cost: number;
  perTask: Record<string, { queries: number; templates: number }>;
}

export function templateSetName(summariser: string, rank: RankBy): string {
  return `${summariser}+${rank}`;
}

/**
 * Build (or resume building) a template set: for each query of the split, select its best responses,
 * have the summariser write a template, and store it with the query's task and embedding as soon as it is
 * written. A rerun skips queries already done.
 */
export async function buildTemplates(store: Store, opts: BuildOptions): Promise<BuildSummary> {
  const set = opts.set ?? templateSetName(opts.summariser.name, opts.rank);
  const templates = new TemplateStore(store);
  const existing = templates.sets().find((s) => s.set === set);
  if (existing && existing.embedder !== opts.embedder.name)
    throw new UsageError(
      `template set "${set}" was built with embedder ${existing.embedder}; rebuild it under another --set name ` +
        `or use --embedder ${existing.embedder}`,
    );
  const queries = store.queries(
    opts.split === "all" ? { dataset: opts.dataset } : { dataset: opts.dataset, split: opts.split },
  );
  if (queries.length === 0)
    throw new UsageError(
      `dataset "${opts.dataset}" has no ${opts.split === "all" ? "" : `${opts.split} `}queries` +
        (opts.split === "train" ? ' (run "fusionkit split" first, or pass --split all)' : ""),
    );
  const outcomes = groupByQuery(
    store.outcomes(opts.split === "all" ? { dataset: opts.dataset } : { dataset: opts.dataset, split: opts.split }),
  );
  if (opts.rank === "judge" && ![...outcomes.values()].some((os) => os.some((o) => o.judge != null)))
    throw new UsageError(`--rank judge needs LLM-judge scores and "${opts.dataset}" has none; run "fusionkit judge"`);

  const done = templates.doneIds(set);
  const summary: BuildSummary = {
    set,
    dataset: opts.dataset,
    summariser: opts.summariser.name,
    rank: opts.rank,
    embedder: opts.embedder.name,
    queries: queries.length,
    alreadyDone: 0,
    built: 0,
    noSuccessfulResponse: 0,
    unusable: 0,
    problems: [],
    cost: 0,
    perTask: {},
  };
  const todo: Array<{ q: Query; picked: ReturnType<typeof selectTop>["selected"] }> = [];
  for (const q of queries) {
    summary.perTask[q.task] ??= { queries: 0, templates: 0 };
    (summary.perTask[q.task] as { queries: number }).queries++;
    if (done.has(q.id)) {
      summary.alreadyDone++;
      (summary.perTask[q.task] as { templates: number }).templates++;
      continue;
    }
    const picked = selectTop(outcomes.get(q.id) ?? [], { by: opts.rank, k: opts.k, pool: HYBRID_POOL }).selected;
    if (picked.length === 0) {
      summary.noSuccessfulResponse++;
      continue;
    }
    todo.push({ q, picked });
  }
  const work = opts.limit !== undefined ? todo.slice(0, opts.limit) : todo;
  if (work.length === 0) return sortPerTask(summary);

  const embedder = cached(opts.embedder, store);
  const vectors = await embedder.embed(work.map((w) => w.q.text));
  const bar = progress(`thought templates (${opts.summariser.name})`, work.length);
  let finished = 0;
  const build = async ({ q, picked }: (typeof work)[number], i: number) => {
    const res = await opts.summariser.summarise({ query: q, responses: picked }, opts.signal);
    summary.cost += res.cost;
    if (res.template === null) {
      summary.unusable++;
      summary.problems.push({ queryId: q.id, problem: res.problem ?? "no template" });
    } else {
      templates.put({
        set,
        queryId: q.id,
        dataset: q.dataset,
        task: q.task,
        template: res.template,
        summariser: opts.summariser.name,
        rankBy: opts.rank,
        sources: picked.map((o) => ({
          model: o.model,
          mode: o.mode,
          performance: o.performance,
          cost: o.cost,
          judge: o.judge ?? null,
        })),
        embedder: opts.embedder.name,
        embedding: vectors[i] as Float32Array,
        cost: res.cost,
        createdAt: new Date().toISOString(),
      });
      summary.built++;
      (summary.perTask[q.task] as { templates: number }).templates++;
    }
    bar.update(++finished);
  };
  try {
    await forEachConcurrently(work, opts.concurrency, build, opts.signal);
  } finally {
    bar.stop();
  }
  return sortPerTask(summary);
}

function sortPerTask(s: BuildSummary): BuildSummary {
  s.perTask = Object.fromEntries(Object.entries(s.perTask).sort((a, b) => a[0].localeCompare(b[0])));
  return s;
}
