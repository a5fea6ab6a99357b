import { UsageError } from "../data/errors.ts";
import type { Embedder } from "./embedder.ts";
import { DEFAULT_HASH_DIM, HashEmbedder } from "./hash.ts";
import { OpenAIEmbedder } from "./openai.ts";
import { UseEmbedder } from "./use.ts";

export const DEFAULT_EMBEDDER = "use";

/** Help text for `--embedder`. */
export const EMBEDDER_SPEC_HELP =
  'embedder: "use" (Universal Sentence Encoder, offline, default), "use:<maxChars>" or "use:full" (truncation), ' +
  `"hash" or "hash:<dim>" (hashed n-grams, default ${DEFAULT_HASH_DIM}-d), "openai:<model>@<baseURL>" (any /v1/embeddings server)`;

export interface EmbedderOptions {
  /** For openai: the environment variable that holds the API key (default OPENAI_API_KEY). */
  apiKeyEnv?: string;
}

/**
 * An embedder from a spec string. Every embedder's `name` is itself a valid spec, so an embedder recorded
 * in a router artifact or the cache can be recreated: createEmbedder(e.name).name === e.name.
 */
export function createEmbedder(spec: string, opts: EmbedderOptions = {}): Embedder {
  const s = spec.trim();
  const use = /^use(?:-512)?(?::(\d+|full))?$/.exec(s);
  if (use) return new UseEmbedder(use[1] === undefined ? undefined : use[1] === "full" ? 0 : Number(use[1]));
  const hash = /^hash(?:[-:](\d+))?$/.exec(s);
  if (hash) {
    try {
      return new HashEmbedder(hash[1] === undefined ? DEFAULT_HASH_DIM : Number(hash[1]));
    } catch (err) {
      throw new UsageError(`embedder "${spec}": ${(err as Error).message}`);
    }
  }
  if (s.startsWith("openai:")) {
    const rest = s.slice("openai:".length);
    const at = rest.indexOf("@");
    if (at <= 0 || at === rest.length - 1)
      throw new UsageError(
        `embedder "${spec}": expected openai:<model>@<baseURL>, e.g. openai:bge-m3@http://localhost:8080/v1`,
      );
    try {
      return new OpenAIEmbedder({ model: rest.slice(0, at), baseURL: rest.slice(at + 1), apiKeyEnv: opts.apiKeyEnv });
    } catch (err) {
      throw new UsageError(`embedder "${spec}": ${(err as Error).message}`);
    }
  }
  throw new UsageError(`unknown embedder "${spec}"; ${EMBEDDER_SPEC_HELP}`);
}
