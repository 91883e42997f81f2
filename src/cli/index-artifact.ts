import { publishReferrer } from '../artifact/index.js';
import type { Descriptor } from '../media/index.js';
import { openDestination } from '../places/index.js';
import { parseReference } from '../ref/index.js';
import type { ImageDestination, OpenedImage } from '../source/index.js';
import { parsePlace } from '../source/index.js';
import type { CliContext } from './context.js';

/** The flags of `ocipeek index`. */
export interface IndexFlags {
  format?: string;
  span?: number;
  compressedSpan?: number;
  minLayerSize?: number;
  push?: boolean;
  output?: string;
  json?: boolean;
}

/** Where an index artifact went: the repository or place, and how referrers list it. */
export interface WrittenIndex {
  target: string;
  referrers: 'api' | 'tag' | undefined;
}

/**
 * Write an index artifact (built for `image`, named `digest`, listed as `descriptor`)
 * where the flags say: with `--push` into the image's repository by its own digest,
 * untagged, then listed as a referrer of the image (the referrers tag when the registry
 * has no referrers API); with `-o PLACE` into that place.
 */
export async function writeIndexArtifact(
  ctx: CliContext,
  image: OpenedImage,
  opts: IndexFlags,
  artifact: { digest: string; descriptor: Descriptor },
  write: (destination: ImageDestination) => Promise<string>,
): Promise<WrittenIndex> {
  const open = (place: Parameters<typeof openDestination>[0]) =>
    openDestination(place, { client: ctx.client, storeDir: ctx.options.store, signal: ctx.signal });
  if (!opts.push) {
    await write(await open(opts.output!));
    return { target: opts.output!, referrers: undefined };
  }
  const ref = parseReference(image.imageName ?? image.name);
  // Pushed by its own digest, untagged: it is found through its subject.
  const untagged = parseReference(`${ref.name}@${artifact.digest}`);
  await write(await open(parsePlace(untagged.toString())));
  const referrers = await publishReferrer(
    ctx.client,
    ref,
    image.manifestDigest,
    artifact.descriptor,
    { signal: ctx.signal },
  );
  return { target: ref.name, referrers };
}
