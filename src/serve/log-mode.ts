import { UsageError } from "../data/errors.ts";
import { type Redact, redactJsonStrings, redactPersonalData } from "../util/redact.ts";
import type { Exchange } from "./log.ts";

/**
 * What an exchange keeps of the conversation when it is logged (`logging.mode`, `serve --log-mode`):
 * - `full`: everything, as routing data (only upstream keys are masked, in every mode);
 * - `redacted`: the routed text, request, response and error with emails, phone numbers, card numbers and
 *   credential-shaped strings masked (util/redact.ts: redactPersonalData);
 * - `metadata`: no text of the conversation at all — model, router, tokens, cost, latency, status, ids and the
 *   ranked candidates; the error message is kept masked as in `redacted` (it is the gateway's or the
 *   upstream's words, useful to operators). A feedback label on such an exchange is stored, but it cannot
 *   become routing data: there is no query text to learn from.
 * Each row records the mode it was stored in (`log_mode`).
 */

export const LOG_MODES = ["full", "redacted", "metadata"] as const;
export type LogMode = (typeof LOG_MODES)[number];

export function parseLogMode(value: string, where: string): LogMode {
  if ((LOG_MODES as readonly string[]).includes(value)) return value as LogMode;
  throw new UsageError(`${where} must be one of ${LOG_MODES.join(", ")}, got "${value}"`);
}

/** The row as `mode` stores it; `secrets` (the upstream keys) is applied to every text field first. */
export function exchangeAsLogged(row: Exchange, mode: LogMode, secrets: Redact): Exchange {
  const clean: Record<string, unknown> = { ...row };
  for (const k in clean) if (typeof clean[k] === "string") clean[k] = secrets(clean[k] as string);
  const e = clean as unknown as Exchange;
  const mask = (t: string | null) => (t === null ? null : redactPersonalData(t));
  if (mode === "redacted")
    return {
      ...e,
      query: redactPersonalData(e.query),
      // The forwarded messages are JSON: masked string by string, so the row stays valid JSON.
      request: e.request === null ? null : redactJsonStrings(e.request, redactPersonalData),
      response: mask(e.response),
      error: mask(e.error),
      logMode: mode,
    };
  if (mode === "metadata")
    return { ...e, query: "", request: null, response: null, error: mask(e.error), logMode: mode };
  return { ...e, logMode: mode };
}
