import type { Store } from "../data/store.ts";
import { cached } from "../embed/cache.ts";
import { createEmbedder } from "../embed/registry.ts";
import { DEFAULT_TEMPLATES_K, resolveTemplateSet, TemplateIndex } from "../thought/retrieve.ts";
import type { ThoughtSource } from "./controller.ts";
import { EmbeddingLru } from "./embed-lru.ts";

/**
 * Thought-template injection for the gateway: the top-k templates of similar stored queries (thought/
 * retrieve.ts, loaded once into memory) become a system message in front of the conversation.
 */
export function loadThoughts(store: Store, set: string | undefined, k = DEFAULT_TEMPLATES_K): ThoughtSource {
  const info = resolveTemplateSet(store, set);
  const embedder = cached(createEmbedder(info.embedder), store);
  const index = TemplateIndex.load(store, info.set, embedder);
  const lru = new EmbeddingLru(embedder, 10_000);
  return {
    set: info.set,
    async template(text: string): Promise<string | null> {
      const found = index.nearest(await lru.embed(text), null, k);
      if (found.length === 0) return null;
      return (
        "Thought templates distilled from how strong models solved similar problems. Use them as guidance for " +
        "your reasoning; they do not contain this question's answer.\n" +
        found.map((t, i) => `Template ${i + 1}: ${t.template}`).join("\n")
      );
    },
  };
}
