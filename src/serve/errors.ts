/**
 * OpenAI-style errors: `{"error": {"message", "type", "param", "code"}}` with the status code a client
 * expects, so the official SDKs raise their usual exception classes (AuthenticationError, BadRequestError…).
 */

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "upstream_error"
  | "service_unavailable"
  | "api_error";

export class HttpError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string | null;
  readonly param: string | null;
  /** Extra response headers (Retry-After, x-should-retry). */
  readonly headers: Record<string, string> = {};
  constructor(
    status: number,
    type: ErrorType,
    message: string,
    code: string | null = null,
    param: string | null = null,
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
}

export const badRequest = (message: string, code: string | null = null, param: string | null = null) =>
  new HttpError(400, "invalid_request_error", message, code, param);

export function errorBody(e: HttpError): string {
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
}

/** Any thrown value as an HttpError; unknown failures become a 500 without internals. */
export function asHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  return new HttpError(500, "api_error", "internal gateway error", "internal_error");
}
