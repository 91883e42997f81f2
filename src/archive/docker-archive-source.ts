import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestOf, VerifyingStream } from '../digest/index.js';
import {
  InvalidArgumentError,
  InvalidManifestError,
  NotFoundError,
  TooLargeError,
} from '../errors/index.js';
import { LayoutSource, OciLayout, walkManifests } from '../layout/index.js';
import { type Descriptor, type ImageManifest, isIndex, MediaType } from '../media/index.js';
import { parseReference } from '../ref/index.js';
import type { ImageSource, ManifestBytes, OpenSourceBlobOptions } from '../source/index.js';
import { openExtracted, safeEntryPath } from './extract-archive.js';
import type { OpenArchiveOptions } from './oci-archive.js';

/** One image of a `docker save` archive's `manifest.json`. */
export interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const MAX_JSON_BYTES = 64 * 1024 * 1024;
const BLOB_PATH = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/;

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw new InvalidManifestError(`docker archive has no ${what}`);
  }
  if (info.size > MAX_JSON_BYTES) throw new TooLargeError(what, MAX_JSON_BYTES);
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new InvalidManifestError(`docker archive: ${what} is not valid JSON`, { cause });
  }
}

/** Same image name whichever way it is written (`alpine` = `docker.io/library/alpine:latest`). */
function sameName(a: string, b: string): boolean {
  try {
    return parseReference(a).toString() === parseReference(b).toString();
  } catch {
    return a === b;
  }
}

/**
 * The entry of `manifest.json` that `ref` names: a RepoTag, `@N` (the N-th image, as
 * skopeo spells it), or nothing when the archive holds one image.
 */
export function pickEntry(
  entries: DockerArchiveEntry[],
  ref: string | undefined,
  file: string,
): DockerArchiveEntry {
  if (entries.length === 0)
    throw new InvalidManifestError(`${file}: manifest.json lists no images`);
  if (ref === undefined) {
    if (entries.length === 1) return entries[0]!;
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new InvalidArgumentError(
      `${file} holds ${entries.length} images; name one (docker-archive:${file}:REF, or :@N) of ${tags.join(', ') || 'untagged images'}`,
    );
  }
  const index = /^@(\d+)$/.exec(ref);
  if (index) {
    const entry = entries[Number(index[1])];
    if (!entry) throw new NotFoundError(`${file} has no image @${index[1]}`);
    return entry;
  }
  const found = entries.find((e) => (e.RepoTags ?? []).some((t) => sameName(t, ref)));
  if (!found) throw new NotFoundError(`${file} has no image tagged ${ref}`);
  return found;
}

function checkEntries(value: unknown, file: string): DockerArchiveEntry[] {
  if (!Array.isArray(value)) throw new InvalidManifestError(`${file}: manifest.json is not a list`);
  for (const e of value as DockerArchiveEntry[]) {
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers)) {
      throw new InvalidManifestError(`${file}: manifest.json entry without Config or Layers`);
    }
  }
  return value as DockerArchiveEntry[];
}

async function layerMediaType(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return MediaType.ociLayerGzip;
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return MediaType.ociLayerZstd;
    return MediaType.ociLayer;
  } finally {
    await handle.close();
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createDigester('sha256');
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest('hex')}`;
}

/** An image built from a legacy `docker save` entry: one manifest, files by digest. */
class SynthesizedSource implements ImageSource {
  readonly kind = 'docker-archive';
  readonly description: string;
  readonly imageName?: string;

  constructor(
    private readonly rootManifest: ManifestBytes,
    private readonly files: Map<string, string>,
    description: string,
    imageName: string | undefined,
    private cleanup: () => Promise<void>,
  ) {
    this.description = description;
    this.imageName = imageName;
  }

  async resolve(): Promise<Descriptor> {
    const { mediaType, digest, bytes } = this.rootManifest;
    return { mediaType, digest, size: bytes.length };
  }

  async root(): Promise<ManifestBytes> {
    return this.rootManifest;
  }

  async manifest(desc: Descriptor): Promise<ManifestBytes> {
    if (desc.digest === this.rootManifest.digest) return this.rootManifest;
    throw new NotFoundError(`${this.description} has no manifest ${desc.digest}`);
  }

  async openBlob(desc: Descriptor, options: OpenSourceBlobOptions = {}): Promise<Readable> {
    const path = this.files.get(desc.digest);
    if (!path) throw new NotFoundError(`${this.description} has no blob ${desc.digest}`);
    const { offset, signal } = options;
    if (offset) return createReadStream(path, { start: offset, signal });
    const verify = new VerifyingStream({ digest: desc.digest, size: desc.size });
    const file = createReadStream(path, { signal });
    file.on('error', (err) => verify.destroy(err));
    return file.pipe(verify);
  }

  close(): Promise<void> {
    const cleanup = this.cleanup;
    this.cleanup = async () => {};
    return cleanup();
  }
}

/**
 * Open `docker-archive:FILE[:REF]` as a copy source. Both forms `docker save` writes are
 * read: the legacy one (`<id>/layer.tar`, `<id>.json`) and the OCI-layout one newer Docker
 * writes (`blobs/sha256/…` with `index.json`). When the archive carries an OCI manifest
 * for the image, that manifest is used as is (digests preserved); otherwise an OCI
 * manifest is built from `manifest.json`, the config file and the layer files
 * (uncompressed layers stay uncompressed). The archive is extracted safely into a temp
 * folder that `close()` removes.
 */
export async function openDockerArchiveSource(
  file: string,
  ref: string | undefined,
  options: OpenArchiveOptions = {},
): Promise<ImageSource> {
  return openExtracted(file, 'ocipeek-docker-archive-', options, (dir, cleanup) =>
    dockerArchiveFromDir(dir, file, ref, cleanup, options),
  );
}

/** {@link openDockerArchiveSource} over an archive already extracted into `dir`. */
export async function dockerArchiveFromDir(
  dir: string,
  file: string,
  ref: string | undefined,
  cleanup: () => Promise<void>,
  options: OpenArchiveOptions = {},
): Promise<ImageSource> {
  const entries = checkEntries(
    await readJsonFile(join(dir, 'manifest.json'), 'manifest.json'),
    file,
  );
  const entry = pickEntry(entries, ref, file);
  const description = `docker-archive:${file}${ref ? `:${ref}` : ''}`;
  const imageName = ref && !ref.startsWith('@') ? ref : (entry.RepoTags ?? [])[0];
  const configPath = join(dir, safeEntryPath(entry.Config, file));
  const configBytes = await readFile(configPath).catch(() => {
    throw new InvalidManifestError(`${file}: config ${entry.Config} is missing`);
  });
  const configDigest = digestOf(configBytes);

  const fromLayout = await ociManifestFor(dir, configDigest, options);
  if (fromLayout) {
    const source = new LayoutSource(fromLayout.layout, undefined, {
      kind: 'docker-archive',
      description,
      onClose: cleanup,
      resolve: async () => fromLayout.descriptor,
    });
    source.imageName = imageName;
    return source;
  }

  const files = new Map<string, string>([[configDigest, configPath]]);
  const layers: Descriptor[] = [];
  for (const name of entry.Layers) {
    const rel = safeEntryPath(name, file);
    const path = join(dir, rel);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new InvalidManifestError(`${file}: layer ${name} is missing`);
    const m = BLOB_PATH.exec(rel);
    // Blob paths name their digest; openBlob verifies it as the bytes stream.
    const digest = m ? `${m[1]}:${m[2]}` : await hashFile(path);
    files.set(digest, path);
    layers.push({ mediaType: await layerMediaType(path), digest, size: info.size });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  const root = { bytes, mediaType: MediaType.ociManifest, digest: digestOf(bytes) };
  return new SynthesizedSource(root, files, description, imageName, cleanup);
}

/** The OCI manifest of an OCI-layout-form archive whose config is `configDigest`, if any. */
async function ociManifestFor(
  dir: string,
  configDigest: string,
  options: OpenArchiveOptions,
): Promise<{ layout: OciLayout; descriptor: Descriptor } | undefined> {
  const hasLayout = await stat(join(dir, 'oci-layout')).catch(() => undefined);
  if (!hasLayout) return undefined;
  const layout = await OciLayout.open(dir, options);
  for await (const m of walkManifests(layout, options)) {
    if (!isIndex(m.manifest) && m.manifest.config.digest === configDigest) {
      const { annotations: _names, ...descriptor } = m.descriptor;
      return { layout, descriptor };
    }
  }
  return undefined;
}
