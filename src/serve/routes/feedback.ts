import type { Hono } from "hono";
import { readJsonBody } from "../body.ts";
import type { AppDeps, Env } from "../context.ts";
import { badRequest, HttpError } from "../errors.ts";
import { FeedbackError } from "../labels.ts";

/**
 * POST /v1/feedback {"request_id": "...", "score": 0..1}: label a served exchange with how well it did. The
 * label becomes a routing-data outcome at once (dataset "gateway"), ready for `fusionkit train` — except for an
 * exchange logged without its text (`logging: metadata`): the label is stored, `query_id` is null.
 */
export function registerFeedback(app: Hono<Env>, deps: Pick<AppDeps, "labels" | "bodyLimit">): void {
  app.post("/v1/feedback", async (c) => {
    const { value } = await readJsonBody(c.env.incoming, deps.bodyLimit);
    const body = value as { request_id?: unknown; score?: unknown } | null;
    if (!body || typeof body !== "object") throw badRequest("the body must be a JSON object {request_id, score}");
    if (typeof body.request_id !== "string" || !body.request_id)
      throw badRequest("'request_id' is required (the x-request-id header of the response)", null, "request_id");
    if (typeof body.score !== "number" || !(body.score >= 0 && body.score <= 1))
      throw badRequest("'score' must be a number in [0, 1]", null, "score");
    try {
      const r = await deps.labels.label(body.request_id, body.score);
      return c.json({
        object: "feedback",
        request_id: body.request_id,
        query_id: r.queryId,
        model: r.model,
        performance: r.performance,
      });
    } catch (e) {
      if (e instanceof FeedbackError)
        throw new HttpError(
          e.status,
          e.status === 404 ? "not_found_error" : "invalid_request_error",
          e.message,
          null,
          "request_id",
        );
      throw e;
    }
  });
}
