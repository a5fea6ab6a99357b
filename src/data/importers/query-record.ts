import { queryId } from "../ids.ts";
import { domainOfTask } from "../tasks.ts";
import type { Located, Query, Split } from "../types.ts";

/** A query's fields as a source file gives them; the id and the domain are derived. */
export type SourceQueryFields = Omit<Located<Query>, "id" | "domain" | "split"> & { split: Split | null };

/**
 * The query record an importer stores: the id hashes (dataset, task, text, split) so re-imports map to the
 * same row, and the domain follows from the task. Pass `id` when it was already computed (to skip repeats).
 */
export function sourceQuery(
  fields: SourceQueryFields,
  id = queryId(fields.dataset, fields.task, fields.text, fields.split),
): Located<Query> {
  const { dataset, task, text, ...rest } = fields;
  return { id, dataset, task, domain: domainOfTask(task), text, ...rest };
}
