import type { Store } from "../../src/data/store.ts";

/** Everything a store holds that an import could change: rows of all three tables and the import log length. */
export function snapshot(store: Store) {
  const imports = (store.db.prepare("SELECT COUNT(*) AS n FROM imports").get() as { n: number }).n;
  return {
    counts: store.counts(),
    imports,
    models: store.models(),
    queries: store.queries(),
    outcomes: store.outcomes(),
  };
}

/** The store's content without the ids (two importers of the same rows compute ids from different datasets). */
export function content(store: Store) {
  const text = new Map(store.queries().map((q) => [q.id, q.text]));
  return {
    models: store.models(),
    queries: store.queries().map(({ id: _id, ...q }) => q),
    outcomes: store
      .outcomes()
      .map(({ queryId, ...o }) => ({ query: text.get(queryId), ...o }))
      .sort((a, b) => `${a.query}${a.model}${a.mode}`.localeCompare(`${b.query}${b.model}${b.mode}`)),
  };
}
