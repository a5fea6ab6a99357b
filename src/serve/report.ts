import type { Redact } from "../util/redact.ts";

/**
 * The gateway's operator log (stderr): every line goes through the one redaction, and every unexpected error —
 * in a request, a stream relay, a background write or a stray promise — is reported here instead of reaching a
 * client as a stack or taking the process down.
 */
export class Reporter {
  private readonly redact: Redact;
  private readonly write: (line: string) => void;
  /** Unexpected errors reported so far, by where they happened (shown in /metrics). */
  readonly unexpected = new Map<string, number>();

  constructor(redact: Redact, write: (line: string) => void = (l) => process.stderr.write(l)) {
    this.redact = redact;
    this.write = write;
  }

  line(message: string): void {
    this.write(`${this.redact(`fusionkit serve: ${message}`)}\n`);
  }

  /** An error nobody expected, with its stack for the operator (never for the client). */
  error(where: string, e: unknown, requestId: string | null = null): void {
    this.unexpected.set(where, (this.unexpected.get(where) ?? 0) + 1);
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    this.line(`${where}${requestId ? ` (${requestId})` : ""}: ${detail}`);
  }
}
