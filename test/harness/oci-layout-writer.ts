import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Descriptor, ImageIndex } from '../../src/media/types.js';

/** Digest algorithms the fixtures can write. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** The annotation an OCI layout's `index.json` uses to name an entry. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** `algorithm:hex` of `bytes`. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Canonical JSON bytes the fixtures write for manifests and configs (no extra spaces). */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/ALG/HEX`) from code, so
 * tests can build exactly the images they need and push them with skopeo
 * (`oci:DIR:REF`).
 *
 * @example
 * const w = new LayoutWriter(dir);
 * const config = await w.writeJson({ architecture: 'amd64', os: 'linux', rootfs: ... });
 * const desc = await w.writeManifest({ schemaVersion: 2, mediaType, config: ..., layers });
 * w.addToIndex(desc, 'v1');
 * await w.finish();
 */
export class LayoutWriter {
  /** The layout's root folder. */
  readonly dir: string;
  private readonly entries: Descriptor[] = [];
  private readonly written = new Map<string, number>();

  /** @param dir folder to write into; created if missing. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The path a blob with `digest` has in this layout. */
  blobPath(digest: string): string {
    const [alg, hex] = digest.split(':');
    return path.join(this.dir, 'blobs', alg!, hex!);
  }

  /** Store `bytes` as a blob; writing the same content twice is a no-op. */
  async writeBlob(
    bytes: Uint8Array,
    algorithm: DigestAlgorithm = 'sha256',
  ): Promise<{ digest: string; size: number }> {
    const digest = digestOf(bytes, algorithm);
    if (!this.written.has(digest)) {
      await mkdir(path.join(this.dir, 'blobs', algorithm), { recursive: true });
      await writeFile(this.blobPath(digest), bytes);
      this.written.set(digest, bytes.length);
    }
    return { digest, size: bytes.length };
  }

  /** Store `value` as compact JSON and return a descriptor of `mediaType` for it. */
  async writeJson(
    value: unknown,
    mediaType: string,
    algorithm: DigestAlgorithm = 'sha256',
  ): Promise<Descriptor & { bytes: Buffer }> {
    const bytes = jsonBytes(value);
    const { digest, size } = await this.writeBlob(bytes, algorithm);
    return { mediaType, digest, size, bytes };
  }

  /**
   * Store a manifest or index. Its `mediaType` field names the descriptor's media type
   * (pass `mediaType` for manifests that omit it). The returned descriptor has no
   * `bytes` key so it can go straight into a parent index.
   */
  async writeManifest(
    manifest: { mediaType?: string } & Record<string, unknown>,
    options: {
      mediaType?: string;
      platform?: Descriptor['platform'];
      annotations?: Record<string, string>;
    } = {},
  ): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const mediaType = options.mediaType ?? manifest.mediaType;
    if (mediaType === undefined) throw new Error('writeManifest: no media type');
    const { bytes, ...rest } = await this.writeJson(manifest, mediaType);
    const descriptor: Descriptor = { ...rest };
    if (options.platform) descriptor.platform = options.platform;
    if (options.annotations) descriptor.annotations = options.annotations;
    return { descriptor, bytes };
  }

  /** List `descriptor` in `index.json`, named `refName` when given. */
  addToIndex(descriptor: Descriptor, refName?: string): void {
    const entry: Descriptor = { ...descriptor };
    if (refName !== undefined) {
      entry.annotations = { ...entry.annotations, [REF_NAME_ANNOTATION]: refName };
    }
    this.entries.push(entry);
  }

  /** Write `oci-layout` and `index.json`. Call once, after the last `addToIndex`. */
  async finish(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(
      path.join(this.dir, 'oci-layout'),
      JSON.stringify({ imageLayoutVersion: '1.0.0' }),
    );
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: this.entries,
    };
    await writeFile(path.join(this.dir, 'index.json'), JSON.stringify(index));
  }
}
