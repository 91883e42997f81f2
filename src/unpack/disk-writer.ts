import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  type PathLike,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { fsPath } from '../tar/name-codec.js';
import { fsTime } from './fs-time.js';

const O_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** What is set on a file once its content is in. */
export interface FileFinish {
  /** chown to these ids first (it clears setuid/setgid, so the mode comes after). */
  owner?: [number, number];
  /** fchmod to this mode (when the umask changed what `open` created). */
  mode?: number;
  mtime: number;
}

/**
 * The file system calls of an unpack, in the order the layers ask for them. Paths are
 * absolute and already confined by the caller's model of DIR; nothing here resolves or
 * follows anything. Files are written one at a time: `createFile`, `write`…, `finishFile`.
 */
export interface DiskWriter {
  mkdir(abs: string, mode: number): void;
  /** Create a file that must not exist yet (`O_EXCL|O_NOFOLLOW`). */
  createFile(abs: string, perm: number): void;
  /**
   * Append to the file being written. `chunk` is a view of a decompressor piece whose
   * memory is written again once the tar reader moves on (unpack's gzip rooms,
   * `compression/gzip-rooms.ts`): a writer copies or writes it before returning and keeps
   * no reference to it.
   */
  write(chunk: Uint8Array): void;
  finishFile(finish: FileFinish): void;
  symlink(target: string, abs: string, owner: [number, number] | undefined, mtime: number): void;
  link(existingAbs: string, abs: string): void;
  /** Remove a file, symlink or whole directory (never following a symlink). */
  remove(abs: string, dir: boolean): void;
  /** Give a directory unpack made its owner, mode and mtime (the final pass). */
  setDir(
    abs: string,
    owner: [number, number] | undefined,
    mode: number | undefined,
    mtime: number,
  ): void;
  /** True when the caller should `await drained()` before queueing more. */
  readonly backlogged: boolean;
  drained(): Promise<void>;
  /** Wait until every call so far has been carried out; throws the first failure. */
  flush(): Promise<void>;
  /** Release what the writer holds (after `flush`, or after a failure). */
  close(): Promise<void>;
}

/**
 * Operations as they travel to the writer thread: numbers only, an opcode followed by its
 * arguments (owner as two ids, `-1` for "leave as is"); paths and link targets are their
 * exact bytes (names are bytes, see `tar/name-codec.ts`) in the batch's data buffer, passed as offset and length. Both buffers are
 * transferred, so nothing is serialised: structured clone of an array per call (~200,000
 * per application image) with its path strings cost ~0.2 s of `postMessage` on the
 * parsing thread.
 */
export type DiskOps = Float64Array;

/** Opcodes of {@link DiskOps}, with their arguments. */
export const Op = {
  /** path, mode */
  mkdir: 0,
  /** path, perm */
  create: 1,
  /** offset, length (file bytes in the batch's data) */
  write: 2,
  /** uid, gid, mode, mtime */
  finish: 3,
  /** target, path, uid, gid, mtime */
  symlink: 4,
  /** existing path, path */
  link: 5,
  /** path, isDir (0 or 1) */
  remove: 6,
  /** path, uid, gid, mode, mtime */
  setDir: 7,
} as const;

/** Carries out the calls with plain synchronous system calls. */
/** An owner as the ops carry it: uid and gid, `-1` each for "leave as is". */
export function ownerIds(owner: [number, number] | undefined): [number, number] {
  return owner ?? [-1, -1];
}

export class OpRunner {
  private fd = -1;

  /**
   * @param maxWriteBytes the most one `write` system call carries: file bytes come in
   *   pieces of up to 1 MiB (zlib's output), and on ext4 in a VM that reports free blocks
   *   of 128 KiB to its host a write of 128 KiB or more costs ~20x the kernel time of
   *   smaller ones (`writeLimitFor`, bench/ANALYSIS.md).
   */
  constructor(private readonly maxWriteBytes = Number.POSITIVE_INFINITY) {}

  mkdir(abs: PathLike, mode: number): void {
    mkdirSync(abs, mode);
  }

  create(abs: PathLike, perm: number): void {
    this.fd = openSync(abs, O_CREATE, perm);
  }

  write(data: Uint8Array, offset: number, length: number): void {
    const end = offset + length;
    let off = offset;
    while (off < end) off += writeSync(this.fd, data, off, Math.min(end - off, this.maxWriteBytes));
  }

  /** `uid < 0`: no chown; `mode < 0`: no chmod. */
  finish(uid: number, gid: number, mode: number, mtime: number): void {
    const fd = this.fd;
    this.fd = -1;
    try {
      if (uid >= 0) fchownSync(fd, uid, gid);
      if (mode >= 0) fchmodSync(fd, mode);
      futimesSync(fd, fsTime(mtime), fsTime(mtime));
    } finally {
      closeSync(fd);
    }
  }

  symlink(target: PathLike, abs: PathLike, uid: number, gid: number, mtime: number): void {
    symlinkSync(target, abs);
    if (uid >= 0) lchownSync(abs, uid, gid);
    lutimesSync(abs, fsTime(mtime), fsTime(mtime));
  }

  link(existingAbs: PathLike, abs: PathLike): void {
    linkSync(existingAbs, abs);
  }

  remove(abs: PathLike, dir: boolean): void {
    if (dir) rmSync(abs, { recursive: true, force: true });
    else unlinkSync(abs);
  }

  /** `uid < 0`: no chown; `mode < 0`: no chmod. A directory unpack made (never a link). */
  setDir(abs: PathLike, uid: number, gid: number, mode: number, mtime: number): void {
    if (uid >= 0) lchownSync(abs, uid, gid);
    if (mode >= 0) chmodSync(abs, mode);
    utimesSync(abs, fsTime(mtime), fsTime(mtime));
  }

  /** Carry out `count` slots of {@link DiskOps} in order; paths are read from `data`. */
  runBatch(ops: DiskOps, count: number, data: Uint8Array): void {
    // Views, not copies: fs calls take byte paths as they are.
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const path = (at: number) => bytes.subarray(ops[at]!, ops[at]! + ops[at + 1]!);
    let i = 0;
    while (i < count) {
      const op = ops[i]!;
      switch (op) {
        case Op.mkdir:
          this.mkdir(path(i + 1), ops[i + 3]!);
          i += 4;
          break;
        case Op.create:
          this.create(path(i + 1), ops[i + 3]!);
          i += 4;
          break;
        case Op.write:
          this.write(data, ops[i + 1]!, ops[i + 2]!);
          i += 3;
          break;
        case Op.finish:
          this.finish(ops[i + 1]!, ops[i + 2]!, ops[i + 3]!, ops[i + 4]!);
          i += 5;
          break;
        case Op.symlink:
          this.symlink(path(i + 1), path(i + 3), ops[i + 5]!, ops[i + 6]!, ops[i + 7]!);
          i += 8;
          break;
        case Op.link:
          this.link(path(i + 1), path(i + 3));
          i += 5;
          break;
        case Op.remove:
          this.remove(path(i + 1), ops[i + 3] === 1);
          i += 4;
          break;
        case Op.setDir:
          this.setDir(path(i + 1), ops[i + 3]!, ops[i + 4]!, ops[i + 5]!, ops[i + 6]!);
          i += 7;
          break;
        default:
          throw new Error(`unknown disk operation ${op} at ${i}`);
      }
    }
  }

  /** Close a file left open by a failure. */
  abandon(): void {
    try {
      if (this.fd >= 0) closeSync(this.fd);
    } catch {
      // Already failing; the descriptor is gone either way.
    }
    this.fd = -1;
  }
}

/**
 * Every call made at once on the calling thread. Paths holding escaped name bytes go to
 * `fs` as their exact bytes ({@link fsPath}); others as the strings they are.
 */
export class SyncDiskWriter implements DiskWriter {
  private readonly runner: OpRunner;
  readonly backlogged = false;

  /** @param maxWriteBytes see {@link OpRunner}. */
  constructor(maxWriteBytes?: number) {
    this.runner = new OpRunner(maxWriteBytes);
  }

  mkdir(abs: string, mode: number): void {
    this.runner.mkdir(fsPath(abs), mode);
  }
  createFile(abs: string, perm: number): void {
    this.runner.create(fsPath(abs), perm);
  }
  write(chunk: Uint8Array): void {
    this.runner.write(chunk, 0, chunk.length);
  }
  finishFile(f: FileFinish): void {
    const [uid, gid] = ownerIds(f.owner);
    this.runner.finish(uid, gid, f.mode ?? -1, f.mtime);
  }
  symlink(target: string, abs: string, owner: [number, number] | undefined, mtime: number): void {
    const [uid, gid] = ownerIds(owner);
    this.runner.symlink(fsPath(target), fsPath(abs), uid, gid, mtime);
  }
  link(existingAbs: string, abs: string): void {
    this.runner.link(fsPath(existingAbs), fsPath(abs));
  }
  remove(abs: string, dir: boolean): void {
    this.runner.remove(fsPath(abs), dir);
  }
  setDir(
    abs: string,
    owner: [number, number] | undefined,
    mode: number | undefined,
    mtime: number,
  ): void {
    const [uid, gid] = ownerIds(owner);
    this.runner.setDir(fsPath(abs), uid, gid, mode ?? -1, mtime);
  }
  async drained(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {
    this.runner.abandon();
  }
}
