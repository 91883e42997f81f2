import { createHash, type Hash } from 'node:crypto';
import { mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { decompressIntoRooms, GzipRooms } from '../compression/index.js';
import { parseDigest } from '../digest/index.js';
import { DigestMismatchError, InvalidArgumentError, UnpackError } from '../errors/index.js';
import type { ImageLayer } from '../source/index.js';
import { writeTargetFor } from '../store/positional-writer.js';
import { escapeName, scanTarRecords } from '../tar/index.js';
import { type DiskWriter, SyncDiskWriter } from './disk-writer.js';
import {
  type FinishSettings,
  finishTree,
  ownershipOf,
  setTreeXattrs,
  writeOwnershipFile,
} from './finish.js';
import { LayerApplier } from './layer-applier.js';
import type { UnpackOptions, UnpackResult, UnpackWarning } from './types.js';
import { WorkerDiskWriter } from './worker-disk-writer.js';

/** Default bomb guard: the largest uncompressed tar one layer may inflate to. */
export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;

/**
 * gzip output pieces of 512 KiB, cut from a few reused rooms ({@link GzipRooms}). Larger
 * pieces cost less CPU: each is a thread-pool round trip, a stream push and a promise, and
 * a small file straddling two pieces is streamed instead of written from one. As fresh
 * buffers they cost memory: a piece held while its small files are applied is now and
 * then promoted and waits for a full GC (single unpacks with 128 KiB pieces peaked at
 * 126-130 MB, over the 128 MB bound, ninth session); rooms are reused instead. With rooms,
 * alternating pairs against 64 KiB fresh pieces: 256 KiB ~11 % less wall, 512 KiB ~5 %
 * less again at +1 MB of peak; 768 KiB no faster and +20 MB, 1 MiB +20 MB (the buffer
 * zlib allocates and drops per room reaches glibc's mmap threshold; bench/ANALYSIS.md,
 * tenth session).
 */
const UNPACK_OUTPUT_CHUNK = 512 * 1024;

/** Warnings kept in the result; the rest are only counted (a hostile layer can make many). */
const MAX_KEPT_WARNINGS = 1000;

/**
 * The tar stream's pieces, each hashed for the diff_id; asking for the next piece means
 * the scanner is done with the earlier ones, whose rooms are then reused.
 */
async function* pieces(
  source: Readable,
  hash: Hash | undefined,
  rooms: GzipRooms,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    rooms.passed(chunk as Buffer);
    hash?.update(chunk as Buffer);
    yield chunk as Buffer;
  }
}

/** DIR must be new or empty: the model of what is on disk starts from nothing. */
/** Make `dir` if missing; its real path and entries (refused unless `clear`). */
async function prepareDir(dir: string, clear: boolean): Promise<[string, string[]]> {
  await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    // EEXIST: DIR is a file; ENOTDIR: a file is where one of its parents should be.
    if (err.code === 'EEXIST' || err.code === 'ENOTDIR') {
      throw new InvalidArgumentError(
        `cannot unpack into ${dir}: ${err.code === 'EEXIST' ? 'it is' : 'a parent of it is'} a file, not a directory (${err.code}); give a new or empty directory`,
      );
    }
    throw err;
  });
  const names = await readdir(dir);
  if (names.length > 0 && !clear) {
    throw new InvalidArgumentError(
      `${dir} is not empty; unpack only into a new or empty directory`,
    );
  }
  return [await realpath(dir), names];
}

function formatWarning(w: UnpackWarning): string {
  const where = w.layer >= 0 ? `layer ${w.layer}: ` : '';
  return `${where}${w.path === undefined ? '' : `${escapeName(w.path)}: `}${w.message}`;
}

/**
 * Extract the merged root filesystem of `layers` (bottom first) into `dir`, applying each
 * layer to disk with the layer rules the filesystem view uses (`src/layer-rules`: umoci's
 * and containerd's).
 *
 * - Whiteouts: `.wh.NAME` removes NAME (a whole subtree) of lower layers, `.wh..wh..opq`
 *   everything lower layers put in its directory; what the same layer writes stays,
 *   whatever the order inside the tar. Whiteout files never appear in `dir`.
 * - A non-directory over a directory replaces the subtree, a directory over a
 *   non-directory replaces it, a directory over a directory updates its metadata.
 * - An entry the rules refuse (a parent that is not a directory, a symlink loop on the
 *   way, a hardlink to nothing or to a directory…) fails the unpack with an
 *   {@link UnpackError} whose cause is a `LayerRuleError`, as umoci and containerd fail.
 * - Hard links are created as hard links, symlinks as symlinks; modes (with setuid, setgid,
 *   sticky) and mtimes are kept; owners with lchown when not rootless (else recorded, see
 *   {@link UnpackOptions.ownershipFile}); xattrs set with `lsetxattr` when possible (a
 *   warning otherwise); fifos made with `mkfifo`, devices with `mknod` (skipped with a
 *   warning when rootless) — C library calls made in process, no helper programs.
 * - Nothing is written, linked or deleted outside `dir`: entry paths and hardlink targets
 *   are confined lexically (`..` stops at the root), symlinks met on the way are resolved
 *   inside `dir` (securejoin semantics), the last component is never followed. Such
 *   entries are confined with a warning naming them.
 * - Each layer's uncompressed digest is checked against its `diffId`; a mismatch, a
 *   malformed or truncated tar, or a layer inflating past `maxLayerBytes` fails with
 *   {@link UnpackError} (the original error as `cause`), saying what is left in `dir`.
 *
 * `dir` must not exist or be empty ({@link InvalidArgumentError} otherwise).
 */
export async function unpackLayers(
  layers: readonly ImageLayer[],
  dir: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const euid = process.geteuid?.() ?? -1;
  const egid = process.getegid?.() ?? -1;
  const rootless = options.rootless ?? euid !== 0;
  if (!rootless && euid !== 0) {
    throw new InvalidArgumentError('keeping file owners needs root; unpack rootless instead');
  }
  const maxLayerBytes = options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;
  const ownerXattrs = options.ownerXattrs ?? true;
  if (options.verify) {
    const missing = layers.find((l) => l.diffId === undefined);
    if (missing) {
      throw new InvalidArgumentError(`layer ${missing.index} has no diff_id to verify against`);
    }
  }
  for (const l of layers) if (l.diffId !== undefined) parseDigest(l.diffId);
  const [rootAbs, present] = await prepareDir(dir, options.clear ?? false);
  let ownershipFile: string | undefined;
  if (rootless && options.ownershipFile !== undefined && options.ownershipFile !== false) {
    ownershipFile = path.resolve(options.ownershipFile);
    const parent = await realpath(path.dirname(ownershipFile)).catch(() => '');
    if (`${parent}/`.startsWith(`${rootAbs}/`)) {
      throw new InvalidArgumentError(`ownership file ${ownershipFile} would be inside ${dir}`);
    }
  }
  // `clear`: entries are removed, never followed (a symlink in DIR goes, not its target).
  for (const name of present) await rm(path.join(rootAbs, name), { recursive: true, force: true });

  const warnings: string[] = [];
  let warningCount = 0;
  const warn = (w: UnpackWarning) => {
    warningCount++;
    if (warnings.length < MAX_KEPT_WARNINGS) warnings.push(formatWarning(w));
    options.onWarning?.(w);
  };
  // Everything below runs with the writer open; it is closed whatever happens.
  // Only the call size of the folder's target applies: unpack writes with synchronous
  // calls on a writer thread of its own (or, `writerThread: false`, on this one) always,
  // so there is no pool round trip for `synchronous` to save, and layer entries are
  // files of their own, never one blob big enough for `direct`.
  const { maxWriteBytes } = await writeTargetFor(rootAbs);
  const disk: DiskWriter =
    options.writerThread === false
      ? new SyncDiskWriter(maxWriteBytes)
      : new WorkerDiskWriter({ maxWriteBytes });
  try {
    return await unpackWith(disk);
  } finally {
    await disk.close();
  }

  async function unpackWith(disk: DiskWriter): Promise<UnpackResult> {
    const applier = new LayerApplier({
      disk,
      rootAbs,
      rootless,
      umask: process.umask(),
      // A setgid DIR would give new files its group: then chown every entry explicitly.
      euid,
      egid: ((await stat(rootAbs)).mode & 0o2000) !== 0 ? -1 : egid,
      warn: (layer, p, message) =>
        warn({ layer, ...(p === undefined ? {} : { path: p }), message }),
      ...(signal ? { signal } : {}),
    });

    let completed = 0;
    const fail = (err: unknown, layer?: ImageLayer): never => {
      if (signal?.aborted) throw err;
      const what = layer ? `layer ${layer.index} (${layer.descriptor.digest})` : 'the final pass';
      const reason = err instanceof Error ? err.message : String(err);
      throw new UnpackError(
        `unpacking ${what} into ${dir} failed: ${reason}; ${dir} holds a partial root ` +
          `filesystem (${completed} of ${layers.length} layers applied) — clear it before retrying (the same ocipeek unpack run again redoes it)`,
        dir,
        layer?.index,
        completed,
        { cause: err },
      );
    };
    // Shared by the layers: their memory is used again rather than left to the GC.
    const rooms = new GzipRooms(UNPACK_OUTPUT_CHUNK);
    for (const [position, layer] of layers.entries()) {
      applier.begin(position, layer.index);
      try {
        await applyLayer(applier, disk, layer, maxLayerBytes, rooms, signal);
        // Every call of this layer carried out: a failure is reported against its layer.
        await disk.flush();
      } catch (err) {
        fail(err, layer);
      }
      completed++;
      options.onLayer?.(layer);
    }

    const result: UnpackResult = {
      layers: completed,
      files: 0,
      dirs: 0,
      symlinks: 0,
      hardlinks: 0,
      fifos: 0,
      devices: 0,
      devicesSkipped: applier.devicesSkipped,
      bytes: applier.bytes,
      warnings,
      warningCount,
    };
    try {
      const settings: FinishSettings = {
        rootless,
        ownerXattrs,
        euid,
        egid,
        warn: (message) => warn({ layer: -1, message }),
        ...(signal ? { signal } : {}),
      };
      const plan = finishTree(applier, disk, settings);
      const root = applier.root;
      await disk.flush();
      setTreeXattrs(plan, settings);
      Object.assign(result, plan.counts, { warnings, warningCount });
      if (rootless) {
        // The record as an object is built only if someone reads it (the CLI does not).
        let record: UnpackResult['ownership'];
        Object.defineProperty(result, 'ownership', {
          get: () => {
            record ??= ownershipOf(root);
            return record;
          },
          enumerable: true,
          configurable: true,
        });
        if (ownershipFile !== undefined) {
          writeOwnershipFile(root, ownershipFile);
          result.ownershipFile = ownershipFile;
        }
      }
    } catch (err) {
      fail(err);
    }
    result.warningCount = warningCount;
    return result;
  }
}

async function applyLayer(
  applier: LayerApplier,
  disk: DiskWriter,
  layer: ImageLayer,
  maxLayerBytes: number,
  rooms: GzipRooms,
  signal?: AbortSignal,
): Promise<void> {
  const hash = layer.diffId ? createHash(parseDigest(layer.diffId).algorithm) : undefined;
  // The diff_id check below covers every byte written, so a source that can skip hashing
  // the compressed bytes (a local store, verified when it stored them) may.
  const compressed = await layer.open({ ...(signal ? { signal } : {}), verify: !hash });
  let tarStream: Readable | undefined;
  try {
    tarStream = await decompressIntoRooms(
      compressed,
      {
        mediaType: layer.descriptor.mediaType,
        maxOutputBytes: maxLayerBytes,
        what: `uncompressed layer ${layer.index}`,
        outputChunkBytes: UNPACK_OUTPUT_CHUNK,
        ...(signal ? { signal } : {}),
      },
      rooms,
    );
    const source = pieces(tarStream, hash, rooms);
    // A handler, not `for await`: most entries are applied without a promise of their own.
    await scanTarRecords(
      source,
      (record) => {
        const pending = applier.apply(record);
        if (pending) return pending.then(() => (disk.backlogged ? disk.drained() : undefined));
        return disk.backlogged ? disk.drained() : undefined;
      },
      signal ? { signal } : {},
    );
    if (hash && layer.diffId) {
      const actual = `${parseDigest(layer.diffId).algorithm}:${hash.digest('hex')}`;
      if (actual !== layer.diffId) {
        throw new DigestMismatchError(
          layer.diffId,
          actual,
          `uncompressed layer ${layer.index} (diff_id)`,
        );
      }
    }
  } finally {
    tarStream?.destroy();
    compressed.destroy();
  }
}
