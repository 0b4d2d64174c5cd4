// Argument handling every command line shares: a negative number after a flag is that flag's value (node's parseArgs
// would take "-1" for an option and answer with its own three-line message instead of the flag's check).

/** `--flag -1` -> `--flag=-1` (a negative number only: `--flag -x` stays an option). */
export function joinNegativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (/^--[^=]+$/.test(args[i]) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}
