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

/**
 * Personal data and credentials found by their shape, for `logging: redacted`: each match becomes a typed mask
 * (`[email]`, `[phone]`, `[card]`, `[key]`), so a stored exchange still reads as what it was. The patterns are
 * meant to miss little while leaving ordinary numbers alone: a phone needs a leading + or the grouped 3-3-4
 * form, a card number must pass the Luhn check, a key must look like one (a known prefix, a JWT, a PEM block, a
 * bearer token). What no pattern describes (a name, an address in prose) is kept: this is masking, not
 * anonymisation.
 */
const mask = (name: string) => () => `[${name}]`;

const PII_PATTERNS: ReadonlyArray<[RegExp, (match: string, ...groups: string[]) => string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, mask("key")],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, mask("key")], // JWT
  [
    /\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|fk-[A-Za-z0-9_-]{32,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abpors]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,})/g,
    mask("key"),
  ],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/g, (_m, scheme) => `${scheme} [key]`],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, mask("email")],
  [/(?<![\w])(?:\d[ -]?){12,18}\d(?![\w])/g, (m) => (luhn(m.replace(/\D/g, "")) ? "[card]" : m)],
  [/(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![\w])/g, mask("phone")],
  [/(?<![\w])(?:\(\d{3}\)\s?|\d{3}[.-])\d{3}[.-]\d{4}(?![\w])/g, mask("phone")],
];

/** The Luhn checksum of a card number's digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Mask emails, phone numbers, card numbers and credential-shaped strings in a text. */
export function redactPersonalData(text: string): string {
  let out = text;
  for (const [pattern, replace] of PII_PATTERNS) out = out.replace(pattern, replace);
  return out;
}

/**
 * Apply a text redaction to every string inside a JSON text (keys included), so escapes such as `\n` before an
 * address neither hide it nor get masked with it into invalid JSON. Text that is not JSON is redacted as text.
 */
export function redactJsonStrings(json: string, redactText: Redact): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return redactText(json);
  }
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactText(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [redactText(k), walk(x)]));
    return v;
  };
  return JSON.stringify(walk(value));
}
