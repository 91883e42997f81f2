import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, isOcipeekError } from '../errors/index.js';
import { type OpenPlaceImageOptions, openPlaceSource, type SourceChoice } from '../places/index.js';
import { type ImageSource, parsePlace } from '../source/index.js';
import type { Store } from '../store/index.js';
import { defaultStorePath } from '../store/store-path.js';
import { type CliContext, contextFor } from './context.js';
import { atExit } from './run-state.js';

/**
 * True when nothing is at `path` (ENOENT), known with one synchronous stat; any other
 * outcome, errors included (EACCES, ENOTDIR), is left to `Store.open` to judge and report.
 */
function nothingAt(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

/** The store if one exists at the configured place (filesystem commands never create it). */
export async function existingStore(ctx: CliContext): Promise<Store | undefined> {
  // Store.open would find a missing store with a readdir through libuv's thread pool, and
  // for `digest`, `inspect` or `tags` without a store that alone started the pool's
  // threads (bench/ANALYSIS.md).
  if (nothingAt(defaultStorePath({ explicit: ctx.options.store }))) return undefined;
  // The store's code is loaded only when there is a store: a registry command without one
  // does not initialise it (bench/ANALYSIS.md, eleventh session, h15i).
  const { Store } = await import('../store/index.js');
  try {
    return await Store.open(ctx.options.store, { create: false });
  } catch (err) {
    if (isOcipeekError(err, 'ERR_NOT_FOUND')) return undefined;
    throw err;
  }
}

/**
 * How a bare reference is read (`--offline`, `--remote`; by default a stored tag is
 * checked with one HEAD), and what is said about it: `--verbose` names the source; a
 * registry that could not be asked is always a warning, since the answer may be stale.
 */
export function sourcePolicy(
  ctx: CliContext,
  refreshStore: boolean,
): Pick<OpenPlaceImageOptions, 'policy' | 'onSource' | 'refreshStore'> {
  const { offline, remote, verbose } = ctx.options;
  if (offline && remote) throw new InvalidArgumentError('use one of --offline and --remote');
  return {
    policy: offline ? 'never' : remote ? 'always' : 'newer',
    refreshStore,
    onSource: (choice) => {
      const line = describeSource(choice);
      if (choice.reason === 'registry-failed' || choice.error) {
        process.stderr.write(`warning: ${line}\n`);
      } else if (verbose) process.stderr.write(`source: ${line}\n`);
    },
  };
}

/** One line saying where an image is read from and why. */
export function describeSource(choice: SourceChoice): string {
  switch (choice.reason) {
    case 'not-stored':
      return 'registry (not in the store)';
    case 'partial':
      return 'registry (the store holds only some platforms of the index)';
    case 'stored':
      return 'store';
    case 'tag-current':
      return `store (the registry still serves ${choice.digest} for the tag)`;
    case 'tag-moved':
      if (choice.storeUpdated) return `store (the tag moved to ${choice.digest}; pulled it)`;
      return choice.error
        ? `registry (the tag moved to ${choice.digest}; the store could not be updated: ${choice.error.message.split('\n')[0]})`
        : `registry (the tag moved to ${choice.digest}; the store's copy is older)`;
    case 'registry-failed': {
      const checked = choice.checkedAt
        ? `tag last checked at ${choice.checkedAt.toISOString()}`
        : 'tag never checked';
      const why = choice.error?.message.split('\n')[0] ?? 'unknown error';
      return `reading from the store, ${checked}: the registry could not be asked (${why})`;
    }
    case 'offline':
      return 'store (--offline)';
    case 'remote':
      return 'registry';
  }
}

/**
 * The place `placeArg` names as a source: a bare reference is read from the store when
 * the store holds it, as {@link openCliImage} does. A stored tag that moved is read from
 * the registry, and the store left as it is, unless `refreshStore` (commands that go on
 * to read every layer, as `export` does): commands that read manifests and configs only
 * (`inspect`, `digest`, `manifest`, `config`, `history`) download no layer. Closed when
 * the run ends.
 */
export async function openCliSource(
  cmd: Command,
  placeArg: string,
  options: Pick<OpenPlaceImageOptions, 'refreshStore' | 'wholeIndex'> = {},
): Promise<ImageSource> {
  const ctx = await contextFor(cmd);
  const source = await openPlaceSource(parsePlace(placeArg), {
    client: ctx.client,
    storeDir: ctx.options.store,
    store: await existingStore(ctx),
    platform: ctx.platform,
    signal: ctx.signal,
    wholeIndex: options.wholeIndex,
    ...sourcePolicy(ctx, options.refreshStore ?? false),
  });
  atExit(() => source.close());
  if (ctx.islet && source.kind !== 'registry') await ctx.islet.verifySource(source, ctx.signal);
  return source;
}
