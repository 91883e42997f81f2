import type { ImageLayer } from '../source/index.js';

/**
 * Something unpack confined (a `..`, a symlink pointing out) or could not reproduce (a
 * device when rootless, a sparse file); unpack went on.
 */
export interface UnpackWarning {
  /** Index of the layer being applied, or -1 for the final pass. */
  layer: number;
  /** The entry path as the layer wrote it, when the warning is about one entry. */
  path?: string;
  message: string;
}

/** Options for {@link unpackLayers}. */
export interface UnpackOptions {
  /**
   * Act as an unprivileged user (default: true unless the process runs as root): no
   * chown, device nodes skipped with a warning, only `user.*` xattrs applied; the intended
   * owner and mode of every path is returned in {@link UnpackResult.ownership} and written
   * to {@link UnpackOptions.ownershipFile}.
   */
  rootless?: boolean;
  /**
   * Require every layer to carry a `diffId` (a layer without one is an error). Layers that
   * have one are always checked, verify or not: the tar is hashed as it streams past, which
   * costs next to nothing. Written files are not re-read: they hold exactly the bytes that
   * were hashed.
   */
  verify?: boolean;
  /**
   * Where to write the rootless ownership record, as JSON; by default (or `false`) no file
   * is written and the record is only {@link UnpackResult.ownership} (nothing is written
   * outside DIR unless asked; the CLI keeps it in the store). Refused when inside DIR, so
   * the root filesystem holds only image content. Ignored unless rootless.
   */
  ownershipFile?: string | false;
  /**
   * Remove what DIR holds first (its entries; symlinks among them are removed, not
   * followed), instead of refusing a DIR that is not empty: to start an interrupted
   * unpack again. Default false.
   */
  clear?: boolean;
  /**
   * Rootless: also keep each path's intended owner (when not root:root) in its
   * `user.rootlesscontainers` xattr, the rootlesscontainers.io convention umoci follows, so
   * rootless runtimes and umoci repack see the owners. Default true; failures are warnings.
   */
  ownerXattrs?: boolean;
  /**
   * Largest uncompressed size of one layer's tar (decompression bomb guard); default
   * 64 GiB. A layer that inflates beyond it fails with a `TooLargeError` cause.
   */
  maxLayerBytes?: number;
  /**
   * Carry out the file system calls on a thread of their own, in order, while this one
   * parses on (default true); `false` makes every call on the calling thread. The thread
   * loads `disk-writer-worker.js` from beside ocipeek's own modules: turn it off when
   * ocipeek is re-bundled into a single file by another tool.
   */
  writerThread?: boolean;
  /** Called for each warning as it happens (they are also collected in the result). */
  onWarning?(warning: UnpackWarning): void;
  /** Called after each layer has been applied. */
  onLayer?(layer: ImageLayer): void;
  signal?: AbortSignal;
}

/** Intended owner and mode of one path, recorded in rootless mode. */
export interface OwnershipEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block';
  uid: number;
  gid: number;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
}

/** The rootless ownership record: version and a map from absolute path (`/etc/passwd`). */
export interface OwnershipRecord {
  version: 1;
  entries: Record<string, OwnershipEntry>;
}

/** What {@link unpackLayers} did; counts describe the final tree in DIR. */
export interface UnpackResult {
  /** Layers applied. */
  layers: number;
  /** Regular files (a hardlinked group counts once here, its extra names in `hardlinks`). */
  files: number;
  /** Directories, not counting DIR itself. */
  dirs: number;
  symlinks: number;
  /** Names created as hard links to an earlier file. */
  hardlinks: number;
  fifos: number;
  /** Device nodes created (only when not rootless). */
  devices: number;
  /** Device entries skipped because unpack ran rootless. */
  devicesSkipped: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Warnings as one line each (`layer N: PATH: message`); at most 1,000 are kept. */
  warnings: string[];
  /** Total warnings, including any beyond the 1,000 kept. */
  warningCount: number;
  /** Rootless only: intended ownership of every path. */
  ownership?: OwnershipRecord;
  /** Rootless only: where the ownership record was written, if it was. */
  ownershipFile?: string;
}
