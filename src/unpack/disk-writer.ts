import {
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
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

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
  /** Append to the file being written. */
  write(chunk: Uint8Array): void;
  finishFile(finish: FileFinish): void;
  symlink(target: string, abs: string, owner: [number, number] | undefined, mtime: number): void;
  link(existingAbs: string, abs: string): void;
  /** Remove a file, symlink or whole directory (never following a symlink). */
  remove(abs: string, dir: boolean): void;
  /** True when the caller should `await drained()` before queueing more. */
  readonly backlogged: boolean;
  drained(): Promise<void>;
  /** Wait until every call so far has been carried out; throws the first failure. */
  flush(): Promise<void>;
  /** Release what the writer holds (after `flush`, or after a failure). */
  close(): Promise<void>;
}

/** One operation as it travels to the worker (see {@link runOp}). */
export type DiskOp =
  | [op: 'mkdir', abs: string, mode: number]
  | [op: 'create', abs: string, perm: number]
  | [op: 'write', offset: number, length: number]
  | [op: 'finish', owner: [number, number] | undefined, mode: number | undefined, mtime: number]
  | [op: 'symlink', target: string, abs: string, owner: [number, number] | undefined, mtime: number]
  | [op: 'link', existingAbs: string, abs: string]
  | [op: 'remove', abs: string, dir: boolean];

/** Carries out {@link DiskOp}s with plain synchronous system calls. */
export class OpRunner {
  private fd = -1;

  run(op: DiskOp, data?: Uint8Array): void {
    switch (op[0]) {
      case 'mkdir':
        mkdirSync(op[1], op[2]);
        return;
      case 'create':
        this.fd = openSync(op[1], O_CREATE, op[2]);
        return;
      case 'write': {
        const end = op[1] + op[2];
        let off = op[1];
        while (off < end) off += writeSync(this.fd, data!, off, end - off);
        return;
      }
      case 'finish': {
        const fd = this.fd;
        this.fd = -1;
        try {
          if (op[1]) fchownSync(fd, op[1][0], op[1][1]);
          if (op[2] !== undefined) fchmodSync(fd, op[2]);
          futimesSync(fd, op[3], op[3]);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'symlink':
        symlinkSync(op[1], op[2]);
        if (op[3]) lchownSync(op[2], op[3][0], op[3][1]);
        lutimesSync(op[2], op[4], op[4]);
        return;
      case 'link':
        linkSync(op[1], op[2]);
        return;
      case 'remove':
        if (op[2]) rmSync(op[1], { recursive: true, force: true });
        else unlinkSync(op[1]);
        return;
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

/** Every call made at once on the calling thread. */
export class SyncDiskWriter implements DiskWriter {
  private readonly runner = new OpRunner();
  readonly backlogged = false;

  mkdir(abs: string, mode: number): void {
    this.runner.run(['mkdir', abs, mode]);
  }
  createFile(abs: string, perm: number): void {
    this.runner.run(['create', abs, perm]);
  }
  write(chunk: Uint8Array): void {
    this.runner.run(['write', 0, chunk.length], chunk);
  }
  finishFile(f: FileFinish): void {
    this.runner.run(['finish', f.owner, f.mode, f.mtime]);
  }
  symlink(target: string, abs: string, owner: [number, number] | undefined, mtime: number): void {
    this.runner.run(['symlink', target, abs, owner, mtime]);
  }
  link(existingAbs: string, abs: string): void {
    this.runner.run(['link', existingAbs, abs]);
  }
  remove(abs: string, dir: boolean): void {
    this.runner.run(['remove', abs, dir]);
  }
  async drained(): Promise<void> {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {
    this.runner.abandon();
  }
}
