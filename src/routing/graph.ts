import { Rng } from "../util/prng.ts";
import { decodeF64, type EncodedArray, encodeArray } from "./codec.ts";
import { KnnRouter } from "./knn.ts";
import { Adam, logit, sigmoid } from "./math.ts";
import { LogisticRouter } from "./parametric.ts";
import { Priors, type PriorsState } from "./priors.ts";
import type { CandidateInfo, Prediction, RouteQuery, Router, TrainingSet } from "./router.ts";
import { subset } from "./tuning.ts";

export interface GraphParams {
  /** Query–query edges per query (same-task nearest neighbours). */
  neighbours?: number;
  /** Outcomes of a (task, model) pair at which its own edges are half-trusted. */
  halfTrust?: number;
  /** Temperature of the model–model edge softmax. */
  temperature?: number;
  epochs?: number;
  /** L2 penalty pulling each task's weight offsets toward the shared weights. */
  taskPenalty?: number;
}

/** Edge types whose messages reach a (query, model) pair; one learned weight each. */
const MESSAGES = ["task", "neighbours", "similar models", "model overall", "query content"] as const;
/** Folds for the out-of-fold content predictions the message weights are trained on. */
const CONTENT_FOLDS = 3;

interface GraphState {
  neighbours: number;
  halfTrust: number;
  knn: unknown;
  content: unknown;
  priors: PriorsState;
  /** c × c model–model edge weights (rows sum to 1, zero diagonal). */
  modelEdges: EncodedArray;
  /** Learned edge-type weights: shared row, then one offset row per train task ((T + 1) × messages). */
  weights: EncodedArray;
  bias: EncodedArray;
}

/**
 * A graph router in the spirit of GraphRouter: a heterogeneous graph of query, task and model nodes.
 * Query–model edges carry observed performance (and cost), task–model edges the task's mean performance,
 * query–query edges embedding similarity, and model–model edges the similarity of the models'
 * description embeddings (or, without descriptions, of their per-task performance profiles).
 * Training is full-batch and starts from fixed weights, so it is deterministic without a seed.
 *
 * For a (query, model) pair, messages arrive along five paths (MESSAGES): the task node, the query's
 * neighbours, description-similar models, the model node itself, and the query node's content (a
 * per-candidate logistic model of embedding ⊕ task ⊕ domain, out of fold on train); the router learns one
 * weight per path plus a bias per model by logistic regression on the train edges, with each train
 * query's own edges removed from its messages (leave-one-out, so it cannot see its label), and each
 * task may shift the shared weights by a penalised offset. A model
 * with little data has low trust in its own task and neighbour edges, so its prediction leans on the
 * messages from models with similar descriptions: the graph places a new model from its description.
 */
export class GraphRouter implements Router {
  readonly name = "graph";
  private k: number;
  private halfTrust: number;
  private readonly temperature: number;
  private readonly epochs: number;
  private readonly taskPenalty: number;
  private knn: KnnRouter | null = null;
  private content: LogisticRouter | null = null;
  private priors: Priors | null = null;
  private modelEdges: Float64Array = new Float64Array(0);
  private weights: Float64Array = new Float64Array(MESSAGES.length);
  private bias: Float64Array = new Float64Array(0);
  /** Train outcomes (for leave-one-out messages while fitting). */
  private perf: Float64Array = new Float64Array(0);

  constructor(params: GraphParams = {}) {
    this.k = params.neighbours ?? 20;
    this.halfTrust = params.halfTrust ?? 5;
    this.temperature = params.temperature ?? 0.05;
    this.epochs = params.epochs ?? 300;
    this.taskPenalty = params.taskPenalty ?? 1e-3;
  }

  fit(data: TrainingSet): void {
    const c = data.candidates.length;
    const n = data.queries.length;
    this.priors = Priors.fit(data);
    this.knn = new KnnRouter({ k: this.k + 1, shrink: 0, sameTask: true });
    this.knn.fit(data);
    this.perf = data.performance;
    this.modelEdges = this.buildModelEdges(data);
    // Messages for every train (query, model) edge, leave-one-out.
    // Query-content messages: a logistic model of the query's features, out of fold for train rows.
    const content = new Float64Array(n * c);
    const fold = new Rng(1).shuffle(data.queries.map((_, i) => i));
    for (let f = 0; f < CONTENT_FOLDS; f++) {
      const held = fold.filter((_, k) => k % CONTENT_FOLDS === f);
      const heldSet = new Set(held);
      const model = new LogisticRouter();
      model.fit(
        subset(
          data,
          fold.filter((i) => !heldSet.has(i)).sort((a, b) => a - b),
        ),
      );
      const pred = model.predict(held.map((i) => data.queries[i])).performance;
      held.forEach((i, r) => {
        content.set(pred.subarray(r * c, (r + 1) * c), i * c);
      });
    }
    this.content = new LogisticRouter();
    this.content.fit(data);
    const F = new Float64Array(n * c * MESSAGES.length);
    data.queries.forEach((q, i) => {
      this.messages(
        q,
        i,
        F.subarray(i * c * MESSAGES.length, (i + 1) * c * MESSAGES.length),
        content.subarray(i * c, (i + 1) * c),
      );
    });
    const taskOf = Int32Array.from(data.queries, (q) => (this.priors as Priors).taskIndex(q.task));
    this.train(F, data.performance, taskOf, c);
    this.perf = new Float64Array(0);
  }

  /** Model–model edge weights: softmax over cosine similarity of descriptions (else of task profiles). */
  private buildModelEdges(data: TrainingSet): Float64Array {
    const c = data.candidates.length;
    const priors = this.priors as Priors;
    const desc = data.descriptionEmbeddings;
    const vec = (j: number): Float64Array => {
      const e = desc?.[j];
      if (desc?.every((d) => d)) return Float64Array.from(e as Float32Array);
      const T = priors.tasks.length;
      const v = new Float64Array(T);
      for (let t = 0; t < T; t++) v[t] = priors.perf[t * c + j] - priors.globalPerf[j];
      return v;
    };
    const vs = Array.from({ length: c }, (_, j) => vec(j));
    const cos = (a: Float64Array, b: Float64Array) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let x = 0; x < a.length; x++) {
        ab += a[x] * b[x];
        aa += a[x] * a[x];
        bb += b[x] * b[x];
      }
      return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    };
    const E = new Float64Array(c * c);
    for (let j = 0; j < c; j++) {
      let z = 0;
      for (let m = 0; m < c; m++) {
        if (m === j) continue;
        E[j * c + m] = Math.exp((cos(vs[j], vs[m]) - 1) / this.temperature);
        z += E[j * c + m];
      }
      for (let m = 0; m < c; m++) E[j * c + m] = z > 0 ? E[j * c + m] / z : 0;
    }
    return E;
  }

  /**
   * The messages (as logits) for every model, for query q. `self` ≥ 0 is q's own train row,
   * whose edges are left out.
   */
  private messages(q: RouteQuery, self: number, out: Float64Array, content: Float64Array): void {
    const priors = this.priors as Priors;
    const knn = this.knn as KnnRouter;
    const c = priors.nCandidates;
    const t = priors.taskIndex(q.task);
    const nb = knn.neighbours(q, this.k + 1);
    const nbrMean = new Float64Array(c);
    const trust = new Float64Array(c);
    const taskMean = new Float64Array(c);
    for (let j = 0; j < c; j++) {
      let count = t >= 0 ? priors.count[t * c + j] : 0;
      let mean = t >= 0 ? priors.perf[t * c + j] : priors.globalPerf[j];
      const own = self >= 0 ? this.perf[self * c + j] : Number.NaN;
      if (!Number.isNaN(own) && count > 1) {
        mean = (mean * count - own) / (count - 1);
        count--;
      }
      taskMean[j] = Number.isNaN(mean) ? 0.5 : mean;
      trust[j] = count / (count + this.halfTrust);
      let num = 0;
      let den = 0;
      let used = 0;
      for (let a = 0; a < nb.rows.length && used < this.k; a++) {
        if (nb.rows[a] === self) continue;
        used++;
        const y = knn.outcome(nb.rows[a], j);
        if (Number.isNaN(y)) continue;
        const w = 1 / (1 - nb.sims[a] + 1e-3);
        num += w * y;
        den += w;
      }
      // One pseudo-observation of the task mean keeps an empty neighbourhood finite.
      nbrMean[j] = (num + taskMean[j]) / (den + 1);
    }
    const M = MESSAGES.length;
    for (let j = 0; j < c; j++) {
      let similar = 0;
      for (let m = 0; m < c; m++) similar += this.modelEdges[j * c + m] * nbrMean[m];
      let similarTask = 0;
      for (let m = 0; m < c; m++) similarTask += this.modelEdges[j * c + m] * taskMean[m];
      const g = priors.globalPerf[j];
      // A model's own task and neighbour edges count by its trust; the rest is borrowed from the models
      // its description resembles, so a model with little data is predicted like its look-alikes.
      out[j * M] = logit(trust[j] * taskMean[j] + (1 - trust[j]) * similarTask);
      out[j * M + 1] = logit(trust[j] * nbrMean[j] + (1 - trust[j]) * similar);
      out[j * M + 2] = logit(similar);
      out[j * M + 3] = logit(Number.isNaN(g) ? 0.5 : g);
      out[j * M + 4] = logit(content[j]);
    }
  }

  /**
   * Learn the edge-type weights and model biases: full-batch Adam on masked cross-entropy. Each task
   * gets its own offset to the shared weights (L2-penalised toward 0), so the graph can learn that, say,
   * neighbours are informative in code tasks but noise in multiple-choice knowledge tasks; unseen tasks
   * use the shared weights.
   */
  private train(F: Float64Array, Y: Float64Array, taskOf: Int32Array, c: number): void {
    const M = MESSAGES.length;
    const n = taskOf.length;
    const T = (this.priors as Priors).tasks.length;
    this.weights = new Float64Array((T + 1) * M);
    this.weights.fill(0.25, 0, M);
    this.bias = new Float64Array(c);
    const opt = new Adam([this.weights, this.bias], 0.05, 0, [false, false]);
    const gw = new Float64Array(this.weights.length);
    const gb = new Float64Array(c);
    let count = 0;
    for (let k = 0; k < Y.length; k++) if (!Number.isNaN(Y[k])) count++;
    const w = new Float64Array(M);
    for (let epoch = 0; epoch < this.epochs; epoch++) {
      gw.fill(0);
      gb.fill(0);
      for (let i = 0; i < n; i++) {
        const off = (taskOf[i] + 1) * M;
        for (let e = 0; e < M; e++) w[e] = this.weights[e] + (taskOf[i] >= 0 ? this.weights[off + e] : 0);
        for (let j = 0; j < c; j++) {
          const y = Y[i * c + j];
          if (Number.isNaN(y)) continue;
          const base = (i * c + j) * M;
          let z = this.bias[j];
          for (let e = 0; e < M; e++) z += w[e] * F[base + e];
          const d = (sigmoid(z) - y) / count;
          for (let e = 0; e < M; e++) {
            gw[e] += d * F[base + e];
            if (taskOf[i] >= 0) gw[off + e] += d * F[base + e];
          }
          gb[j] += d;
        }
      }
      for (let k = M; k < gw.length; k++) gw[k] += this.taskPenalty * this.weights[k];
      // A small pull on the model biases keeps a model with a handful of outcomes from an extreme bias.
      for (let j = 0; j < c; j++) gb[j] += 1e-2 * this.bias[j];
      opt.step([gw, gb]);
    }
  }

  /** Edge-type weights for a task index (shared + the task's offset). */
  private weightsFor(t: number, out: Float64Array): Float64Array {
    const M = MESSAGES.length;
    const known = t >= 0 && (t + 1) * M < this.weights.length;
    for (let e = 0; e < M; e++) out[e] = this.weights[e] + (known ? this.weights[(t + 1) * M + e] : 0);
    return out;
  }

  predict(queries: RouteQuery[], opts?: { explain?: boolean }): Prediction {
    const priors = this.priors;
    if (!priors) throw new Error("graph router used before fit/restore");
    const c = priors.nCandidates;
    const M = MESSAGES.length;
    const performance = new Float64Array(queries.length * c);
    const cost = new Float64Array(queries.length * c);
    const reasons: string[] | undefined = opts?.explain ? [] : undefined;
    const F = new Float64Array(c * M);
    const w = new Float64Array(M);
    const content = (this.content as LogisticRouter).predict(queries).performance;
    queries.forEach((q, i) => {
      this.messages(q, -1, F, content.subarray(i * c, (i + 1) * c));
      this.weightsFor(priors.taskIndex(q.task), w);
      for (let j = 0; j < c; j++) {
        let z = this.bias[j];
        let top = 0;
        let topV = -Infinity;
        for (let e = 0; e < M; e++) {
          const v = w[e] * F[j * M + e];
          z += v;
          if (Math.abs(v) > topV) {
            topV = Math.abs(v);
            top = e;
          }
        }
        performance[i * c + j] = sigmoid(z);
        reasons?.push(
          `graph messages: task ${sigmoid(F[j * M]).toFixed(2)}, neighbours ${sigmoid(F[j * M + 1]).toFixed(2)}, ` +
            `similar models ${sigmoid(F[j * M + 2]).toFixed(2)}; strongest: ${MESSAGES[top]}`,
        );
      }
      cost.set(priors.costRow(q.task), i * c);
    });
    return { performance, cost, reasons };
  }

  state(): GraphState {
    if (!this.priors || !this.knn) throw new Error("graph router used before fit/restore");
    return {
      neighbours: this.k,
      halfTrust: this.halfTrust,
      knn: this.knn.state(),
      content: this.content?.state(),
      priors: this.priors.state(),
      modelEdges: encodeArray(this.modelEdges),
      weights: encodeArray(this.weights),
      bias: encodeArray(this.bias),
    };
  }

  restore(state: unknown, candidates: CandidateInfo[]): void {
    const s = state as GraphState;
    this.k = s.neighbours;
    this.halfTrust = s.halfTrust;
    this.knn = new KnnRouter();
    this.knn.restore(s.knn, candidates);
    this.content = new LogisticRouter();
    this.content.restore(s.content, candidates);
    this.priors = Priors.restore(s.priors, candidates.length);
    this.modelEdges = decodeF64(s.modelEdges, "state.modelEdges");
    this.weights = decodeF64(s.weights, "state.weights");
    this.bias = decodeF64(s.bias, "state.bias");
  }
}
