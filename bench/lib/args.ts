/** The benchmark scripts' options: `--name value` after `npx tsx bench/<script>.ts`. */

/** The value after `name` on the command line, or `fallback` when it is not there. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** The same, as a number. */
export function numberArg(name: string, fallback: number): number {
  return Number(arg(name, String(fallback)));
}
