/** Global options that take a value, so the word after them is not the command name. */
const VALUE_OPTIONS = new Set([
  '--platform',
  '--authfile',
  '--username',
  '--ca-file',
  '--cert',
  '--key',
  '--store',
  '--timeout',
  '--retries',
  '--tls',
  '--root-ca',
  '--token',
  '--islet-root-ca',
  '--registries-conf',
  '--registries-conf-dir',
  '--signature-policy',
  '--registries.d',
]);
const BOOLEAN_WORDS = new Set(['true', 'false', '1', '0', 'yes', 'no']);

/**
 * The first word of the command line that is not an option or an option's value: the
 * command, if the line names one. Kept apart from the table of commands so the
 * executable's launcher can use it without loading any command.
 */
export function commandWordOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return undefined;
    if (arg.startsWith('-')) {
      if (VALUE_OPTIONS.has(arg)) i++;
      else if (arg === '--tls-verify' && BOOLEAN_WORDS.has(args[i + 1] ?? '')) i++;
      continue;
    }
    return arg;
  }
  return undefined;
}

/**
 * Whether the command line asks for verbose output (`--verbose`, `-v`): then an error is
 * printed with its stack trace (cli/main.ts), and the launcher runs the full bundle, whose
 * function and error names are not minified (cli/launch.ts). One test for both, so a run
 * that prints a stack trace is always one that kept the names.
 */
export function wantsVerbose(args: readonly string[]): boolean {
  return args.includes('--verbose') || args.includes('-v');
}
