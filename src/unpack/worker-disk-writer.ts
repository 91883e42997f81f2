import { Worker } from 'node:worker_threads';
import { type DiskOps, type DiskWriter, type FileFinish, Op } from './disk-writer.js';

/** File bytes gathered before a batch goes to the writer thread. */
const BATCH_BYTES = 1 << 20;
/** Array slots (opcodes and arguments) gathered before a batch goes. */
const BATCH_SLOTS = 4096;
/** Batches on their way or being written before the caller is asked to wait. */
const MAX_IN_FLIGHT = 8;

/** A batch of operations, file bytes packed in one transferred buffer. */
export interface DiskBatch {
  ops: DiskOps;
  data: Uint8Array;
}

/** The writer thread's answer to a batch: done, or the first failure (later batches skipped). */
export interface DiskBatchResult {
  error?: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
}

/**
 * The writer thread: built, the .js file beside this one (the CLI bundle puts it next to
 * its chunks). Run from TypeScript sources (tests), Node 20 workers do not inherit the
 * loader hooks, so a bootstrap registers tsx in the worker before importing the .ts file.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./disk-writer-worker.js', here));
  const target = JSON.stringify(new URL('./disk-writer-worker.ts', here).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const code = `import { register } from ${tsx}; register(); await import(${target});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
}

/**
 * Hands the file system calls to a thread of their own, in order, in batches: the calling
 * thread goes on parsing the next entries while the kernel creates and fills the previous
 * ones. Unpacking is CPU-bound on both sides (tar parsing and model keeping in JavaScript,
 * ~1.5 s of open/write/futimes/close per 50,000 files in the kernel), so running them on
 * two cores instead of one is most of what can still be gained. Order is kept (one thread,
 * first in first out), so every rule the caller's model relies on holds as with
 * {@link SyncDiskWriter}. A failure surfaces at the next call, `drained` or `flush`.
 */
export class WorkerDiskWriter implements DiskWriter {
  private readonly worker = startWorker();
  private ops: DiskOps = [];
  private data = new Uint8Array(BATCH_BYTES);
  private dataLength = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor() {
    this.worker.on('message', (r: DiskBatchResult) => {
      this.inFlight--;
      if (r.error && !this.failure) {
        const { message, ...fields } = r.error;
        this.failure = Object.assign(new Error(message), fields);
      }
      this.wake?.();
    });
    this.worker.on('error', (err) => {
      this.failure ??= err;
      this.wake?.();
    });
  }

  get backlogged(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }

  mkdir(abs: string, mode: number): void {
    this.check();
    this.ops.push(Op.mkdir, abs, mode);
    this.sendIfFull();
  }

  createFile(abs: string, perm: number): void {
    this.check();
    this.ops.push(Op.create, abs, perm);
    this.sendIfFull();
  }

  write(chunk: Uint8Array): void {
    this.check();
    if (this.dataLength + chunk.length > this.data.length) {
      this.send();
      if (chunk.length > this.data.length) this.data = new Uint8Array(chunk.length);
    }
    this.data.set(chunk, this.dataLength);
    this.ops.push(Op.write, this.dataLength, chunk.length);
    this.dataLength += chunk.length;
    if (this.dataLength >= BATCH_BYTES) this.send();
  }

  finishFile(f: FileFinish): void {
    this.check();
    this.ops.push(Op.finish, f.owner?.[0] ?? -1, f.owner?.[1] ?? -1, f.mode ?? -1, f.mtime);
    this.sendIfFull();
  }

  symlink(target: string, abs: string, owner: [number, number] | undefined, mtime: number): void {
    this.check();
    this.ops.push(Op.symlink, target, abs, owner?.[0] ?? -1, owner?.[1] ?? -1, mtime);
    this.sendIfFull();
  }

  link(existingAbs: string, abs: string): void {
    this.check();
    this.ops.push(Op.link, existingAbs, abs);
    this.sendIfFull();
  }

  remove(abs: string, dir: boolean): void {
    this.check();
    this.ops.push(Op.remove, abs, dir);
    this.sendIfFull();
  }

  async drained(): Promise<void> {
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) await this.nextAnswer();
    this.check();
  }

  async flush(): Promise<void> {
    this.send();
    while (this.inFlight > 0 && !this.failure) await this.nextAnswer();
    this.check();
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private sendIfFull(): void {
    if (this.ops.length >= BATCH_SLOTS) this.send();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private send(): void {
    if (this.ops.length === 0) return;
    const batch: DiskBatch = { ops: this.ops, data: this.data.subarray(0, this.dataLength) };
    this.worker.postMessage(batch, [this.data.buffer as ArrayBuffer]);
    this.inFlight++;
    this.ops = [];
    this.data = new Uint8Array(BATCH_BYTES);
    this.dataLength = 0;
  }

  private nextAnswer(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }
}
