import {
  type CopyImageOptions,
  type CopyProgress,
  type CopyResult,
  copyImage,
} from '../copy/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { LayoutSource } from '../layout/index.js';
import type { Platform } from '../media/index.js';
import { type OpenPlaceOptions, openDestination } from '../places/index.js';
import { parsePlatform } from '../platform/index.js';
import {
  type ImageDestination,
  type ImageSource,
  type Place,
  parsePlace,
} from '../source/index.js';
import { partialIndexOf } from '../store/partial-index.js';
import type { CliContext } from './context.js';
import { formatBytes, printJson, printList } from './format.js';
import { createPullProgress } from './pull-progress.js';

/** The platform options `copy`, `export` and `import` share. */
export interface PlatformFlags {
  allPlatforms?: boolean;
  /** Comma-separated list: keep these in a rewritten index. */
  platforms?: string;
}

/** Turn the flags and the global `--platform` into {@link CopyImageOptions}. */
export function platformOptions(
  ctx: CliContext,
  flags: PlatformFlags,
  defaultAll = false,
): Pick<CopyImageOptions, 'platform' | 'platforms' | 'allPlatforms'> {
  const chosen = [flags.allPlatforms, flags.platforms, ctx.platform].filter(Boolean).length;
  if (chosen > 1) {
    throw new InvalidArgumentError('use one of --platform, --platforms and --all-platforms');
  }
  if (flags.platforms) {
    const platforms: Platform[] = flags.platforms.split(',').map((p) => parsePlatform(p));
    return { platforms };
  }
  if (ctx.platform) return { platform: ctx.platform };
  return { allPlatforms: flags.allPlatforms ?? defaultAll };
}

/**
 * Open `to` as the destination (named after the source's image unless `options.open`
 * says otherwise), copy with progress bars on a TTY (the pull renderer, fed the same
 * events), close the source whatever happens, and print the result (JSON with `--json`).
 */
export async function runCopy(
  ctx: CliContext,
  source: ImageSource,
  to: Place | string,
  options: CopyImageOptions & { json?: boolean; verb?: string; open?: OpenPlaceOptions },
): Promise<CopyResult> {
  let destination: ImageDestination;
  try {
    destination = await openDestination(to, {
      client: ctx.client,
      storeDir: ctx.options.store,
      imageName: source.imageName,
      signal: ctx.signal,
      ...options.open,
    });
  } catch (err) {
    await source.close();
    throw err;
  }
  await warnPartial(source, options);
  const progress = await createPullProgress();
  const onProgress = progress
    ? (e: CopyProgress) => {
        if (e.state === 'started') progress.onProgress({ type: 'blob-start', ...e });
        else if (e.state === 'progress') {
          progress.onProgress({
            type: 'blob-progress',
            digest: e.digest,
            bytes: e.bytes,
            size: e.size,
          });
        } else if (e.state === 'done') {
          progress.onProgress({
            type: 'blob-done',
            digest: e.digest,
            size: e.size,
            fetched: true,
            bytesTransferred: e.bytes,
          });
        }
      }
    : undefined;
  let result: CopyResult;
  try {
    result = await copyImage(source, destination, { ...options, onProgress, signal: ctx.signal });
  } finally {
    progress?.stop();
    await source.close();
  }
  // An archive written to stdout owns it: the report goes to stderr, so the tar stays whole.
  const out = writesStdout(to) ? process.stderr : process.stdout;
  if (options.json || ctx.options.json) {
    printJson({ source: source.description, destination: destination.description, ...result }, out);
  } else {
    const { copied, skipped, mounted } = result.blobs;
    const converted =
      result.digest !== result.sourceDigest ? ` (converted from ${result.sourceDigest})` : '';
    printList(
      [
        `${options.verb ?? 'copied'} ${source.description} -> ${destination.description}`,
        `digest: ${result.digest}${converted}`,
        `blobs: ${copied} copied (${formatBytes(result.bytesCopied)}), ${skipped} already there, ${mounted} mounted`,
      ],
      out,
    );
  }
  return result;
}

/** An archive place whose path is `-` (`openDestination` writes it to stdout). */
function writesStdout(to: Place | string): boolean {
  const place = typeof to === 'string' ? parsePlace(to) : to;
  return (place.kind === 'oci-archive' || place.kind === 'docker-archive') && place.path === '-';
}

/**
 * `--all-platforms` from a stored index cut to the platforms pulled copies only those:
 * said, since the result is not the registry's index (its digest differs).
 */
async function warnPartial(source: ImageSource, options: CopyImageOptions): Promise<void> {
  if (!options.allPlatforms || !(source instanceof LayoutSource) || source.kind !== 'store') return;
  const of = partialIndexOf(await source.rootEntry({ signal: options.signal }));
  if (!of) return;
  process.stderr.write(
    `warning: ${source.description} holds only the platforms pulled of ${of} (pull it with --all-platforms for every one)\n`,
  );
}
