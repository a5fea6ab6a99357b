import type { Command } from "commander";
import { registerImport } from "./import.ts";
import { registerSplit } from "./split.ts";
import { registerStats } from "./stats.ts";

/** Every subcommand lives in its own file and registers itself here. */
export function registerCommands(program: Command): void {
  registerImport(program);
  registerSplit(program);
  registerStats(program);
}
