/**
 * An LLM call that failed for good (after retries, or at once when retrying cannot help).
 * Messages name provider and model and never contain an API key.
 */
export class LlmError extends Error {
  /** HTTP status when the upstream answered, null for connection errors, timeouts and malformed bodies. */
  readonly status: number | null;
  /** True when every further call will fail the same way (bad key, unknown model, missing env var). */
  readonly fatal: boolean;
  readonly attempts: number;
  constructor(message: string, opts: { status?: number | null; fatal?: boolean; attempts?: number } = {}) {
    super(message);
    this.name = "LlmError";
    this.status = opts.status ?? null;
    this.fatal = opts.fatal ?? false;
    this.attempts = opts.attempts ?? 1;
  }
}
