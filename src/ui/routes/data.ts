import type { Hono } from "hono";
import { HttpError } from "../../serve/errors.ts";
import type { UiDeps, UiEnv } from "../context.ts";
import { enumParam, intParam } from "../params.ts";
import { browseQueries, datasetMatrix, datasets, OUTCOME_FILTERS, queryDetail } from "../queries/data.ts";

const SPLITS = ["train", "test"] as const;

/** GET /api/data/datasets, /api/data/matrix, /api/data/queries, /api/data/queries/:id. */
export function registerDataRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/api/data/datasets", (c) => c.json(datasets(deps.db)));

  app.get("/api/data/matrix", (c) => {
    const dataset = requiredDataset(deps, c.req.query("dataset"));
    return c.json(datasetMatrix(deps.db, dataset, enumParam(c.req.query("split"), "split", SPLITS)));
  });

  app.get("/api/data/queries", (c) => {
    const q = c.req.query();
    return c.json(
      browseQueries(deps.db, {
        dataset: requiredDataset(deps, q.dataset),
        split: enumParam(q.split, "split", SPLITS),
        task: q.task || null,
        text: q.q || null,
        candidate: q.model || null,
        outcome: enumParam(q.outcome, "outcome", OUTCOME_FILTERS),
        offset: intParam(q.offset, "offset", 0, 0, 1e9),
        limit: intParam(q.limit, "limit", 25, 1, 200),
      }),
    );
  });

  app.get("/api/data/queries/:id", (c) => {
    const d = queryDetail(deps.db, c.req.param("id"));
    if (!d) throw new HttpError(404, "not_found_error", `no query with id '${c.req.param("id")}'`, null, "id");
    return c.json(d);
  });
}

function requiredDataset(deps: UiDeps, value: string | undefined): string {
  if (!value) throw new HttpError(400, "invalid_request_error", "'dataset' is required", null, "dataset");
  const known = deps.db.prepare("SELECT 1 FROM queries WHERE dataset = ? LIMIT 1").get(value);
  if (!known) throw new HttpError(404, "not_found_error", `no dataset '${value}' in the store`, null, "dataset");
  return value;
}
