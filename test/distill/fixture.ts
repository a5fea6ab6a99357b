import { Store } from "../../src/data/store.ts";
import type { Located, Model, OutcomeInput, ParsedBatch, Query } from "../../src/data/types.ts";
import { tempDb } from "../helpers.ts";

/** Hand-built routing data for distillation and template tests, written through the real store. */
export interface Answer {
  model: string;
  performance: number;
  cost: number;
  response: string | null;
  judge?: number | null;
  mode?: "direct" | "think";
}

export interface FixtureQuery extends Omit<Query, "dataset"> {
  answers: Answer[];
}

const loc = (line: number) => ({ file: "fixture", line });

export function fixtureStore(
  queries: FixtureQuery[],
  models: Array<Pick<Model, "name" | "size">>,
  dataset = "fx",
): Store {
  const batch: ParsedBatch = {
    format: "fixture",
    dataset,
    files: ["fixture"],
    models: models.map(
      (m, i): Located<Model> => ({ name: m.name, size: m.size, inputPrice: 1, outputPrice: 1, loc: loc(i + 1) }),
    ),
    queries: queries.map(({ answers: _answers, ...q }, i): Located<Query> => ({ ...q, dataset, loc: loc(i + 1) })),
    outcomes: queries.flatMap((q, i) =>
      q.answers.map(
        (a): Located<OutcomeInput> => ({
          queryId: q.id,
          model: a.model,
          mode: a.mode ?? "direct",
          response: a.response,
          performance: a.performance,
          cost: a.cost,
          judge: a.judge ?? null,
          loc: loc(i + 1),
        }),
      ),
    ),
  };
  const store = new Store(tempDb());
  store.importBatch(batch);
  return store;
}
