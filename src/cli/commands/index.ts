import type { Command } from "commander";
import { registerCollect } from "./collect.ts";
import { registerDemo } from "./demo.ts";
import { registerDistill } from "./distill.ts";
import { registerEval } from "./eval.ts";
import { registerExport } from "./export.ts";
import { registerImport } from "./import.ts";
import { registerJudge } from "./judge.ts";
import { registerKeys } from "./keys.ts";
import { registerRoute } from "./route.ts";
import { registerServe } from "./serve.ts";
import { registerSplit } from "./split.ts";
import { registerStats } from "./stats.ts";
import { registerThought } from "./thought.ts";
import { registerTrain } from "./train.ts";

/** Every subcommand lives in its own file and registers itself here. */
export function registerCommands(program: Command): void {
  registerImport(program);
  registerExport(program);
  registerDistill(program);
  registerSplit(program);
  registerStats(program);
  registerTrain(program);
  registerRoute(program);
  registerEval(program);
  registerDemo(program);
  registerThought(program);
  registerServe(program);
  registerKeys(program);
  registerCollect(program);
  registerJudge(program);
}
