import type { IncomingMessage } from "node:http";
import type { Redact } from "../util/redact.ts";

/**
 * Server-sent events relay for streamed chat completions: splits the upstream's bytes into events, forwards
 * them, and tallies what the log needs (content, usage, finish reason, whether `[DONE]` arrived). The gateway
 * always asks the upstream for the usage chunk; when the client did not ask for it that chunk is dropped,
 * so clients see exactly the stream they requested. Everything forwarded goes through the redaction (an
 * upstream's error event may quote its key). The first event with data is classified, so the gateway can
 * decide to fall back before anything reaches the client.
 */

/** What the first event carrying data was: a JSON chunk (or [DONE]), an error event, or not SSE/JSON at all. */
export type FirstEvent = "valid" | "error" | "invalid";

export interface StreamTally {
  content: string;
  inputTokens: number | null;
  outputTokens: number | null;
  finishReason: string | null;
  done: boolean;
  /** An error event the upstream sent in the stream. */
  error: string | null;
}

interface Chunk {
  choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  error?: { message?: unknown } | unknown;
}

export class SseRelay {
  private pending = "";
  private readonly dropUsageOnly: boolean;
  private readonly redact: Redact;
  /** null until an event with data (or a line that is not SSE) arrived. */
  first: FirstEvent | null = null;
  private readonly parts: string[] = [];
  readonly tally: StreamTally = {
    content: "",
    inputTokens: null,
    outputTokens: null,
    finishReason: null,
    done: false,
    error: null,
  };

  constructor(dropUsageOnly: boolean, redact: Redact) {
    this.dropUsageOnly = dropUsageOnly;
    this.redact = redact;
  }

  /** Characters received but not yet part of a complete event. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Feed decoded upstream text; returns the complete events to forward now ("" when none). */
  feed(text: string): string {
    let buf = this.pending + text;
    if (buf.includes("\r")) buf = buf.replace(/\r\n?/g, "\n");
    const end = buf.lastIndexOf("\n\n");
    if (end < 0) {
      this.pending = buf;
      return "";
    }
    const complete = buf.slice(0, end + 2);
    this.pending = buf.slice(end + 2);
    let dropped = false;
    const kept: string[] = [];
    let start = 0;
    while (start < complete.length) {
      const stop = complete.indexOf("\n\n", start);
      const event = complete.slice(start, stop);
      start = stop + 2;
      if (!event) continue;
      if (this.inspect(event)) kept.push(event);
      else dropped = true;
    }
    if (!dropped) return this.redact(complete);
    return kept.length ? this.redact(`${kept.join("\n\n")}\n\n`) : "";
  }

  /** Tally one event; false when it should not be forwarded. */
  private inspect(event: string): boolean {
    let data = "";
    let hasData = false;
    for (const line of event.split("\n")) {
      if (line.startsWith("data:")) {
        hasData = true;
        data += line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      } else if (!SSE_LINE.test(line)) this.first ??= "invalid";
    }
    if (!hasData) return true;
    if (data === "[DONE]") {
      this.first ??= "valid";
      this.tally.done = true;
      return true;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      this.first ??= "invalid";
      return true;
    }
    if (!chunk || typeof chunk !== "object") {
      this.first ??= "invalid";
      return true;
    }
    if (chunk.error) {
      this.first ??= "error";
      const m = (chunk.error as { message?: unknown }).message;
      this.tally.error = typeof m === "string" ? m : "upstream sent an error event";
      return true;
    }
    this.first ??= "valid";
    const choice = chunk.choices?.[0];
    if (choice) {
      const c = choice.delta?.content;
      if (typeof c === "string") this.parts.push(c);
      if (typeof choice.finish_reason === "string") this.tally.finishReason = choice.finish_reason;
    }
    if (chunk.usage) {
      const { prompt_tokens: p, completion_tokens: o } = chunk.usage;
      if (typeof p === "number") this.tally.inputTokens = p;
      if (typeof o === "number") this.tally.outputTokens = o;
      if (this.dropUsageOnly && (!chunk.choices || chunk.choices.length === 0)) return false;
    }
    return true;
  }

  /** The streamed text so far. */
  content(): string {
    if (this.parts.length > 1) {
      const all = this.parts.join("");
      this.parts.length = 0;
      this.parts.push(all);
    }
    return this.parts[0] ?? "";
  }
}

/** A line an SSE stream may carry besides data: a comment, event, id or retry field. */
const SSE_LINE = /^(?::|event(?::|$)|id(?::|$)|retry(?::|$))/;

/** The SSE event that ends a stream which failed after it began (the openai SDKs raise it as an APIError). */
export function errorEvent(message: string, code: string): string {
  return `data: ${JSON.stringify({ error: { message, type: "upstream_error", param: null, code } })}\n\n`;
}

/**
 * Whether the client can take trailer fields on this response: only a chunked HTTP/1.1 response carries them
 * (Node throws ERR_HTTP_TRAILER_INVALID for an HTTP/1.0 client), and only a client that said `TE: trailers`
 * promised to read them.
 */
export function acceptsTrailers(req: IncomingMessage): boolean {
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) return false;
  const te = req.headers.te;
  return typeof te === "string" && te.split(",").some((t) => t.split(";")[0].trim().toLowerCase() === "trailers");
}
