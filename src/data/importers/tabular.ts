import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { DataError } from "../errors.ts";
import type { SourceLoc } from "../types.ts";
import { allMatch, filesIn, isDirectory, readHead, readJsonFile, readJsonLines } from "./files.ts";

/**
 * One reader for the table-shaped formats (CSV, Parquet, JSON Lines, JSON array of records), so that the
 * FusionBench and RouterBench importers see the same rows with a location for every error message:
 * CSV and JSONL rows carry their 1-based line, Parquet rows and JSON array elements their 1-based index.
 */

export type TableKind = "csv" | "parquet" | "jsonl" | "json";

export interface TableRow {
  row: Record<string, unknown>;
  loc: SourceLoc;
}

export interface Table {
  file: string;
  kind: TableKind;
  columns: string[];
  rows: TableRow[];
}

export function tableKind(path: string): TableKind | null {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".json") return "json";
  return null;
}

async function assertNotEmpty(path: string): Promise<void> {
  if ((await stat(path)).size === 0) throw new DataError({ file: path, line: 1 }, null, "the file is empty");
}

/** Start line of a CSV record: csv-parse reports the line it ends on, and the raw text tells how many it spans. */
function csvStartLine(raw: string, endLine: number): number {
  const body = raw.replace(/^(\r?\n)+/, "").replace(/\r?\n$/, "");
  return endLine - (body.match(/\n/g)?.length ?? 0);
}

function readCsvText(path: string, text: string): Table {
  let records: Array<{ record: Record<string, string>; info: { lines: number }; raw: string }>;
  try {
    records = parseCsv(text, { columns: true, info: true, raw: true, skip_empty_lines: true, bom: true });
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new DataError({ file: path, line: err.lines ?? 1 }, null, `invalid CSV (${err.message})`);
  }
  // The header is the first record (quoted names may span lines); records parsed, so it parses too.
  const header = parseCsv(text, { bom: true, to: 1 }) as string[][];
  const columns = header[0] ?? [];
  if (columns.length === 0) throw new DataError({ file: path, line: 1 }, null, "the file has no header row");
  return {
    file: path,
    kind: "csv",
    columns,
    rows: records.map((r) => ({
      row: r.record,
      loc: { file: path, line: csvStartLine(r.raw, r.info.lines), unit: "line" },
    })),
  };
}

async function readParquet(path: string, columns?: string[]): Promise<Table> {
  const file = await asyncBufferFromFile(path);
  let names: string[];
  try {
    names = parquetSchema(await parquetMetadataAsync(file)).children.map((c) => c.element.name);
  } catch (e) {
    throw new DataError({ file: path, line: 1 }, null, `not a readable Parquet file (${(e as Error).message})`);
  }
  const wanted = columns ? columns.filter((c) => names.includes(c)) : names;
  let objects: Record<string, unknown>[];
  try {
    objects = (await parquetReadObjects({ file, columns: wanted })) as Record<string, unknown>[];
  } catch (e) {
    // The footer was readable but a data page is not (truncated or corrupted): the file, not a stack trace.
    throw new DataError(null, null, `${path}: corrupted Parquet data (${(e as Error).message})`);
  }
  return {
    file: path,
    kind: "parquet",
    columns: names,
    rows: objects.map((row, i) => ({ row, loc: { file: path, line: i + 1, unit: "row" } })),
  };
}

function unionKeys(rows: TableRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.row)) seen.add(k);
  return [...seen];
}

/**
 * Read a whole table. `columns` limits what Parquet decodes (e.g. skip 768-d embedding columns);
 * the returned `columns` is still the full list, so missing-column checks see the real schema.
 */
export async function readTable(path: string, options: { columns?: string[] } = {}): Promise<Table> {
  const kind = tableKind(path);
  if (!kind) throw new DataError({ file: path, line: 1 }, null, "not a .csv, .parquet, .jsonl or .json file");
  await assertNotEmpty(path);
  if (kind === "csv") return readCsvText(path, await readFile(path, "utf8"));
  if (kind === "parquet") return readParquet(path, options.columns);
  if (kind === "jsonl") {
    const rows = (await readJsonLines(path)).map(({ value, loc }) => ({ row: value, loc }));
    if (rows.length === 0) throw new DataError({ file: path, line: 1 }, null, "the file has no records");
    return { file: path, kind, columns: unionKeys(rows), rows };
  }
  const doc = await readJsonFile(path);
  if (!Array.isArray(doc)) throw new DataError({ file: path, line: 1 }, null, "expected a JSON array of records");
  const rows = doc.map((value, i) => {
    const loc: SourceLoc = { file: path, line: i + 1, unit: "item" };
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new DataError(loc, null, "expected each element to be a JSON object");
    return { row: value as Record<string, unknown>, loc };
  });
  return { file: path, kind, columns: unionKeys(rows), rows };
}

/** The column names of a table without reading it all (for format detection); null when unreadable. */
export async function peekColumns(path: string): Promise<string[] | null> {
  const kind = tableKind(path);
  if (!kind) return null;
  try {
    if (kind === "parquet") {
      const file = await asyncBufferFromFile(path);
      return parquetSchema(await parquetMetadataAsync(file)).children.map((c) => c.element.name);
    }
    const head = await readHead(path, 64 * 1024);
    if (kind === "csv") {
      const rows = parseCsv(head, { bom: true, to_line: 1, relax_quotes: true }) as string[][];
      return rows[0] ?? null;
    }
    if (kind === "jsonl") {
      const first = head.split("\n").find((l) => l.trim());
      const obj = first ? JSON.parse(first) : null;
      return obj && typeof obj === "object" && !Array.isArray(obj) ? Object.keys(obj) : null;
    }
    // JSON array: the keys of the first record, read from the start of the file.
    const m = /^\s*\[\s*\{/.exec(head);
    if (!m) return null;
    const keys = [...head.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].map((k) => JSON.parse(`"${k[1]}"`) as string);
    return keys;
  } catch {
    return null;
  }
}

/** A DataError naming the first required column the table lacks. */
export function requireColumns(table: Table, required: readonly string[]): void {
  for (const c of required)
    if (!table.columns.includes(c))
      throw new DataError(
        { file: table.file, line: 1, unit: table.kind === "parquet" ? "row" : "line" },
        c,
        `missing column "${c}" (the ${table.kind === "csv" ? "header" : "schema"} has: ${table.columns.join(", ")})`,
      );
}

/** The table files (.csv, .parquet, .jsonl, .json) directly inside a folder, sorted by name. */
export async function tableFilesIn(dir: string): Promise<string[]> {
  return filesIn(dir, (path) => tableKind(path) !== null);
}

/** Detection for a table file or a folder of them: true when every table file (at least one) is of the format. */
export async function detectTables(path: string, isFormat: (path: string) => Promise<boolean>): Promise<boolean> {
  if (await isDirectory(path)) return allMatch(await tableFilesIn(path), isFormat);
  return isFormat(path);
}

/** The file itself, or the table files inside a folder; a folder with none is an error saying what it lacks. */
export async function tableFilesOf(path: string, lacking: string): Promise<string[]> {
  if (!(await isDirectory(path))) return [path];
  const files = await tableFilesIn(path);
  if (files.length === 0) throw new DataError({ file: path, line: 1 }, null, `the folder holds no ${lacking}`);
  return files;
}
