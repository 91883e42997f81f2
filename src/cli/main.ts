import { Command, CommanderError } from 'commander';
import { COMMANDS, commandNameOf } from './command-name.js';
import { wantsVerbose } from './command-word.js';
import { describeError, exitCodeFor } from './errors.js';
import { addGlobalOptions, SIGNATURE_POLICY_HINT } from './global-options.js';
import { abortRun, existingContext, failureExitCode, runCleanups } from './run-state.js';
import { failIfRunEndsUnfinished } from './unfinished-run.js';
import { VERSION } from './version.js';

/**
 * Build the `ocipeek` command tree (exported for tests and embedding). With `only`, just
 * that command is registered (none for `''`); without, all of them (for help and unknown
 * commands).
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('ocipeek')
    .description('Inspect, read and pull OCI container images without a container runtime')
    .version(VERSION, '--version', 'print the version')
    // Help is --help only: -h is ls's human-readable sizes, as in ls.
    .helpOption('--help', 'show help')
    // Usage mistakes are printed by main() as one line (see usageLine).
    .configureOutput({ outputError: () => {} })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true });
  addGlobalOptions(program);
  const loaders = only === undefined ? Object.values(COMMANDS) : only ? [COMMANDS[only]!] : [];
  // A module may register several commands (login and logout): register each module once.
  const registers = new Set(await Promise.all(loaders.map((load) => load())));
  for (const register of registers) register(program);
  return program;
}

/**
 * Usage mistakes exit 2, except where a caller expects the exit code of the tool ocipeek
 * stands in for: container-image-proxy exits 1 on a missing or bad IMAGE.
 */
const USAGE_EXIT_CODE: Readonly<Record<string, number>> = { proxy: 1 };

/** Commander's ways of ending a run that are not mistakes. */
const NOT_USAGE_ERRORS = new Set([
  'commander.helpDisplayed',
  'commander.help',
  'commander.version',
]);

/**
 * A usage mistake as one line naming the help to read: commander's message without its
 * `error: ` prefix, its suggestion (`Did you mean …?`) joined to the line.
 */
export function usageLine(err: CommanderError, command: string | undefined): string {
  const text = err.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim().replace(/^\((.*)\)$/, '$1'))
    .filter(Boolean)
    .join('; ');
  // skopeo's global `--policy FILE` is ocipeek's (and podman's) `--signature-policy FILE`.
  const hint =
    err.code === 'commander.unknownOption' && /'--policy'/.test(err.message)
      ? `; ${SIGNATURE_POLICY_HINT}; --policy is pull's pull policy, as podman's`
      : '';
  return `ocipeek: ${text}${hint} (see "ocipeek ${command ? `${command} ` : ''}--help")`;
}

/** `ocipeek cat … | head`: a reader that stops early is not an error. */
function isClosedPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'EPIPE';
}

async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (err) => {
    if (isClosedPipe(err)) process.exit(0);
  });
  const args = argv.slice(2);
  const name = commandNameOf(args);
  // `ocipeek --version` needs no command at all.
  const wantsVersionOnly = !name && args.includes('--version') && !args.includes('--help');
  const program = await buildProgram(wantsVersionOnly ? '' : name);
  // Commands were registered before this: each needs its own override, so that a usage
  // mistake reaches the catch below instead of exiting inside commander.
  for (const command of [program, ...program.commands]) command.exitOverride();
  // Shells report a run killed by signal N as 128 + N; an interrupted run says so in one
  // line instead of passing the abort off as an unexpected error.
  let interrupted: { line: string; code: number } | undefined;
  for (const [sig, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
  ] as const) {
    process.once(sig, () => {
      interrupted ??= { line: `interrupted by ${sig}`, code: 128 + number };
      abortRun(interrupted.line);
    });
  }
  let code = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (interrupted) {
      process.stderr.write(`ocipeek: ${interrupted.line}\n`);
      code = interrupted.code;
    } else if (isClosedPipe(err)) {
      code = 0;
    } else if (err instanceof CommanderError) {
      if (NOT_USAGE_ERRORS.has(err.code)) code = err.exitCode;
      else {
        process.stderr.write(`${usageLine(err, name)}\n`);
        code = (name && USAGE_EXIT_CODE[name]) || 2;
      }
    } else {
      process.stderr.write(`ocipeek: ${describeError(err, wantsVerbose(args))}\n`);
      code = exitCodeFor(err);
      if (code === 1) code = failureExitCode();
    }
  }
  await runCleanups();
  // A command may end with a status that is not a failure (diff: 1 when images differ).
  if (code === 0 && typeof process.exitCode === 'number') code = process.exitCode;
  const ctx = existingContext();
  if (ctx) {
    if (ctx.options.stats) process.stderr.write(`${ctx.client.stats.toString()}\n`);
    await ctx.client.close().catch(() => {});
  }
  return code;
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

const finished = failIfRunEndsUnfinished();

// No top-level await: the executable runs this module as CommonJS (cli/launch.ts).
void main(process.argv).then(async (code) => {
  finished.done = true;
  // Exit as soon as the output is out: a timer or a connection some library left behind
  // must not keep a finished run alive.
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
});
