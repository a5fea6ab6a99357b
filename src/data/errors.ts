import type { SourceLoc } from "./types.ts";

/** "file:line 12" / "file:row 3": how every message names a place in an input file. */
export function placeOf(loc: SourceLoc): string {
  return `${loc.file}:${loc.unit ?? "line"} ${loc.line}`;
}

/** A bad input record: the message always names file, line/row and field. */
export class DataError extends Error {
  readonly loc: SourceLoc | null;
  readonly field: string | null;
  constructor(loc: SourceLoc | null, field: string | null, problem: string) {
    super(DataError.format(loc, field, problem));
    this.name = "DataError";
    this.loc = loc;
    this.field = field;
  }
  static format(loc: SourceLoc | null, field: string | null, problem: string): string {
    const where = loc ? placeOf(loc) : "";
    const what = field ? `field "${field}"` : "";
    return [where, what].filter(Boolean).join(", ") + (where || what ? ": " : "") + problem;
  }
}

/** A usage error (bad flag, unknown format): printed without a stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A command that ran but could not do its job (e.g. every model call failed): exit 1, printed without a stack trace. */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandFailure";
  }
}
