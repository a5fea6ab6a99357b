import { badRequest } from "../serve/errors.ts";

/**
 * Query-string parsing for the dashboard's JSON API: a bad value is a 400 naming the parameter, never a
 * silently different answer.
 */

export function intParam(value: string | undefined, name: string, def: number, min: number, max: number): number {
  if (value === undefined || value === "") return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw badRequest(`'${name}' must be an integer in [${min}, ${max}], got "${value}"`, null, name);
  return n;
}

export function numParam(value: string | undefined, name: string): number | null {
  if (value === undefined || value === "") return null;
  const n = Number(value);
  if (!Number.isFinite(n)) throw badRequest(`'${name}' must be a number, got "${value}"`, null, name);
  return n;
}

export function enumParam<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | null {
  if (value === undefined || value === "") return null;
  if (!(allowed as readonly string[]).includes(value))
    throw badRequest(`'${name}' must be one of ${allowed.join(", ")}, got "${value}"`, null, name);
  return value as T;
}

/** A LIKE pattern matching `text` anywhere, with %, _ and \ taken literally (use with ESCAPE '\'). */
export function likeAnywhere(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
