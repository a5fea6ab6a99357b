import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import { dot, type Embedder } from "../embed/embedder.ts";
import type { ChatMessage } from "../llm/types.ts";
import { type TemplateSetInfo, TemplateStore, type ThoughtTemplate } from "./templates.ts";

export const DEFAULT_TEMPLATES_K = 3;

export interface RetrievedTemplate {
  queryId: string;
  task: string;
  template: string;
  similarity: number;
  sameTask: boolean;
}

/** Choose the template set: the named one, or the only one the store holds. */
export function resolveTemplateSet(store: Store, name: string | undefined, dataset?: string): TemplateSetInfo {
  const sets = new TemplateStore(store).sets().filter((s) => !dataset || s.dataset === dataset);
  const list = sets.map((s) => `${s.set} (${s.templates} templates)`).join(", ") || "none";
  if (name) {
    const found = sets.find((s) => s.set === name);
    if (!found) throw new UsageError(`no template set "${name}" in ${store.path} (have: ${list})`);
    return found;
  }
  if (sets.length === 0)
    throw new UsageError(`${store.path} holds no thought templates; run "fusionkit thought build"`);
  if (sets.length > 1)
    throw new UsageError(`${store.path} holds several template sets (${list}); choose one with --set`);
  return sets[0] as TemplateSetInfo;
}

/**
 * Retrieval over one template set held in memory: the top-k templates of similar queries, those of the
 * query's own task first, then by cosine similarity of the query embeddings.
 */
export class TemplateIndex {
  readonly templates: ThoughtTemplate[];
  readonly embedder: Embedder;

  constructor(templates: ThoughtTemplate[], embedder: Embedder) {
    const other = templates.find((t) => t.embedder !== embedder.name);
    if (other)
      throw new UsageError(
        `templates were embedded with ${other.embedder}, but retrieval was asked to use ${embedder.name}; ` +
          `pass --embedder ${other.embedder}`,
      );
    this.templates = templates;
    this.embedder = embedder;
  }

  static load(store: Store, set: string, embedder: Embedder, dataset?: string): TemplateIndex {
    return new TemplateIndex(new TemplateStore(store).list(set, dataset), embedder);
  }

  /** Rank by an already computed query embedding; `excludeId` keeps a query from retrieving its own template. */
  nearest(
    embedding: Float32Array,
    task: string | null | undefined,
    k: number,
    excludeId?: string,
  ): RetrievedTemplate[] {
    const scored: RetrievedTemplate[] = [];
    for (const t of this.templates) {
      if (t.queryId === excludeId) continue;
      scored.push({
        queryId: t.queryId,
        task: t.task,
        template: t.template,
        similarity: dot(embedding, t.embedding),
        sameTask: !!task && t.task === task,
      });
    }
    scored.sort(
      (a, b) =>
        Number(b.sameTask) - Number(a.sameTask) ||
        b.similarity - a.similarity ||
        (a.queryId < b.queryId ? -1 : a.queryId > b.queryId ? 1 : 0),
    );
    return scored.slice(0, k);
  }

  async retrieve(
    text: string,
    task: string | null | undefined,
    k: number,
    excludeId?: string,
  ): Promise<RetrievedTemplate[]> {
    const [v] = await this.embedder.embed([text]);
    return this.nearest(v as Float32Array, task, k, excludeId);
  }
}

/**
 * The prompt with templates as guidance: the retrieved templates, then the task prompt unchanged (so the
 * answer format the scorer expects still comes last). Without templates this is the task prompt alone.
 */
export function templatePrompt(taskPrompt: string, templates: readonly RetrievedTemplate[]): ChatMessage[] {
  if (templates.length === 0) return [{ role: "user", content: taskPrompt }];
  const guidance = templates.map((t, i) => `Template ${i + 1}: ${t.template}`).join("\n");
  return [
    {
      role: "user",
      content:
        "Thought templates distilled from how strong models solved similar problems. Use them as guidance for " +
        "your reasoning; they do not contain this question's answer.\n" +
        `${guidance}\n\n${taskPrompt}`,
    },
  ];
}
