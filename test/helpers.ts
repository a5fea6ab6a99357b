import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** ../shared when this checkout sits beside it (sessions); null on a CI machine without it. */
export const SHARED: string | null = (() => {
  const p = resolve(import.meta.dirname, "../../shared");
  return existsSync(join(p, "README.md")) ? p : null;
})();

export const REPO = resolve(import.meta.dirname, "..");

/** A fresh store path in its own temporary directory. */
export function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), "fusionkit-test-")), "store.db");
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "fusionkit-test-"));
}
