import { readFileSync } from "node:fs";
import { UsageError } from "../data/errors.ts";

/** The text of a file the user named (`what`: "config", "providers", ...); an unreadable one is a usage error naming it. */
export function readInputFile(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${file}: ${(e as Error).message}`);
  }
}
