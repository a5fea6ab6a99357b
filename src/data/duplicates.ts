import { DataError, placeOf } from "./errors.ts";
import { preview } from "./fields.ts";
import type { Located, Query } from "./types.ts";

/**
 * The one duplicate check every import goes through (importers while parsing, the store across files and
 * against what is stored): two records of the same query id must agree. An exact repeat is fine (FusionBench
 * repeats a query on each of its 40 rows); a conflicting one is an error naming both places, never "first wins".
 */

/** A field two records of one query disagree on: its name and both values. */
export interface QueryConflict {
  field: string;
  was: unknown;
  now: unknown;
}

/**
 * The first field on which two records of the same query id disagree, or null. Text, task and dataset are always
 * present and must be equal; optional fields (split, ground truth, metric, choices) conflict only when both
 * records give a value, so a file that leaves the split out can re-import a query the store has split.
 */
export function queryConflict(was: Query, now: Query): QueryConflict | null {
  const required: Array<[string, unknown, unknown]> = [
    ["text", was.text, now.text],
    ["task", was.task, now.task],
    ["dataset", was.dataset, now.dataset],
  ];
  for (const [field, a, b] of required) if (a !== b) return { field, was: a, now: b };
  const optional: Array<[string, unknown, unknown]> = [
    ["split", was.split, now.split],
    ["ground_truth", was.groundTruth, now.groundTruth],
    ["metric", was.metric, now.metric],
    ["choices", was.choices, now.choices],
  ];
  for (const [field, a, b] of optional) if (a != null && b != null && a !== b) return { field, was: a, now: b };
  return null;
}

/** The error for a query that conflicts with another record of its id; `elsewhere` names where that one is. */
export function queryConflictError(q: Located<Query>, c: QueryConflict, elsewhere: string): DataError {
  return new DataError(
    q.loc,
    c.field,
    `query ${q.id} has ${c.field} ${preview(c.now)} here but ${preview(c.was)} ${elsewhere}`,
  );
}

/** Queries by id as they are read: each id once, a conflicting repeat an error naming both places. */
export class QueryCollector {
  private readonly byId = new Map<string, Located<Query>>();

  /** True when the query is new; false for an exact repeat (already collected); throws on a conflicting one. */
  add(q: Located<Query>): boolean {
    const first = this.byId.get(q.id);
    if (!first) {
      this.byId.set(q.id, q);
      return true;
    }
    const c = queryConflict(first, q);
    if (c) throw queryConflictError(q, c, `at ${placeOf(first.loc)}`);
    return false;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Located<Query> | undefined {
    return this.byId.get(id);
  }

  values(): Located<Query>[] {
    return [...this.byId.values()];
  }
}
