import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { DataError } from "../data/errors.ts";

/**
 * A YAML (or JSON) configuration file validated with a zod schema. Every error names the file, the line and
 * the field path (`p.yaml:line 10, field "models[0].outputPrice": Too small`), from the YAML node positions.
 */
export interface ParsedYaml<T> {
  data: T;
  /** Line of the node at a path (for errors found after validation, such as duplicates). */
  lineAt(path: unknown[]): number;
}

export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(top level)";
}

export function parseYaml<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  emptyMessage: string,
): ParsedYaml<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new DataError({ file, line: lineOf(e?.pos[0]) }, null, `not valid YAML/JSON: ${e?.message.split("\n")[0]}`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) throw new DataError({ file, line: 1 }, null, emptyMessage);
  const lineAt = (path: unknown[]) => {
    // Walk up the path until a node exists (a missing field is reported at its parent's line).
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number] } | undefined;
      if (node?.range) return lineOf(node.range[0]);
    }
    return 1;
  };
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    throw new DataError({ file, line: lineAt(issue.path as unknown[]) }, fieldPath(issue.path), issue.message);
  }
  return { data: parsed.data, lineAt };
}
