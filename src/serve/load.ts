import { existsSync } from "node:fs";
import { basename } from "node:path";
import type { Store } from "../data/store.ts";
import { cached } from "../embed/cache.ts";
import { artifactEmbedder, loadArtifactRouter, loadRouterFromStore } from "../routing/artifacts.ts";
import { EmbeddingLru } from "./embed-lru.ts";
import { Lru } from "./lru.ts";
import type { LoadedRouter } from "./virtual.ts";

/**
 * Router artifacts for serving, loaded once at startup and keyed by a label (the router's name, made unique
 * with the artifact's name when two share it). A spec is an artifact file, or the id of an artifact saved in
 * the store. `embedCache` > 0 keeps that many routing-text embeddings in memory in front of the store's
 * embedding cache; 0 embeds every request from scratch (for benchmarks). `decisionCache` > 0 keeps that many
 * router predictions per routing text; 0 runs the router on every request.
 */
export function loadRouters(
  specs: string[],
  store: Store,
  embedCache: number,
  decisionCache = embedCache,
): Map<string, LoadedRouter> {
  const out = new Map<string, LoadedRouter>();
  for (const spec of specs) {
    const art = existsSync(spec) ? loadArtifactRouter(spec) : loadRouterFromStore(store, spec);
    const raw = artifactEmbedder(art);
    const embedder = new EmbeddingLru(embedCache > 0 ? cached(raw, store) : raw, embedCache);
    let label = art.name;
    if (out.has(label)) label = `${art.name}-${basename(spec).replace(/\.json$/, "")}`;
    out.set(label, {
      name: label,
      router: art.router,
      candidates: art.candidateInfo,
      scales: art.scales,
      knob: art.knob,
      embedder,
      decisions: new Lru(decisionCache),
    });
  }
  return out;
}
