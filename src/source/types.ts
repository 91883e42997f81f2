import type { Readable } from 'node:stream';
import type { Descriptor } from '../media/index.js';

/** The kinds of place an image can be in (see {@link Place}). */
export type PlaceKind = 'registry' | 'store' | 'oci' | 'oci-archive' | 'docker-archive';

/** A manifest or index exactly as a place holds it. */
export interface ManifestBytes {
  /** The exact bytes (their digest is `digest`). */
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** Where a source's blobs live in a registry, so a destination there can mount them. */
export interface RegistryLocation {
  /** Registry name as in references (`127.0.0.1:5000`). */
  registry: string;
  repository: string;
}

/** What a blob is for; destinations that convert (docker-archive) need to know. */
export type BlobRole = 'config' | 'layer';

/** Options of {@link ImageSource} and {@link ImageDestination} calls. */
export interface SourceCallOptions {
  signal?: AbortSignal;
}

/** Options of {@link ImageSource.openBlob}. */
export interface OpenSourceBlobOptions extends SourceCallOptions {
  /**
   * Start at this byte (default 0), to resume a download. The stream then holds the rest
   * of the blob and is not verified against the digest: the caller, who has the bytes
   * before `offset`, checks the whole.
   */
  offset?: number;
  /**
   * `false` lets a local place skip hashing bytes it verified when it stored them (the
   * store), for callers that check what they read another way (unpack's diff_id check).
   * Places whose bytes nobody has checked yet (registries, layouts, archives) verify
   * whatever this says.
   */
  verify?: boolean;
}

/**
 * The read side of a place (a registry repository, the local store, an OCI layout, an
 * archive): the manifest or index the place names, manifests by digest, and blobs. Every
 * whole blob stream it returns is verified (size and digest) and fails before its end on
 * a mismatch. Resolving to one platform is written once, over this interface
 * ({@link resolveImage}, {@link openImage}); `parsePlace` names the places.
 */
export interface ImageSource {
  /** Which kind of place this is. */
  readonly kind: PlaceKind;
  /** How the place is shown in messages (`oci:/tmp/x:v1`). */
  readonly description: string;
  /** Set when blobs come from a registry (enables cross-repository mounts). */
  readonly location?: RegistryLocation;
  /** The name the place gives the image, if any (a full reference), for naming copies. */
  readonly imageName?: string;
  /**
   * The descriptor of the manifest or index the place names, as cheaply as the place
   * allows (a `HEAD` on a registry).
   */
  resolve(options?: SourceCallOptions): Promise<Descriptor>;
  /** The manifest or index the place names. */
  root(options?: SourceCallOptions): Promise<ManifestBytes>;
  /** A child manifest by descriptor (verified against its digest). */
  manifest(desc: Descriptor, options?: SourceCallOptions): Promise<ManifestBytes>;
  /** A stream of blob `desc`, verified unless `offset` or `verify: false` says otherwise. */
  openBlob(desc: Descriptor, options?: OpenSourceBlobOptions): Promise<Readable>;
  /** Release temp files and connections. Calling it twice is harmless. */
  close(): Promise<void>;
}

/** Options of {@link ImageDestination.putBlob}. */
export interface PutBlobOptions {
  role: BlobRole;
  /** Bytes written so far. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** Options of {@link ImageDestination.putManifest}. */
export interface PutManifestOptions {
  /** True for the top-level manifest or index (the one the destination names). */
  root: boolean;
  signal?: AbortSignal;
}

/**
 * The write side of a place. The copy engine calls `hasBlob`/`mountBlob`/`putBlob` for
 * every blob, `putManifest` children first and the root last, then `commit`; on failure
 * it calls `abort` instead, which must leave the place as it was before (apart from
 * content-addressed blobs nothing names).
 */
export interface ImageDestination {
  readonly description: string;
  /**
   * Set by destinations that hold exactly one image manifest (docker-archive): the copy
   * engine then picks one platform from an index. `convertsManifests` means digests change.
   */
  readonly singleImage?: boolean;
  /** True when the destination rewrites manifests (digests will differ). */
  readonly convertsManifests?: boolean;
  /** The destination already has this blob (skip it). */
  hasBlob(desc: Descriptor, options?: SourceCallOptions): Promise<boolean>;
  /**
   * Try to get the blob without moving bytes (a registry mount from `from`); resolves to
   * whether it worked. Optional.
   */
  mountBlob?(
    desc: Descriptor,
    from: RegistryLocation,
    options?: SourceCallOptions,
  ): Promise<boolean>;
  /** Store a blob from a verified stream. */
  putBlob(desc: Descriptor, stream: Readable, options: PutBlobOptions): Promise<void>;
  /** Store a manifest or index. */
  putManifest(manifest: ManifestBytes, options: PutManifestOptions): Promise<void>;
  /** Name the root (tag, `index.json` entry) and finish (write the archive). Returns the
   *  root digest as the destination holds it (differs when it converts). */
  commit(root: ManifestBytes, options?: SourceCallOptions): Promise<string>;
  /** Drop everything unfinished (temp files, half-written archives). */
  abort(): Promise<void>;
}
