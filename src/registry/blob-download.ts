import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PositionalWriter, type WriteTarget, writeTargetFor } from '../store/positional-writer.js';
import type { BlobStream } from './blobs.js';
import { SpoolReader } from './spool-reader.js';

/** Where a download stands. */
export type DownloadState = 'running' | 'verified' | 'failed';

/** What {@link BlobDownload.start} needs. */
export interface BlobDownloadOptions {
  /**
   * Open the blob at its source: a verified stream of exactly `size` bytes (a
   * `RegistryClient`'s, which resumes broken connections). `signal` stops it: the
   * download's own, never one client's.
   */
  open: (signal: AbortSignal) => Promise<BlobStream>;
  digest: string;
  /** The exact size (from a manifest or a HEAD): more or fewer bytes fail the download. */
  size: number;
  /** A folder for the spool file (it is unlinked at once, so nothing is left after a crash). */
  spoolDir: string;
  /**
   * Called once the whole blob was received and verified, with a reader of it: store it.
   * The download counts as finished when this settles.
   */
  onVerified: (body: Readable) => Promise<void>;
}

/**
 * One fetch of one blob, shared by every client that wants it meanwhile (the
 * single flight). The bytes land in a spool file as they arrive; each client reads that
 * file with its own {@link SpoolReader}, so the first client gets bytes as they come, a
 * client that joins late starts from byte 0 (or its `Range`) and catches up, and a client
 * that goes away only closes its reader: the download carries on for the others and for
 * the cache. A whole read ends only once the blob verified; a blob that fails its size or
 * digest fails every reader still open, so no client is shown a clean end of wrong bytes.
 *
 * The spool costs a second write of the blob (the storage writes its own copy once it is
 * verified): the storage interface takes a stream, and the readers need random access to
 * what came so far, which a stream into the storage cannot give.
 */
export class BlobDownload {
  state: DownloadState = 'running';
  failure: Error | undefined;
  /** Bytes in the spool file, readable now. */
  received = 0;
  /** Settles (never rejects) once the blob is stored or the download failed. */
  readonly finished: Promise<void>;
  private changedNow: Promise<void>;
  private signalChange!: () => void;
  /** Why the verified blob could not be stored (the clients were served all the same). */
  storeFailure: Error | undefined;
  private users = 1;

  private constructor(
    readonly digest: string,
    readonly size: number,
    readonly file: FileHandle,
    private readonly target: WriteTarget,
    private readonly abort: AbortController,
    stream: BlobStream,
    onVerified: BlobDownloadOptions['onVerified'],
  ) {
    this.changedNow = this.nextChange();
    this.finished = this.run(stream, onVerified);
  }

  /**
   * Open the spool file and the blob at its source; rejects (leaving nothing) when the
   * source does not answer with the blob, so the first client gets a clean error.
   */
  static async start(options: BlobDownloadOptions): Promise<BlobDownload> {
    await mkdir(options.spoolDir, { recursive: true });
    const path = join(
      options.spoolDir,
      `${options.digest.replace(':', '-')}.${process.pid}.${randomBytes(6).toString('hex')}.spool`,
    );
    const [file, target] = await Promise.all([
      open(path, 'wx+', 0o600),
      writeTargetFor(options.spoolDir),
    ]);
    await unlink(path);
    try {
      const abort = new AbortController();
      const stream = await options.open(abort.signal);
      return new BlobDownload(
        options.digest,
        options.size,
        file,
        target,
        abort,
        stream,
        options.onVerified,
      );
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Resolves at the next change of `received` or `state`. */
  get changed(): Promise<void> {
    return this.changedNow;
  }

  /** A reader of the whole blob, or of bytes `start..end` (inclusive). */
  reader(range?: { start: number; end: number }): Readable {
    this.users++;
    return new SpoolReader(this, range?.start ?? 0, range?.end ?? this.size - 1, !range, () =>
      this.release(),
    );
  }

  /** Stop the fetch (the cache is closing): every reader fails. */
  cancel(reason: Error): void {
    this.abort.abort(reason);
  }

  private nextChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.signalChange = resolve;
    });
  }

  private changedTo(update: () => void): void {
    update();
    const signal = this.signalChange;
    this.changedNow = this.nextChange();
    signal();
  }

  private async run(
    stream: BlobStream,
    onVerified: BlobDownloadOptions['onVerified'],
  ): Promise<void> {
    const writer = new PositionalWriter(this.file, 0, {
      target: this.target,
      // Clients read the spool back as it grows (the target decides how that is written).
      use: 'relay',
      onWritten: (position) => this.changedTo(() => (this.received = position)),
    });
    const onAbort = () => stream.destroy(this.abort.signal.reason as Error);
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await stream.pipeTo(writer.write);
      this.changedTo(() => (this.state = 'verified'));
      const body = this.reader();
      try {
        await onVerified(body);
      } finally {
        body.destroy(); // a storage that gave up early must not keep the spool open
      }
    } catch (err) {
      if (this.state === 'running') {
        this.changedTo(() => {
          this.state = 'failed';
          this.failure = err as Error;
        });
      } else this.storeFailure = err as Error;
    } finally {
      this.abort.signal.removeEventListener('abort', onAbort);
      this.release();
    }
  }

  private release(): void {
    this.users--;
    if (this.users === 0) void this.file.close().catch(() => {});
  }
}
