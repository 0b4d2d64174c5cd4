// What every command line shares: a negative number after a flag is that flag's value (node's parseArgs would take
// "-1" for an option and answer with its own three-line message instead of the flag's check), a failure printed as
// one line (JSON under --json), and running a module's main only when it is the program Node started.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

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

/** A command's failure as one line: `{"error": ...}` on stdout under --json, else `prefix` and the message on stderr. */
export function reportFailure(e: unknown, prefix = ''): void {
  const message = e instanceof Error ? e.message : String(e);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ error: message }));
  else console.error(`${prefix}${message}`);
}

/** Runs `main` when the module at `url` (its import.meta.url) is the program Node started, not when a test imports
 * it; a failure is reported by reportFailure and sets exit code 1. */
export function runIfMain(url: string, main: () => Promise<void>, prefix = ''): void {
  const entry = process.argv[1];
  let isMain = false;
  try {
    isMain = entry !== undefined && url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    isMain = false;
  }
  if (!isMain) return;
  main().catch((e: unknown) => {
    reportFailure(e, prefix);
    process.exitCode = 1;
  });
}
