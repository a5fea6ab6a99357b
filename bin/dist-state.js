// Is dist/ (the compiled CLI and library) current with src/? Plain JavaScript: it runs before anything is compiled.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Newest modification time (ms) of any file or folder under `dir` (a deleted file changes its folder's time). */
function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * "current": dist/ was built after the last change to src/ (or there is no src/, as in an installed package);
 * "stale": src/ changed since the build; "missing": never built.
 */
export function distState(root) {
  let built;
  try {
    built = statSync(join(root, "dist/cli/main.js")).mtimeMs;
  } catch {
    return "missing";
  }
  let source;
  try {
    source = newest(join(root, "src"));
  } catch {
    return "current";
  }
  return source <= built ? "current" : "stale";
}
