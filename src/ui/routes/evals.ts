import type { Hono } from "hono";
import { listEvalRuns, loadEvalRun } from "../../eval/runs.ts";
import { HttpError } from "../../serve/errors.ts";
import type { UiDeps, UiEnv } from "../context.ts";
import { enumParam, intParam } from "../params.ts";
import { routerDetail, VERDICTS } from "../queries/evals.ts";

/** GET /api/evals, /api/evals/:id, /api/evals/:id/router?name=&scenario=. */
export function registerEvalRoutes(app: Hono<UiEnv>, deps: UiDeps): void {
  app.get("/api/evals", (c) => c.json(listEvalRuns(deps.db)));

  app.get("/api/evals/:id", (c) => {
    const id = runId(c.req.param("id"));
    const run = loadEvalRun(deps.db, id);
    if (!run) throw new HttpError(404, "not_found_error", `no evaluation run ${id}`, null, "id");
    return c.json(run);
  });

  app.get("/api/evals/:id/router", (c) => {
    const id = runId(c.req.param("id"));
    const q = c.req.query();
    if (!q.name || !q.scenario)
      throw new HttpError(400, "invalid_request_error", "'name' and 'scenario' are required", null, "name");
    const d = routerDetail(
      deps.db,
      id,
      q.name,
      q.scenario,
      enumParam(q.verdict, "verdict", VERDICTS),
      intParam(q.offset, "offset", 0, 0, 1e9),
      intParam(q.limit, "limit", 20, 1, 200),
    );
    if (!d)
      throw new HttpError(404, "not_found_error", `run ${id} has no router '${q.name}' under '${q.scenario}'`, null);
    return c.json(d);
  });
}

function runId(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new HttpError(400, "invalid_request_error", `run id must be a positive integer, got '${value}'`, null, "id");
  return n;
}
