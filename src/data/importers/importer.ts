import type { ParsedBatch } from "../types.ts";

export interface ImportOptions {
  /** Dataset name stored on each query; defaults to the importer's choice (usually the folder or file name). */
  dataset?: string;
  /** Called now and then while parsing large inputs. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * One importer per source format. `detect` answers whether a path is confidently in this format
 * (used when --format is not given); `parse` reads it fully into a ParsedBatch without touching the store.
 */
export interface Importer {
  readonly format: string;
  readonly description: string;
  detect(path: string): Promise<boolean>;
  parse(path: string, options: ImportOptions): Promise<ParsedBatch>;
}
