import type { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from '../../digest/index.js';
import { startWorker } from '../../node/start-worker.js';
import { reapplyYoungGenerationHold } from '../../node/young-generation.js';

/** A message to the hashing thread. */
export type HashRequest =
  | {
      op: 'extend' | 'digest';
      key: number;
      /** The file, by name or by an fd of this process (kept open until the answer). */
      file: HashedFile;
      algorithm: DigestAlgorithm;
      size: number;
    }
  | { op: 'drop'; key: number };

/**
 * A file to hash: a path (opened for each step, never through a link) or a descriptor of
 * this process (threads share the descriptors), which its owner keeps open until the
 * digest is answered.
 */
export type HashedFile = string | { fd: number };

/** The hashing thread's answer to `digest`. */
export type HashReply =
  | { key: number; hex: string; error?: undefined }
  | { key: number; error: string };

/**
 * How far a file grows before the hashing thread is told to catch up: each message costs
 * both threads a little, a few MiB behind costs nothing (the bytes wait in the page cache).
 */
const EXTEND_STEP = 1 << 20;

/**
 * Hashes files on a thread of their own, reading them back as they are written: an
 * upload's bytes go to the file from the main thread and are hashed on the second core,
 * overlapping the transfer, instead of `hash.update` on the main thread for every piece
 * (sha256 was the biggest share of the server's CPU under a 64-client push). Reading back
 * costs a copy from the page cache, done on that thread too, and no buffer crosses
 * between the threads.
 *
 * The thread starts on first use and does not keep the process alive while idle.
 */
export class FileHasher {
  /** The one hashing thread of the process (the registry's uploads and first reads). */
  static readonly shared = new FileHasher();

  private worker: Worker | undefined;
  private nextKey = 1;
  private readonly waiting = new Map<
    number,
    { resolve(hex: string): void; reject(err: Error): void }
  >();

  /** Start hashing `file` from its first byte. */
  open(file: HashedFile, algorithm: DigestAlgorithm): FileHash {
    return new FileHash(this, this.nextKey++, file, algorithm);
  }

  /** @internal */
  send(request: HashRequest): void {
    this.workerOf().postMessage(request);
  }

  /** @internal */
  ask(request: HashRequest & { op: 'digest' }): Promise<string> {
    const worker = this.workerOf();
    return new Promise<string>((resolve, reject) => {
      this.waiting.set(request.key, { resolve, reject });
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage(request);
    });
  }

  /** Stop the thread (answers still awaited fail). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private workerOf(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'file-hash-worker');
    worker.unref();
    // Starting a thread puts V8's flags back as node started (the serve command holds the
    // young generation small): set again as the thread answers.
    worker.on('online', reapplyYoungGenerationHold);
    worker.on('message', (reply: HashReply) => {
      reapplyYoungGenerationHold();
      const waiter = this.waiting.get(reply.key);
      if (!waiter) return;
      this.waiting.delete(reply.key);
      if (this.waiting.size === 0) worker.unref();
      if (reply.error === undefined) waiter.resolve(reply.hex);
      else waiter.reject(new Error(`hashing failed: ${reply.error}`));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

/** One file being hashed by a {@link FileHasher}. */
export class FileHash {
  /** The size the thread was last told about. */
  private told = 0;
  private done = false;

  constructor(
    private readonly hasher: FileHasher,
    private readonly key: number,
    readonly file: HashedFile,
    readonly algorithm: DigestAlgorithm,
  ) {}

  /** The file now holds at least `size` bytes: the thread may hash up to there. */
  extend(size: number): void {
    if (this.done || size - this.told < EXTEND_STEP) return;
    this.told = size;
    const { key, file, algorithm } = this;
    this.hasher.send({ op: 'extend', key, file, algorithm, size });
  }

  /** The hex digest of the file's first `size` bytes; the hash is finished. */
  digest(size: number): Promise<string> {
    if (this.done) return Promise.reject(new Error('this hash is finished'));
    this.done = true;
    const { key, file, algorithm } = this;
    return this.hasher.ask({ op: 'digest', key, file, algorithm, size });
  }

  /** Forget the hash (the upload ended another way). */
  discard(): void {
    if (this.done) return;
    this.done = true;
    if (this.told > 0) this.hasher.send({ op: 'drop', key: this.key });
  }
}
