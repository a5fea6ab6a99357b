import { Command } from "commander";
import { CommandFailure, DataError, UsageError } from "../data/errors.ts";
import { FUSIONKIT_VERSION } from "../version.ts";
import { registerCommands } from "./commands/index.ts";

const program = new Command();
program
  .name("fusionkit")
  .description("Fuse many LLMs into one better, cheaper system by learning from routing data.")
  .version(FUSIONKIT_VERSION)
  .showHelpAfterError();
await registerCommands(program);

/** File-system errors come from paths the user gave: report them like bad input, not as a crash. */
const USER_FS_ERRORS = new Set(["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "EEXIST", "EROFS"]);

// Output piped into a reader that stops early (`fusionkit stats | head`) is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof DataError || err instanceof UsageError || (code && USER_FS_ERRORS.has(code))) {
    process.stderr.write(`fusionkit: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof CommandFailure) {
    process.stderr.write(`fusionkit: ${err.message}\n`);
    process.exit(1);
  }
  // Anything else is a fault of FusionKit itself: one clean line; the stack only on request.
  process.stderr.write(
    process.env.FUSIONKIT_DEBUG
      ? `fusionkit: internal error: ${err.stack ?? err.message}\n`
      : `fusionkit: internal error: ${err.message} (set FUSIONKIT_DEBUG=1 for the stack trace)\n`,
  );
  process.exit(1);
}
