import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { parseReference } from '../ref/index.js';
import { type RegistryClient, RegistryDestination, RegistrySource } from '../registry/index.js';
import {
  formatPlace,
  type ImageDestination,
  type ImageSource,
  type Place,
  parsePlace,
} from '../source/index.js';
import { requiredOption } from '../util/required-option.js';
import { resolvePlaceReference } from './resolve-place-reference.js';

/** Options of {@link openSource} and {@link openDestination}. */
export interface OpenPlaceOptions {
  /**
   * The client for registry places (required for them); its `trust` (policy.json) also
   * decides whether `oci:`, `oci-archive:` and `docker-archive:` places may be read.
   */
  client?: RegistryClient;
  /** The store folder for `store:` places (default: `--store`, `$OCIPEEK_STORE`, ~/.cache). */
  storeDir?: string;
  /** Destination registries: upload in chunks of this many bytes. */
  chunkSize?: number;
  /**
   * Destinations: the image's full name when the place names none (archives record it:
   * `RepoTags`, `io.containerd.image.name`). Usually the source's `imageName`.
   */
  imageName?: string;
  /**
   * Where archives are extracted for reading, and gathered before they are written
   * (default the system temp folder).
   */
  tmpDir?: string;
  signal?: AbortSignal;
}

/**
 * The archive code (extraction, both formats), loaded only when a place is an archive:
 * the commands that read registries and the store do not pay for initialising it.
 */
const archives = () => import('../archive/index.js');

/**
 * The layout and store code, likewise loaded only when a place is a layout or the store:
 * a registry place (`inspect`, `digest` of a registry reference with no store) does not
 * initialise them (bench/ANALYSIS.md, eleventh session, h15i).
 */
const layouts = () => import('../layout/index.js');
export const stores = () => import('../store/index.js');

function needClient(options: OpenPlaceOptions): RegistryClient {
  return requiredOption(options, 'client', 'a registry place');
}

function asPlace(place: Place | string): Place {
  return typeof place === 'string' ? parsePlace(place) : place;
}

/** The tag of a full reference, for `index.json` names (`app:1.0` → `1.0`). */
function tagOf(imageName: string | undefined): string | undefined {
  if (!imageName) return undefined;
  try {
    return parseReference(imageName, { defaultTag: null }).tag;
  } catch {
    return undefined;
  }
}

/** An archive written to `-` goes to stdout, as `tar -f -` does. */
function archiveOutput(path: string): string | Writable {
  return path === '-' ? process.stdout : path;
}

/**
 * Open a place (a string as {@link parsePlace} reads it) to read an image from: a
 * registry repository, the store, an OCI layout or an archive (extracted into a temp
 * folder first). Close it after.
 */
export async function openSource(
  place: Place | string,
  options: OpenPlaceOptions = {},
): Promise<ImageSource> {
  const p = asPlace(place);
  const { signal } = options;
  // policy.json for local places, before anything is opened or extracted.
  const trust = options.client?.trust;
  if (
    trust?.verifyLocal &&
    (p.kind === 'oci' || p.kind === 'oci-archive' || p.kind === 'docker-archive')
  ) {
    await trust.verifyLocal({
      transport: p.kind,
      path: resolve(p.path),
      tag: p.kind === 'docker-archive' ? undefined : p.tag,
      description: formatPlace(p),
    });
  }
  switch (p.kind) {
    case 'registry': {
      const client = needClient(options);
      return new RegistrySource(await resolvePlaceReference(p, client, { signal }), { client });
    }
    case 'oci': {
      const { LayoutSource, OciLayout } = await layouts();
      const layout = await OciLayout.open(p.path, { signal });
      const source = new LayoutSource(layout, p.tag, {
        description: `oci:${p.path}${p.tag ? `:${p.tag}` : ''}`,
      });
      await source.rootEntry({ signal }); // fail early, and learn the recorded image name
      return source;
    }
    case 'oci-archive':
      return (await archives()).openOciArchiveSource(p.path, p.tag, options);
    case 'docker-archive':
      return (await archives()).openDockerArchiveSource(p.path, p.ref, options);
    case 'store': {
      const { Store, storeSource } = await stores();
      return storeSource(p.ref, {
        store: await Store.open(options.storeDir, { create: false, signal }),
      });
    }
  }
}

/** Open a place to copy to. The copy engine commits or aborts it. */
export async function openDestination(
  place: Place | string,
  options: OpenPlaceOptions = {},
): Promise<ImageDestination> {
  const p = asPlace(place);
  const { signal } = options;
  switch (p.kind) {
    case 'registry':
      return new RegistryDestination(p.ref, {
        client: needClient(options),
        chunkSize: options.chunkSize,
      });
    case 'oci': {
      // Someone else's layout gets the image and nothing else: the work area the copy
      // needs is removed after, unless it was there before (an ocipeek store).
      const { hasWorkArea, Store, StoreDestination } = await stores();
      const removeWorkArea = !(await hasWorkArea(p.path));
      const store = await Store.open(p.path, { signal });
      return new StoreDestination(
        store,
        { kind: 'tag', tag: p.tag },
        `oci:${p.path}${p.tag ? `:${p.tag}` : ''}`,
        { removeWorkArea },
      );
    }
    case 'oci-archive':
      return (await archives()).OciArchiveDestination.create(
        archiveOutput(p.path),
        p.tag ?? tagOf(options.imageName),
        {
          imageName: options.imageName,
          tmpDir: options.tmpDir,
          signal,
        },
      );
    case 'docker-archive': {
      const name = p.ref ?? options.imageName;
      return (await archives()).DockerArchiveDestination.create(
        archiveOutput(p.path),
        name ? [name] : [],
        { tmpDir: options.tmpDir },
      );
    }
    case 'store': {
      const { Store, StoreDestination } = await stores();
      const store = await Store.open(options.storeDir, { signal });
      return new StoreDestination(store, { kind: 'reference', ref: p.ref }, `store:${p.ref}`);
    }
  }
}
