#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerBlob } from './commands/blob.js';
import { registerCat } from './commands/cat.js';
import { registerCatalog } from './commands/catalog.js';
import { registerConfig } from './commands/config.js';
import { registerConvert } from './commands/convert.js';
import { registerCopy } from './commands/copy.js';
import { registerDiff } from './commands/diff.js';
import { registerDigest } from './commands/digest.js';
import { registerExport } from './commands/export.js';
import { registerFind } from './commands/find.js';
import { registerHistory } from './commands/history.js';
import { registerImages } from './commands/images.js';
import { registerImport } from './commands/import.js';
import { registerInspect } from './commands/inspect.js';
import { registerLayers } from './commands/layers.js';
import { registerLogin } from './commands/login.js';
import { registerLs } from './commands/ls.js';
import { registerManifest } from './commands/manifest.js';
import { registerPeek } from './commands/peek.js';
import { registerPrune } from './commands/prune.js';
import { registerPull } from './commands/pull.js';
import { registerReferrers } from './commands/referrers.js';
import { registerRmi } from './commands/rmi.js';
import { registerServe } from './commands/serve.js';
import { registerStat } from './commands/stat.js';
import { registerTags } from './commands/tags.js';
import { registerTree } from './commands/tree.js';
import { registerUnpack } from './commands/unpack.js';
import { registerWasm } from './commands/wasm.js';
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
  registerLs(program);
  registerPeek(program);
  registerTree(program);
  registerStat(program);
  registerCat(program);
  registerFind(program);
  registerLayers(program);
  registerDiff(program);
  registerUnpack(program);
  registerPull(program);
  registerImages(program);
  registerRmi(program);
  registerPrune(program);
  registerCopy(program);
  registerConvert(program);
  registerExport(program);
  registerImport(program);
  registerWasm(program);
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
