import { DataError } from "../errors.ts";
import { typeName } from "../fields.ts";
import type { SourceLoc } from "../types.ts";

/**
 * Parser for Python literals as Python's repr() writes them (`['a', "b's", None, True, 1.5]`,
 * `{'pass@1': 0.5}`), which several published routing files store as text. Accepts JSON too
 * (null/true/false), since it is almost a subset. Throws PyLiteralError with the character offset.
 */

export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

export class PyLiteralError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at character ${offset + 1}`);
    this.offset = offset;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "0": "\0",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "/": "/",
};

const KEYWORDS: Record<string, PyValue> = {
  None: null,
  True: true,
  False: false,
  null: null,
  true: true,
  false: false,
  nan: Number.NaN,
  NaN: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  Infinity: Number.POSITIVE_INFINITY,
};

export function parsePyLiteral(text: string): PyValue {
  let i = 0;

  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const fail = (what: string): never => {
    throw new PyLiteralError(
      i >= text.length ? `unexpected end of text (${what})` : `unexpected ${JSON.stringify(text[i])} (${what})`,
      i,
    );
  };

  const parseString = (): string => {
    // Optional prefix: u'' (Python 2 repr), r'' (raw), b'' (bytes, kept as text).
    let raw = false;
    while (/[uUrRbB]/.test(text[i] as string)) {
      if (/[rR]/.test(text[i] as string)) raw = true;
      i++;
    }
    const quote = text[i] as string;
    const triple = text.startsWith(quote.repeat(3), i);
    i += triple ? 3 : 1;
    let out = "";
    while (true) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i] as string;
      if (triple ? text.startsWith(quote.repeat(3), i) : c === quote) {
        i += triple ? 3 : 1;
        return out;
      }
      if (c === "\\" && !raw) {
        const e = text[i + 1];
        if (e === undefined) fail("unterminated escape");
        if (e === "x" || e === "u" || e === "U") {
          const len = e === "x" ? 2 : e === "u" ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail(`bad \\${e} escape`);
          out += String.fromCodePoint(Number.parseInt(hex, 16));
          i += 2 + len;
          continue;
        }
        if (e === "\n") {
          i += 2; // line continuation
          continue;
        }
        const simple = SIMPLE_ESCAPES[e as string];
        // Python keeps unknown escapes verbatim ("\d" stays backslash-d).
        out += simple ?? `\\${e}`;
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
  };

  const parseNumber = (): number => {
    const m = /^[-+]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?/.exec(text.slice(i));
    if (!m) fail("expected a number");
    const s = (m as RegExpExecArray)[0];
    i += s.length;
    return Number(s.replace(/_/g, ""));
  };

  const parseSeq = (close: string): PyValue[] => {
    const items: PyValue[] = [];
    i++;
    ws();
    while (text[i] !== close) {
      items.push(value());
      ws();
      if (text[i] === ",") {
        i++;
        ws();
      } else if (text[i] !== close) fail(`expected "," or "${close}"`);
    }
    i++;
    return items;
  };

  const parseDict = (): { [key: string]: PyValue } => {
    const out: { [key: string]: PyValue } = {};
    i++;
    ws();
    while (text[i] !== "}") {
      const key = value();
      ws();
      if (text[i] !== ":") fail('expected ":"');
      i++;
      out[typeof key === "string" ? key : JSON.stringify(key)] = value();
      ws();
      if (text[i] === ",") {
        i++;
        ws();
      } else if (text[i] !== "}") fail('expected "," or "}"');
    }
    i++;
    return out;
  };

  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === undefined) return fail("expected a value");
    if (c === "[") return parseSeq("]");
    if (c === "(") return parseSeq(")");
    if (c === "{") return parseDict();
    if (c === "'" || c === '"' || (/[uUrRbB]/.test(c) && /^[uUrRbB]{1,2}['"]/.test(text.slice(i, i + 3))))
      return parseString();
    if (/[-+\d.]/.test(c)) {
      const rest = text.slice(i);
      if (/^-inf\b/.test(rest) || /^-Infinity\b/.test(rest)) {
        i += rest.startsWith("-inf") && !rest.startsWith("-Infinity") ? 4 : 9;
        return Number.NEGATIVE_INFINITY;
      }
      return parseNumber();
    }
    const word = /^[A-Za-z_]\w*/.exec(text.slice(i))?.[0];
    if (word && word in KEYWORDS) {
      i += word.length;
      return KEYWORDS[word] as PyValue;
    }
    return fail("expected a value");
  };

  const result = value();
  ws();
  if (i < text.length) fail("trailing text after the value");
  return result;
}

/**
 * A field that holds a list, either as a real JSON array or as the text of a Python/JSON list;
 * anything else is a DataError naming file, line and field.
 */
export function pyListField(v: unknown, loc: SourceLoc, field: string): PyValue[] {
  if (Array.isArray(v)) return v as PyValue[];
  if (typeof v !== "string") throw new DataError(loc, field, `expected a list, got ${typeName(v)}`);
  let parsed: PyValue;
  try {
    parsed = parsePyLiteral(v);
  } catch (e) {
    throw new DataError(loc, field, `not a Python/JSON list literal: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new DataError(loc, field, `expected a list, got ${typeName(parsed)}`);
  return parsed;
}
