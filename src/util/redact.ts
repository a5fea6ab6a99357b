/**
 * The one redaction of secrets (upstream API keys) for every text that leaves FusionKit or is stored: error
 * bodies, SSE events, relayed replies, exchange rows and log lines. Upstream error texts quote keys
 * ("Incorrect API key provided: sk-…"), so nothing an upstream says is passed on without it.
 */

export const REDACTED = "[redacted]";

/** A text → text function that replaces every occurrence of each secret; cheap when none occurs. */
export type Redact = (text: string) => string;

export function redactor(secrets: ReadonlyArray<string | undefined>): Redact {
  // Shorter strings would match ordinary text; no real key is that short.
  const list = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 4))];
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}

/** Redact one text with the given secrets. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  return redactor(secrets)(text);
}
