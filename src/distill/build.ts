import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import type { Mode, Outcome, Query } from "../data/types.ts";
import { type DecontaminationOptions, decontaminate, type Removal, words } from "./decontaminate.ts";
import type { PreferenceRecord, SftRecord } from "./formats.ts";
import { failingResponses, groupByQuery, type RankBy, selectTop } from "./rank.ts";
import { parseParamsB } from "./size.ts";

/** Where a record came from: a model's response or the dataset's gold answer. */
export interface RecordSource {
  queryId: string;
  task: string;
  /** Model name, or "gold". */
  source: string;
  mode: string | null;
  /** 1-based position in the query's ranking (gold: after the models). */
  rank: number;
  performance: number | null;
  cost: number | null;
  judge: number | null;
}

export interface DistillOptions {
  dataset: string;
  rank: RankBy;
  topK: number;
  /** Keep only models whose size label parses to at most this many billion parameters. */
  maxParamsB: number | null;
  withGold: boolean;
  decontamination: DecontaminationOptions;
  /** The prompt a response answered: the task's prompt format around the query, in the response's mode. */
  promptOf: (q: Query, mode: Mode) => string;
  system?: string;
}

export interface TaskCounts {
  trainQueries: number;
  removedExact: number;
  removedNgram: number;
  queriesWithRecords: number;
  /** Kept queries where no (allowed) model succeeded and no gold record was added. */
  queriesWithoutRecords: number;
  sftRecords: number;
  goldRecords: number;
  dpoPairs: number;
}

export interface DistillStats {
  dataset: string;
  rank: RankBy;
  topK: number;
  maxParamsB: number | null;
  withGold: boolean;
  decontamination: DecontaminationOptions & { boilerplateNgrams: number };
  testQueries: number;
  models: string[];
  /** Models left out by --small-only (too big, or size unknown). */
  excludedModels: Array<{ model: string; size: string | null; reason: string }>;
  perTask: Record<string, TaskCounts>;
  total: TaskCounts;
  /** SFT records, DPO chosen and DPO rejected per source model. */
  perModel: Record<string, { sft: number; dpoChosen: number; dpoRejected: number }>;
  /** Queries whose ranking stopped at a response with performance 0 before reaching top-k. */
  stoppedAtZero: number;
  duplicateResponsesSkipped: number;
  responsesWithoutText: number;
  goldSkippedCodeTasks: number;
  notes: string[];
  removed: Array<{ queryId: string; task: string; reason: string; testId: string; ngram?: string; overlap?: number }>;
}

export interface DistillSet {
  sft: SftRecord[];
  sftSources: RecordSource[];
  pairs: PreferenceRecord[];
  pairSources: Array<{ queryId: string; task: string; chosen: string; rejected: string }>;
  stats: DistillStats;
}

function emptyCounts(): TaskCounts {
  return {
    trainQueries: 0,
    removedExact: 0,
    removedNgram: 0,
    queriesWithRecords: 0,
    queriesWithoutRecords: 0,
    sftRecords: 0,
    goldRecords: 0,
    dpoPairs: 0,
  };
}

/**
 * The gold answer as a training response, or null when it is not one: code tasks store their tests as the
 * ground truth, not a solution. Multiple-choice letters get the parenthesised form the prompts ask for.
 */
export function goldResponse(q: Query): string | null {
  const gt = q.groundTruth?.trim();
  if (!gt || q.metric === "code_eval") return null;
  if (q.metric === "em_mc" && /^[A-Za-z]$/.test(gt)) return `(${gt.toUpperCase()})`;
  return gt;
}

/**
 * Build the distillation set of a dataset's train split: decontaminate against its test split, rank each
 * query's responses, keep the top-k successful ones (optionally only small models, optionally plus the
 * gold answer), and pair top responses with failing ones for DPO.
 */
export function buildDistillSet(store: Store, opts: DistillOptions): DistillSet {
  const train = store.queries({ dataset: opts.dataset, split: "train" });
  const test = store.queries({ dataset: opts.dataset, split: "test" });
  if (train.length === 0 || test.length === 0)
    throw new UsageError(
      `dataset "${opts.dataset}" has ${train.length} train and ${test.length} test queries; distillation needs both ` +
        `(the test split is what training data is decontaminated against) — run "fusionkit split" first`,
    );
  const outcomes = store.outcomes({ dataset: opts.dataset, split: "train" });
  const notes: string[] = [];
  const judged = outcomes.filter((o) => o.judge !== null && o.judge !== undefined).length;
  if (opts.rank === "judge" && judged === 0)
    throw new UsageError(
      `--rank judge needs LLM-judge scores, and no training response of "${opts.dataset}" has one; ` +
        `run "fusionkit judge" or use --rank performance`,
    );
  if (opts.rank === "hybrid" && judged < outcomes.length)
    notes.push(
      `${outcomes.length - judged} of ${outcomes.length} training responses have no judge score; the hybrid ` +
        "judge stage ranks them after judged ones, so without any judge scores it keeps the performance order.",
    );

  const models = store.models();
  const excludedModels: DistillStats["excludedModels"] = [];
  const allowed = new Set<string>();
  for (const m of models) {
    if (opts.maxParamsB === null) {
      allowed.add(m.name);
      continue;
    }
    const b = parseParamsB(m.size);
    if (b === null) excludedModels.push({ model: m.name, size: m.size ?? null, reason: "size unknown" });
    else if (b > opts.maxParamsB)
      excludedModels.push({ model: m.name, size: m.size ?? null, reason: `${b}B > ${opts.maxParamsB}B` });
    else allowed.add(m.name);
  }
  const usedModels = [...new Set(outcomes.map((o) => o.model))].filter((m) => allowed.has(m)).sort();
  if (usedModels.length === 0)
    throw new UsageError(
      `no model is left after --small-only ≤ ${opts.maxParamsB}B (${excludedModels.length} excluded)`,
    );

  const dec = decontaminate(train, test, opts.decontamination);
  const removedBy = new Map<string, Removal>(dec.removed.map((r) => [r.query.id, r]));
  const byQuery = groupByQuery(outcomes.filter((o) => allowed.has(o.model)));

  const perTask: Record<string, TaskCounts> = {};
  const perModel: DistillStats["perModel"] = {};
  const modelCounts = (m: string) => {
    perModel[m] ??= { sft: 0, dpoChosen: 0, dpoRejected: 0 };
    return perModel[m];
  };
  const set: DistillSet = { sft: [], sftSources: [], pairs: [], pairSources: [], stats: undefined as never };
  let stoppedAtZero = 0;
  let duplicateResponsesSkipped = 0;
  let responsesWithoutText = 0;
  let goldSkippedCodeTasks = 0;

  for (const q of train) {
    perTask[q.task] ??= emptyCounts();
    const tc = perTask[q.task] as TaskCounts;
    tc.trainQueries++;
    const removal = removedBy.get(q.id);
    if (removal) {
      if (removal.reason === "exact") tc.removedExact++;
      else tc.removedNgram++;
      continue;
    }
    const responses = byQuery.get(q.id) ?? [];
    const pick = selectTop(responses, { by: opts.rank, k: opts.topK, pool: Math.max(opts.topK, 5) });
    if (pick.stoppedAtZero) stoppedAtZero++;
    responsesWithoutText += pick.withoutText;
    const seen = new Set<string>();
    const chosen: Array<{ text: string; source: string; prompt: string }> = [];
    pick.selected.forEach((o: Outcome, i) => {
      const text = o.response as string;
      const key = words(text).join(" ");
      if (seen.has(key)) {
        duplicateResponsesSkipped++;
        return;
      }
      seen.add(key);
      const prompt = opts.promptOf(q, o.mode);
      set.sft.push({ prompt, response: text, ...(opts.system ? { system: opts.system } : {}) });
      set.sftSources.push({
        queryId: q.id,
        task: q.task,
        source: o.model,
        mode: o.mode,
        rank: i + 1,
        performance: o.performance,
        cost: o.cost,
        judge: o.judge ?? null,
      });
      chosen.push({ text, source: o.model, prompt });
      tc.sftRecords++;
      modelCounts(o.model).sft++;
    });
    if (opts.withGold) {
      const gold = goldResponse(q);
      if (gold === null && q.metric === "code_eval") goldSkippedCodeTasks++;
      if (gold !== null && !seen.has(words(gold).join(" "))) {
        const prompt = opts.promptOf(q, "direct");
        set.sft.push({ prompt, response: gold, ...(opts.system ? { system: opts.system } : {}) });
        set.sftSources.push({
          queryId: q.id,
          task: q.task,
          source: "gold",
          mode: null,
          rank: pick.selected.length + 1,
          performance: null,
          cost: null,
          judge: null,
        });
        chosen.push({ text: gold, source: "gold", prompt });
        tc.sftRecords++;
        tc.goldRecords++;
        modelCounts("gold").sft++;
      }
    }
    if (chosen.length) tc.queriesWithRecords++;
    else tc.queriesWithoutRecords++;
    // DPO: the i-th best successful response against the i-th "best" failing one (hardest negatives first),
    // under the chosen response's prompt.
    const failing = failingResponses(responses, opts.rank, Math.max(opts.topK, 5));
    for (let i = 0; i < Math.min(chosen.length, failing.length); i++) {
      const c = chosen[i] as (typeof chosen)[number];
      const r = failing[i] as Outcome;
      set.pairs.push({
        prompt: c.prompt,
        chosen: c.text,
        rejected: r.response as string,
        ...(opts.system ? { system: opts.system } : {}),
      });
      set.pairSources.push({ queryId: q.id, task: q.task, chosen: c.source, rejected: r.model });
      tc.dpoPairs++;
      modelCounts(c.source).dpoChosen++;
      modelCounts(r.model).dpoRejected++;
    }
  }

  const total = emptyCounts();
  for (const tc of Object.values(perTask))
    for (const k of Object.keys(total) as Array<keyof TaskCounts>) total[k] += tc[k];
  set.stats = {
    dataset: opts.dataset,
    rank: opts.rank,
    topK: opts.topK,
    maxParamsB: opts.maxParamsB,
    withGold: opts.withGold,
    decontamination: { ...opts.decontamination, boilerplateNgrams: dec.boilerplateNgrams },
    testQueries: test.length,
    models: usedModels,
    excludedModels,
    perTask: Object.fromEntries(Object.entries(perTask).sort((a, b) => a[0].localeCompare(b[0]))),
    total,
    perModel: Object.fromEntries(Object.entries(perModel).sort((a, b) => a[0].localeCompare(b[0]))),
    stoppedAtZero,
    duplicateResponsesSkipped,
    responsesWithoutText,
    goldSkippedCodeTasks,
    notes,
    removed: dec.removed.map((r) => ({
      queryId: r.query.id,
      task: r.query.task,
      reason: r.reason,
      testId: r.testId,
      ...(r.ngram ? { ngram: r.ngram, overlap: r.overlap } : {}),
    })),
  };
  return set;
}
