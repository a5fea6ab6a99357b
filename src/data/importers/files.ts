import { open, readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { DataError } from "../errors.ts";
import { preview } from "../fields.ts";
import type { SourceLoc, Split } from "../types.ts";

/** Shared file readers for importers: every parse failure names the file and line. */

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The first `bytes` bytes of a file as text (format detection reads no further). */
export async function readHead(path: string, bytes: number): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** The files directly inside a folder whose path `keep` accepts, sorted by name. */
export async function filesIn(dir: string, keep: (path: string) => boolean | Promise<boolean>): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }))
    if (e.isFile() && (await keep(join(dir, e.name)))) out.push(join(dir, e.name));
  return out.sort();
}

/** Folder detection: there is at least one file and every one is of the format (stops at the first that is not). */
export async function allMatch(files: string[], isFormat: (path: string) => Promise<boolean>): Promise<boolean> {
  if (files.length === 0) return false;
  for (const f of files) if (!(await isFormat(f))) return false;
  return true;
}

/** Parse a whole-file JSON document; a syntax error names the file and the line it occurs on. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split("\n").length : text.split("\n").length;
    throw new DataError({ file: path, line }, null, `invalid JSON (${msg}); is the file truncated?`);
  }
}

export interface JsonLine {
  value: Record<string, unknown>;
  loc: SourceLoc;
}

/** Parse JSON Lines: blank lines are skipped, a bad line is an error naming it. */
export async function readJsonLines(path: string): Promise<JsonLine[]> {
  return parseJsonLines(await readFile(path, "utf8"), path);
}

/** Parse JSON Lines text read from `path` (for callers that read the file themselves). */
export function parseJsonLines(text: string, path: string): JsonLine[] {
  const out: JsonLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? "";
    if (!line) continue;
    const loc: SourceLoc = { file: path, line: i + 1 };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DataError(loc, null, `invalid JSON line (${(e as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new DataError(loc, null, "expected a JSON object on this line");
    out.push({ value: value as Record<string, unknown>, loc });
  }
  return out;
}

/** "train" or "test" when a file name says so (`*_train.*`, `train.json`, `partial_test`), else null. */
export function splitFromFileName(path: string): "train" | "test" | null {
  const name = basename(path, extname(path)).toLowerCase();
  if (/(^|[_\-.])train($|[_\-.])/.test(name) || name === "train") return "train";
  if (/(^|[_\-.])(partial_)?test($|[_\-.])/.test(name) || name === "test") return "test";
  return null;
}

/**
 * A table row's split: its `split` cell when filled (train or test, or one of `testNames`, other names a
 * source uses for its test rows), else the split its file's name gives.
 */
export function rowSplit(
  row: Record<string, unknown>,
  loc: SourceLoc,
  fileSplit: Split | null,
  testNames: readonly string[] = [],
): Split | null {
  const v = row.split;
  if (v === undefined || v === null || v === "") return fileSplit;
  if (v === "train") return "train";
  if (v === "test" || (typeof v === "string" && testNames.includes(v))) return "test";
  const known = ["train", "test", ...testNames];
  throw new DataError(loc, "split", `expected ${known.slice(0, -1).join(", ")} or ${known.at(-1)}, got ${preview(v)}`);
}

export function asRecord(v: unknown, loc: SourceLoc, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new DataError(loc, null, `expected ${what} to be a JSON object`);
  return v as Record<string, unknown>;
}

export function asArray(v: unknown, loc: SourceLoc, what: string): unknown[] {
  if (!Array.isArray(v)) throw new DataError(loc, null, `expected ${what} to be a JSON array`);
  return v;
}
