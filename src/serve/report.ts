import pino, { type Logger } from "pino";
import type { Redact } from "../util/redact.ts";

/**
 * The gateway's operator log: JSON lines on stderr (pino), one object per event with `msg`, and `requestId`
 * when it concerns a request. Every text goes through the one redaction first. Every unexpected error — in a
 * request, a stream relay, a background write or a stray promise — is reported here (with its stack) instead
 * of reaching a client or taking the process down.
 */
export class Reporter {
  private readonly redact: Redact;
  private readonly log: Logger;
  /** Unexpected errors reported so far, by where they happened (shown in /metrics). */
  readonly unexpected = new Map<string, number>();

  /** `write` receives each JSON line (default: stderr, synchronously, so nothing is lost on exit). */
  constructor(redact: Redact, write?: (line: string) => void) {
    this.redact = redact;
    const dest = write ? { write } : pino.destination({ fd: 2, sync: true });
    this.log = pino({ name: "fusionkit-serve", base: { pid: process.pid } }, dest);
  }

  line(message: string, requestId: string | null = null): void {
    if (requestId) this.log.info({ requestId }, this.redact(message));
    else this.log.info(this.redact(message));
  }

  warn(message: string): void {
    this.log.warn(this.redact(message));
  }

  /** An error nobody expected, with its stack for the operator (never for the client). */
  error(where: string, e: unknown, requestId: string | null = null): void {
    this.unexpected.set(where, (this.unexpected.get(where) ?? 0) + 1);
    const message = this.redact(e instanceof Error ? e.message : String(e));
    const stack = e instanceof Error && e.stack ? this.redact(e.stack) : undefined;
    this.log.error({ where, ...(requestId ? { requestId } : {}), stack }, `${where}: ${message}`);
  }
}
