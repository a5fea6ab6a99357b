import type { Command } from "commander";
import { registerExport } from "./export.ts";
import { registerImport } from "./import.ts";
import { registerSplit } from "./split.ts";
import { registerStats } from "./stats.ts";

/** Every subcommand lives in its own file and registers itself here. */
export function registerCommands(program: Command): void {
  registerImport(program);
  registerExport(program);
  registerSplit(program);
  registerStats(program);
}
