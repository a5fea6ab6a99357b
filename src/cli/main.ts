import { Command } from "commander";
import { DataError, UsageError } from "../data/errors.ts";
import { registerCommands } from "./commands/index.ts";

const program = new Command();
program
  .name("fusionkit")
  .description("Fuse many LLMs into one better, cheaper system by learning from routing data.")
  .version("0.1.0")
  .showHelpAfterError();
await registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof DataError || e instanceof UsageError) {
    process.stderr.write(`fusionkit: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
