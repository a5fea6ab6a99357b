import { existsSync } from "node:fs";
import { basename } from "node:path";
import type { Store } from "../data/store.ts";
import { cached } from "../embed/cache.ts";
import {
  artifactEmbedder,
  type LoadedArtifact,
  loadArtifactRouter,
  loadRouterFromStore,
} from "../routing/artifacts.ts";
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
  const artifacts = specs.map((spec) => ({
    spec,
    artifact: existsSync(spec) ? loadArtifactRouter(spec) : loadRouterFromStore(store, spec),
  }));
  return routersFrom(artifacts, store, embedCache, decisionCache);
}

/** An artifact file, or else the id of an artifact in the gateway store (SQLite or PostgreSQL). */
export async function resolveArtifacts(
  specs: string[],
  fromStore: (id: string) => Promise<LoadedArtifact>,
): Promise<{ spec: string; artifact: LoadedArtifact }[]> {
  const out: { spec: string; artifact: LoadedArtifact }[] = [];
  for (const spec of specs)
    out.push({ spec, artifact: existsSync(spec) ? loadArtifactRouter(spec) : await fromStore(spec) });
  return out;
}

/** Serving routers from loaded artifacts; `embedStore` (SQLite) backs the embedding cache, null: memory only. */
export function routersFrom(
  artifacts: { spec: string; artifact: LoadedArtifact }[],
  embedStore: Store | null,
  embedCache: number,
  decisionCache = embedCache,
): Map<string, LoadedRouter> {
  const out = new Map<string, LoadedRouter>();
  for (const { spec, artifact: art } of artifacts) {
    const raw = artifactEmbedder(art);
    const embedder = new EmbeddingLru(embedCache > 0 && embedStore ? cached(raw, embedStore) : raw, embedCache);
    let label = art.name;
    if (out.has(label)) label = `${art.name}-${basename(spec).replace(/\.json$/, "")}`;
    out.set(label, {
      name: label,
      // A file is named by its base name only: clients need not learn the server's paths.
      artifact: existsSync(spec) ? basename(spec) : spec,
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
