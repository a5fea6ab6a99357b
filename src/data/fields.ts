import { DataError } from "./errors.ts";
import type { SourceLoc } from "./types.ts";

/**
 * Field readers shared by every importer: each converts a raw value and, when it is wrong,
 * throws a DataError naming the file, line/row and field.
 */

export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && v.trim() === "");
}

export function requiredString(v: unknown, loc: SourceLoc, field: string): string {
  if (isBlank(v)) throw new DataError(loc, field, "missing value (required)");
  if (typeof v !== "string") throw new DataError(loc, field, `expected text, got ${typeName(v)}`);
  return v;
}

export function optionalString(v: unknown, loc: SourceLoc, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return JSON.stringify(v);
  throw new DataError(loc, field, `expected text, got ${typeName(v)}`);
}

export function requiredNumber(v: unknown, loc: SourceLoc, field: string, rule: NumberRule = {}): number {
  if (isBlank(v)) throw new DataError(loc, field, "missing value (required number)");
  return checkNumber(toNumber(v, loc, field), loc, field, rule);
}

export function optionalNumber(v: unknown, loc: SourceLoc, field: string, rule: NumberRule = {}): number | null {
  if (isBlank(v)) return null;
  return checkNumber(toNumber(v, loc, field), loc, field, rule);
}

function toNumber(v: unknown, loc: SourceLoc, field: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string") {
    const t = v.trim();
    if (/^(true|false)$/i.test(t)) return t.toLowerCase() === "true" ? 1 : 0;
    const n = Number(t);
    if (t !== "" && !Number.isNaN(n)) return n;
    if (/^nan$/i.test(t)) return Number.NaN;
  }
  throw new DataError(loc, field, `expected a number, got ${typeName(v)} ${preview(v)}`);
}

function checkNumber(n: number, loc: SourceLoc, field: string, rule: NumberRule): number {
  if (!Number.isFinite(n)) throw new DataError(loc, field, `expected a finite number, got ${n}`);
  if (rule.integer && !Number.isInteger(n)) throw new DataError(loc, field, `expected an integer, got ${n}`);
  if (rule.min !== undefined && n < rule.min)
    throw new DataError(loc, field, `${n} is below the allowed minimum ${rule.min}`);
  if (rule.max !== undefined && n > rule.max)
    throw new DataError(loc, field, `${n} is above the allowed maximum ${rule.max}`);
  return n;
}

export const PERFORMANCE: NumberRule = { min: 0, max: 1 };
export const TOKENS: NumberRule = { min: 0, integer: true };
export const NON_NEGATIVE: NumberRule = { min: 0 };

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

export function preview(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return JSON.stringify((s ?? "").length > 40 ? `${s.slice(0, 40)}…` : s);
}
