import type { Worker } from 'node:worker_threads';
import { startWorker } from '../node/start-worker.js';
import { reapplyYoungGenerationHold } from '../node/young-generation.js';
import { encodeName, hasEscapedBytes } from '../tar/name-codec.js';
import { type DiskOps, type DiskWriter, type FileFinish, Op, ownerIds } from './disk-writer.js';

/**
 * File bytes (and path bytes) gathered before a batch goes to the writer thread. 512 KiB
 * rather than 1 MiB: the batches in flight stay resident (see {@link MAX_IN_FLIGHT}), and
 * halving them gave back the ~5 MB of peak RSS that unpack's larger gzip pieces cost, at
 * the same wall and CPU (bench/ANALYSIS.md, ninth session).
 */
const BATCH_BYTES = 512 * 1024;
/** Operation slots (opcodes and arguments) gathered before a batch goes. */
const BATCH_SLOTS = 4096;
/** The most slots one call takes (symlink). */
const MAX_OP_SLOTS = 8;
/**
 * Batches on their way or being written before the caller is asked to wait. Each is up to
 * {@link BATCH_BYTES} of file bytes that stays resident once used (the spare batches are
 * reused), so this bounds the writer's share of unpack's memory (2 MiB). On a loaded
 * machine 8 -> 4 changed the app image's CPU and peak RSS by less than the noise, with
 * fewer minor faults in three series of five (bench/ANALYSIS.md, eighth session); four
 * batches of 512 KiB still keep the writer thread busy (ninth session: same wall as four
 * of 1 MiB).
 */
const MAX_IN_FLIGHT = 4;

/** A batch of operations and the bytes they refer to, both transferred. */
export interface DiskBatch {
  ops: DiskOps;
  /** Slots of `ops` in use. */
  count: number;
  data: Uint8Array;
}

/**
 * The writer thread's answer to a batch: done, or the first failure (later batches
 * skipped). The batch's buffers come back with it (transferred), to be filled again.
 */
export interface DiskBatchResult {
  error?: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
  ops: DiskOps;
  data: Uint8Array;
}

/** What the writer thread is started with (its `workerData`). */
export interface DiskWriterSettings {
  /** The most one `write` system call carries (see `OpRunner`); default unlimited. */
  maxWriteBytes?: number;
}

/** The writer thread (`disk-writer-worker`, beside this module or the CLI bundle). */
function startDiskWriterWorker(settings: DiskWriterSettings): Worker {
  return startWorker(import.meta.url, 'disk-writer-worker', settings);
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
  private readonly worker: Worker;
  private ops: DiskOps = new Float64Array(BATCH_SLOTS);
  private count = 0;
  private data = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private dataLength = 0;
  /**
   * Batch buffers the writer thread handed back, ready to be filled again. Reused rather
   * than allocated per batch: every fresh 1 MiB that crossed to the other thread stayed
   * resident there until that thread's next garbage collection, which a thread that
   * allocates next to nothing rarely runs (tens of MB of dead batches at the peak).
   */
  private readonly spare: Array<{ ops: DiskOps; data: Buffer<ArrayBuffer> }> = [];
  private inFlight = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(settings: DiskWriterSettings = {}) {
    this.worker = startDiskWriterWorker(settings);
    // Its start resets V8's flags, at a point that can come after it went online or
    // answered first: the hold goes back on with every answer (a flag parse, ~1 us).
    this.worker.once('online', reapplyYoungGenerationHold);
    this.worker.on('message', (r: DiskBatchResult) => {
      reapplyYoungGenerationHold();
      this.inFlight--;
      const data = r.data;
      if (data.buffer.byteLength === BATCH_BYTES) {
        this.spare.push({
          ops: r.ops,
          data: Buffer.from(data.buffer as ArrayBuffer, 0, BATCH_BYTES),
        });
      }
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
    this.pathAndNumber(Op.mkdir, abs, mode);
  }

  createFile(abs: string, perm: number): void {
    this.pathAndNumber(Op.create, abs, perm);
  }

  write(chunk: Uint8Array): void {
    this.begin(chunk.length);
    this.data.set(chunk, this.dataLength);
    this.slot(Op.write);
    this.slot(this.dataLength);
    this.slot(chunk.length);
    this.dataLength += chunk.length;
    if (this.dataLength >= BATCH_BYTES) this.send();
  }

  finishFile(f: FileFinish): void {
    this.begin(0);
    this.slot(Op.finish);
    this.owner(f.owner);
    this.slot(f.mode ?? -1);
    this.slot(f.mtime);
  }

  symlink(target: string, abs: string, owner: [number, number] | undefined, mtime: number): void {
    this.begin((target.length + abs.length) * 3);
    this.slot(Op.symlink);
    this.text(target);
    this.text(abs);
    this.owner(owner);
    this.slot(mtime);
  }

  link(existingAbs: string, abs: string): void {
    this.begin((existingAbs.length + abs.length) * 3);
    this.slot(Op.link);
    this.text(existingAbs);
    this.text(abs);
  }

  /** Two slots: the owner's uid and gid (see {@link ownerIds}). */
  private owner(owner: [number, number] | undefined): void {
    const [uid, gid] = ownerIds(owner);
    this.slot(uid);
    this.slot(gid);
  }

  remove(abs: string, dir: boolean): void {
    this.pathAndNumber(Op.remove, abs, dir ? 1 : 0);
  }

  setDir(
    abs: string,
    owner: [number, number] | undefined,
    mode: number | undefined,
    mtime: number,
  ): void {
    this.begin(abs.length * 3);
    this.slot(Op.setDir);
    this.text(abs);
    this.owner(owner);
    this.slot(mode ?? -1);
    this.slot(mtime);
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

  /**
   * Make room for one call taking up to `bytes` of data (a UTF-8 path is at most three
   * bytes per UTF-16 unit): the current batch goes first when either buffer is short.
   */
  private begin(bytes: number): void {
    this.check();
    if (this.count + MAX_OP_SLOTS > BATCH_SLOTS || this.dataLength + bytes > this.data.length) {
      this.send();
      if (bytes > this.data.length) this.data = Buffer.allocUnsafeSlow(bytes);
    }
  }

  /** The calls that take one path and one number (mkdir, create, remove). */
  private pathAndNumber(op: number, abs: string, value: number): void {
    this.begin(abs.length * 3);
    this.slot(op);
    this.text(abs);
    this.slot(value);
  }

  private slot(value: number): void {
    this.ops[this.count++] = value;
  }

  /**
   * A path as offset and length of its bytes in the batch's data: UTF-8, except that a
   * name's escaped bytes (`tar/name-codec.ts`) go as themselves. Only a path that is not
   * ASCII (its UTF-8 is longer than the string) can hold them, so ASCII paths pay nothing.
   */
  private text(value: string): void {
    let length = this.data.write(value, this.dataLength, 'utf8');
    if (length !== value.length && hasEscapedBytes(value)) {
      length = encodeName(value).copy(this.data, this.dataLength);
    }
    this.slot(this.dataLength);
    this.slot(length);
    this.dataLength += length;
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private send(): void {
    if (this.count === 0) return;
    const batch: DiskBatch = {
      ops: this.ops,
      count: this.count,
      data: new Uint8Array(this.data.buffer, 0, this.dataLength),
    };
    this.worker.postMessage(batch, [
      this.ops.buffer as ArrayBuffer,
      this.data.buffer as ArrayBuffer,
    ]);
    this.inFlight++;
    const next = this.spare.pop();
    this.ops = next?.ops ?? new Float64Array(BATCH_SLOTS);
    this.count = 0;
    this.data = next?.data ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
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
