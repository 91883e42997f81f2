#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerBlob } from './commands/blob.js';
import { registerCatalog } from './commands/catalog.js';
import { registerConfig } from './commands/config.js';
import { registerDigest } from './commands/digest.js';
import { registerHistory } from './commands/history.js';
import { registerInspect } from './commands/inspect.js';
import { registerLogin } from './commands/login.js';
import { registerManifest } from './commands/manifest.js';
import { registerReferrers } from './commands/referrers.js';
import { registerServe } from './commands/serve.js';
import { registerTags } from './commands/tags.js';
import { abortRun, existingContext } from './context.js';
import { describeError, exitCodeFor } from './errors.js';
import { addGlobalOptions } from './global-options.js';
import { VERSION } from './version.js';

/** Build the `ocipeek` command tree (exported for tests and embedding). */
export function buildProgram(): Command {
  const program = new Command('ocipeek')
    .description('Inspect, read and pull OCI container images without a container runtime')
    .version(VERSION, '--version', 'print the version')
    .showHelpAfterError('(run "ocipeek help COMMAND" for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true });
  addGlobalOptions(program);
  registerInspect(program);
  registerManifest(program);
  registerConfig(program);
  registerHistory(program);
  registerDigest(program);
  registerTags(program);
  registerCatalog(program);
  registerReferrers(program);
  registerBlob(program);
  registerLogin(program);
  registerServe(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      abortRun(`interrupted by ${sig}`);
      process.exitCode = 130;
    });
  }
  let code = 0;
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.exitCode;
    } else {
      const verbose = argv.includes('--verbose') || argv.includes('-v');
      process.stderr.write(`ocipeek: ${describeError(err, verbose)}\n`);
      code = exitCodeFor(err);
    }
  }
  const ctx = existingContext();
  if (ctx) {
    if (ctx.options.stats) process.stderr.write(`${ctx.client.stats.toString()}\n`);
    await ctx.client.close().catch(() => {});
  }
  return code;
}

process.exitCode = await main(process.argv);
