import { saveRouter, trainRouter } from "../../../src/routing/artifacts.ts";
import type { TrainingSet } from "../../../src/routing/router.ts";

/**
 * A router artifact that always ranks `models` in the given order (best-single trained on a small training set
 * where the first model is best): gateway tests that need fallback get a real artifact in milliseconds instead
 * of importing and training on a bundled dataset. With `judgeOrder` the training set also has LLM-judge scores
 * (the first model of `judgeOrder` best), so the artifact has a judge head that ranks in that order.
 */
export function writeFixedOrderRouter(path: string, models: string[], judgeOrder?: string[]): void {
  const n = 4;
  const c = models.length;
  const performance = new Float64Array(n * c);
  const cost = new Float64Array(n * c);
  const judge = judgeOrder ? new Float64Array(n * c) : null;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < c; j++) {
      performance[i * c + j] = 1 - j / c;
      cost[i * c + j] = 1e-6;
      if (judge && judgeOrder) judge[i * c + j] = 1 - judgeOrder.indexOf(models[j]) / c;
    }
  const data: TrainingSet = {
    candidates: models.map((m) => ({
      key: m,
      model: m,
      mode: "direct",
      inputPrice: 1,
      outputPrice: 2,
      description: null,
    })),
    queries: Array.from({ length: n }, (_, i) => ({
      text: `training query ${i}`,
      embedding: new Float32Array(16).fill(0.25),
      task: "chat",
      domain: null,
    })),
    performance,
    cost,
    judge,
  };
  saveRouter(trainRouter("best-single", data, { embedder: "hash:16" }), path);
}
