#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm run build`, which `npm ci` runs through `prepare`). In a source
// checkout where src/ changed after the last build (a developer or a test editing TypeScript), it runs the
// sources through tsx instead, so a stale build never answers; an installed package has no src/ and no tsx.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { distState } from "./dist-state.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (distState(root) === "current") await import("../dist/cli/main.js");
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
