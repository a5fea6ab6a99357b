import type { Store } from "../data/store.ts";
import { candidateKey, type Split } from "../data/types.ts";
import type { Embedder } from "../embed/embedder.ts";
import { HashEmbedder } from "../embed/hash.ts";
import { type Answer, answerKindOf, answerSimilarity, extractAnswer } from "../scoring/answers.ts";
import type { StoreTrainingSet } from "./dataset.ts";
import type { AgreementTable, AnswerView, PolicyData } from "./policy.ts";

/**
 * The agreement table of the recorded responses behind a training set (same rows and columns): each
 * response's answer extracted with its query's metric, free-text responses embedded (hashed n-grams by
 * default: fast, offline and what near-identical text needs), every pair compared.
 */
export async function buildAgreementTable(
  store: Store,
  set: StoreTrainingSet,
  opts: { dataset?: string; split?: Split; responseEmbedder?: Embedder } = {},
): Promise<AgreementTable> {
  const n = set.queries.length;
  const c = set.candidates.length;
  const row = new Map(set.queryIds.map((id, i) => [id, i]));
  const col = new Map(set.candidates.map((x, j) => [x.key, j]));
  const metricOf = new Map(store.queries({ dataset: opts.dataset, split: opts.split }).map((q) => [q.id, q.metric]));
  const kinds = set.queryIds.map((id) => answerKindOf(metricOf.get(id)));
  const answers: (Answer | null)[] = new Array(n * c).fill(null);
  const freeTexts: string[] = [];
  const freeCells: number[] = [];
  for (const o of store.outcomes({ dataset: opts.dataset, split: opts.split })) {
    const i = row.get(o.queryId);
    const j = col.get(candidateKey(o.model, o.mode));
    if (i === undefined || j === undefined) continue;
    const a = extractAnswer(metricOf.get(o.queryId), o.response);
    answers[i * c + j] = a;
    if (a?.kind === "free") {
      freeTexts.push(a.text);
      freeCells.push(i * c + j);
    }
  }
  const embedder = opts.responseEmbedder ?? new HashEmbedder();
  const vectors: (Float32Array | null)[] = new Array(n * c).fill(null);
  const embedded = freeTexts.length ? await embedder.embed(freeTexts) : [];
  freeCells.forEach((cell, k) => {
    vectors[cell] = embedded[k] as Float32Array;
  });
  const similarity = new Float32Array(n * c * c).fill(Number.NaN);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < c; a++)
      for (let b = a; b < c; b++) {
        const s = answerSimilarity(
          answers[i * c + a] ?? null,
          answers[i * c + b] ?? null,
          vectors[i * c + a] ?? null,
          vectors[i * c + b] ?? null,
        );
        similarity[i * c * c + a * c + b] = s;
        similarity[i * c * c + b * c + a] = s;
      }
  return { kinds, similarity };
}

/** A store training set with its agreement table: what `fusionkit eval` gives multi-call policies. */
export async function buildPolicyData(
  store: Store,
  set: StoreTrainingSet,
  opts: { dataset?: string; split?: Split; responseEmbedder?: Embedder } = {},
): Promise<PolicyData & StoreTrainingSet> {
  return { ...set, agreement: await buildAgreementTable(store, set, opts) };
}

/**
 * The answers of live responses as an AnswerView (the gateway's side of `recordedView`): each response's
 * answer extracted with the task's metric, free text embedded once, similarities computed on demand.
 */
export async function liveAnswerView(
  metric: string | null | undefined,
  responses: ReadonlyMap<number, string>,
  responseEmbedder: Embedder = new HashEmbedder(),
): Promise<AnswerView> {
  const answers = new Map<number, Answer | null>();
  for (const [j, text] of responses) answers.set(j, extractAnswer(metric, text));
  const free = [...answers].filter(([, a]) => a?.kind === "free");
  const vectors = new Map<number, Float32Array>();
  if (free.length) {
    const vs = await responseEmbedder.embed(free.map(([, a]) => (a as { text: string }).text));
    free.forEach(([j], k) => {
      vectors.set(j, vs[k] as Float32Array);
    });
  }
  return {
    answered: (j) => (answers.get(j) ?? null) !== null,
    similarity: (a, b) => {
      const s = answerSimilarity(answers.get(a) ?? null, answers.get(b) ?? null, vectors.get(a), vectors.get(b));
      return Number.isNaN(s) ? 0 : s;
    },
  };
}
