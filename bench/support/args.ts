/** Command-line flags of the bench scripts (`--name value`); each bench names its flags in its header. */

/** A numeric command-line flag (`--name 3`), or its default. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** A string command-line flag (`--name value`), or null. */
export function stringArg(name: string): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}
