import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../digest/index.js';
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidManifestError,
  InvalidReferenceError,
  NotFoundError,
  TooLargeError,
} from '../errors/index.js';
import { type Descriptor, type ImageIndex, isIndex, parseManifest } from '../media/index.js';
import { blobFileSize, closeBlobFile, openBlobFile, readBlobFile } from './blob-file.js';
import { BlobReadStream } from './blob-read-stream.js';
import { REF_NAME_ANNOTATION, tagOfRefName } from './ref-name.js';

/** `index.json` larger than this is refused: even a busy shared store stays far below it. */
const MAX_INDEX_BYTES = 32 * 1024 * 1024;
/** The default cap of {@link OciLayout.readBlob}: blobs read whole are manifests and configs. */
const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;

/** Options of {@link OciLayout.open}. */
export interface OpenLayoutOptions {
  /** Cancels the checks. */
  signal?: AbortSignal;
}

/** Options of {@link OciLayout.readBlob}. */
export interface ReadBlobOptions {
  /** Cancels the read. */
  signal?: AbortSignal;
  /** Refuse blobs larger than this many bytes (default 64 MiB) with a `TooLargeError`. */
  maxBytes?: number;
}

/** Options of {@link OciLayout.openBlob}. */
export interface OpenBlobOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive (default: the end of the blob). */
  end?: number;
  /** Cancels the stream. */
  signal?: AbortSignal;
  /**
   * Hash the bytes and fail the stream before it ends when they do not match the digest.
   * Default true for whole-blob reads; a range cannot be verified, so asking for both is
   * an error.
   */
  verify?: boolean;
}

/** A named entry of a layout's `index.json`. */
export interface LayoutRef {
  /** The `org.opencontainers.image.ref.name` annotation, as written. */
  name: string;
  /** The descriptor `index.json` lists under that name. */
  descriptor: Descriptor;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Read a layout file (`oci-layout`, `index.json`) without following a symbolic link in
 * its place: a layout unpacked from an untrusted archive could point it anywhere, and
 * parse errors quote what they read. A link fails with `ELOOP`.
 */
async function readLayoutFile(
  path: string,
  options: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new InvalidArgumentError(`${path} is not a regular file`);
    }
    if (options.maxBytes !== undefined && info.size > options.maxBytes) {
      throw new TooLargeError(path, options.maxBytes);
    }
    return await handle.readFile({ signal: options.signal });
  } finally {
    await handle.close();
  }
}

function linkRefused(path: string): InvalidArgumentError {
  return new InvalidArgumentError(`${path} is a symbolic link; a layout's own files must not be`);
}

/**
 * Read-only access to an OCI image layout directory (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`), as written by skopeo `oci:`, umoci, buildah and ocipeek's store.
 *
 * Nothing is cached: `index.json` is re-read on every call so a layout that another tool
 * updates while it is open stays current. Every digest is validated before it becomes a
 * path, so no argument can reach outside `blobs/`, and no file of the layout is read
 * through a symbolic link: a layout unpacked from an untrusted archive cannot point a
 * blob (or `blobs/` itself) at a file elsewhere on the machine.
 */
export class OciLayout {
  /** The layout directory, as an absolute path. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Open the layout at `dir`, checking that `oci-layout` names a 1.x layout version and
   * that `index.json` is a valid image index.
   */
  static async open(dir: string, options: OpenLayoutOptions = {}): Promise<OciLayout> {
    const abs = resolvePath(dir);
    const layout = new OciLayout(abs);
    // The three reads go out together (each is a round trip to the thread pool); their
    // outcomes are examined in order, so the first problem reported is the same as if
    // they had been read one after another.
    const markerRead = readLayoutFile(join(abs, 'oci-layout'), { signal: options.signal }).then(
      (b) => b.toString('utf8'),
    );
    const indexRead = layout.index({ signal: options.signal });
    markerRead.catch(() => {});
    indexRead.catch(() => {});
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(abs);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new NotFoundError(`no such directory: ${abs}`);
      throw err;
    }
    if (!info.isDirectory()) throw new InvalidArgumentError(`${abs} is not a directory`);
    let marker: string;
    try {
      marker = await markerRead;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new InvalidArgumentError(`${abs} is not an OCI image layout (no oci-layout file)`);
      }
      if (errnoCode(err) === 'ELOOP') throw linkRefused(join(abs, 'oci-layout'));
      throw err;
    }
    let version: unknown;
    try {
      version = (JSON.parse(marker) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch (cause) {
      throw new InvalidManifestError(`${abs}/oci-layout is not valid JSON`, { cause });
    }
    if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
      throw new InvalidManifestError(
        `${abs}/oci-layout: unsupported imageLayoutVersion ${JSON.stringify(version)} (expected 1.x.y)`,
      );
    }
    await indexRead;
    return layout;
  }

  /** Read and validate `index.json` (afresh on every call). */
  async index(options: { signal?: AbortSignal } = {}): Promise<ImageIndex> {
    const path = join(this.dir, 'index.json');
    let bytes: Buffer;
    try {
      bytes = await readLayoutFile(path, { signal: options.signal, maxBytes: MAX_INDEX_BYTES });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new InvalidArgumentError(`${this.dir} is not an OCI image layout (no index.json)`);
      }
      if (errnoCode(err) === 'ELOOP') throw linkRefused(path);
      throw err;
    }
    let parsed: ReturnType<typeof parseManifest>;
    try {
      parsed = parseManifest(bytes);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new InvalidManifestError(`${path}: ${reason}`, { cause });
    }
    if (!isIndex(parsed)) throw new InvalidManifestError(`${path} is not an image index`);
    return parsed;
  }

  /** The entries of `index.json` that carry a `org.opencontainers.image.ref.name`. */
  async refs(options: { signal?: AbortSignal } = {}): Promise<LayoutRef[]> {
    const index = await this.index(options);
    const out: LayoutRef[] = [];
    for (const descriptor of index.manifests) {
      const name = descriptor.annotations?.[REF_NAME_ANNOTATION];
      if (name) out.push({ name, descriptor });
    }
    return out;
  }

  /**
   * The descriptor named `name`. An exact `ref.name` match wins; otherwise a bare tag
   * (`1.0`) also matches entries whose ref name is a full reference ending in that tag
   * (`example.com/app:1.0`), the way `oci:DIR:TAG` is read. Returns `undefined` when
   * nothing matches and throws when several different manifests do.
   */
  async resolve(
    name: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Descriptor | undefined> {
    const refs = await this.refs(options);
    let matches = refs.filter((r) => r.name === name);
    if (matches.length === 0 && !name.includes('/') && !name.includes(':')) {
      matches = refs.filter((r) => tagOfRefName(r.name) === name);
    }
    const digests = new Set(matches.map((m) => m.descriptor.digest));
    if (digests.size > 1) {
      throw new InvalidReferenceError(
        name,
        `${digests.size} different manifests answer to it in ${this.dir}/index.json (${matches
          .slice(0, 4)
          .map((m) => m.name)
          .join(', ')}${matches.length > 4 ? ', ...' : ''}); give the full reference`,
      );
    }
    return matches[0]?.descriptor;
  }

  /** The file that holds `digest`. Throws `InvalidDigestError` for anything but a valid digest. */
  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, 'blobs', algorithm, hex);
  }

  /**
   * The size of blob `digest`, or `undefined` when the layout does not have it as a
   * regular file (a symbolic link in its place counts as absent).
   */
  hasBlob(digest: string): Promise<number | undefined> {
    return blobFileSize(this.dir, digest);
  }

  /** Read a whole blob into memory and check its digest. */
  async readBlob(digest: string, options: ReadBlobOptions = {}): Promise<Buffer> {
    const limit = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES;
    const file = await openBlobFile(this.dir, digest);
    if (!file) throw this.missing(digest);
    let bytes: Buffer;
    try {
      if (file.size > limit) throw new TooLargeError(`blob ${digest}`, limit);
      bytes = await readBlobFile(file, options.signal);
    } finally {
      await closeBlobFile(file.fd);
    }
    // At most the size the file had when opened is read: the digest check catches a
    // file changed meanwhile.
    const actual = digestOf(bytes, parseDigest(digest).algorithm);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, `blob in ${this.dir}`);
    return bytes;
  }

  /**
   * Stream a blob, or the inclusive byte range `start`..`end` of it. Whole reads are
   * verified unless `verify: false`. A missing blob, or one that is not a regular file
   * inside the layout (see `openBlobFile`), surfaces as a `NotFoundError` on the stream.
   */
  openBlob(digest: string, options: OpenBlobOptions = {}): Readable {
    parseDigest(digest);
    const { start, end } = options;
    const ranged = start !== undefined || end !== undefined;
    if (ranged && options.verify) {
      throw new InvalidArgumentError(
        'a byte range of a blob cannot be verified against its digest',
      );
    }
    for (const [label, value] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
        throw new InvalidArgumentError(`blob range ${label} must be a non-negative integer`);
      }
    }
    if (start !== undefined && end !== undefined && end < start) {
      throw new InvalidArgumentError(`blob range end ${end} is before start ${start}`);
    }
    const verify = options.verify ?? !ranged;
    return new BlobReadStream(openBlobFile(this.dir, digest), () => this.missing(digest), {
      ...(start === undefined ? {} : { start }),
      ...(end === undefined ? {} : { end }),
      ...(verify ? { verify: digest } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  private missing(digest: string): NotFoundError {
    return new NotFoundError(`blob ${digest} not found in layout ${this.dir}`, 'BLOB_UNKNOWN');
  }
}
