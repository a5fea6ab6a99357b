import { Store } from "../../../src/data/store.ts";
import type { Split } from "../../../src/data/types.ts";
import { createEmbedder } from "../../../src/embed/registry.ts";
import { type LoadedArtifact, saveRouter, trainRouter } from "../../../src/routing/artifacts.ts";
import { buildTrainingSet } from "../../../src/routing/dataset.ts";

/** Train a router on a dataset of the store and save its artifact file (the routing module's own code). */
export async function trainArtifact(
  db: string,
  out: string,
  opts: { dataset: string; split?: Split; router?: string; embedder?: string; params?: Record<string, unknown> },
): Promise<LoadedArtifact> {
  const store = new Store(db);
  try {
    const ts = await buildTrainingSet(store, {
      dataset: opts.dataset,
      split: opts.split,
      embedder: createEmbedder(opts.embedder ?? "hash"),
    });
    const art = trainRouter(opts.router ?? "knn", ts, { params: opts.params, embedder: ts.embedder });
    saveRouter(art, out);
    return art;
  } finally {
    store.close();
  }
}
