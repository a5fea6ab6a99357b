/** Command-line flags of the bench scripts (`--name value`, `--switch`); each bench names its flags in its header. */

/** A numeric command-line flag (`--name 3`), or its default; a value that is not a number is an error naming the flag. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const value = process.argv[i + 1];
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n))
    throw new Error(`${name} needs a number, got ${value === undefined ? "nothing" : `"${value}"`}`);
  return n;
}

/** A string command-line flag (`--name value`), or its default (null when none is given). */
export function stringArg(name: string): string | null;
export function stringArg(name: string, dflt: string): string;
export function stringArg(name: string, dflt: string | null = null): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

/** A switch (`--name`, no value): whether it is given. */
export function flagArg(name: string): boolean {
  return process.argv.includes(name);
}
