import { lstat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../media/index.js';
import type { ImageSource } from '../source/index.js';
import { partialPathOf } from './blob-writer.js';
import { errnoCode } from './fs-errors.js';
import type { Store } from './store.js';

/**
 * A pull's first blob requests, sent as soon as its plan is known instead of after the
 * pin, the blob locks and the `.partial` files (request early, write late).
 *
 * Why: on a new store those steps are a dozen thread-pool round trips, and the registry
 * then takes a few milliseconds more to a blob's first byte; sent first, the requests
 * travel and the registry answers while the store gets ready. A pull of the app image
 * into tmpfs spent ~15-30 ms between the manifest's answer and its first blob request
 * (bench/ANALYSIS.md, twelfth session).
 *
 * What stays as it was: nothing is written before the pin exists and the blob's lock is
 * held. An early response is only read once {@link take} hands it to the blob's writer
 * (under its lock, with its `.partial` file open); until then the connection holds at
 * most one read of its body and reads no more (`ResponseBody`). A response nobody takes,
 * because the writer found the blob stored (another process finished it), a kept
 * `.partial` to resume with `Range`, or the pull failed, is destroyed, which closes its
 * connection ({@link abandon}, {@link abandonAll}).
 *
 * Which blobs: those a look into `blobs/` and `tmp/` made beside the pin finds neither
 * stored nor begun (a stored blob is not asked for; a kept `.partial` is resumed with
 * `Range` by its writer), at most `limit` of them, the first the pull's pool starts. The
 * look is a hint only: the pull looks again once pinned, and the writer under the lock.
 * So two processes pulling one image at once may both ask for a blob; one of them
 * stores it and the other drops its response after at most one read.
 */
export class EarlyBlobRequests {
  private readonly requests = new Map<string, EarlyRequest>();
  /** Settles once the requests are sent (or none will be). */
  private readonly sent: Promise<void>;
  private closed = false;

  private constructor(
    source: ImageSource,
    store: Store,
    blobs: readonly Descriptor[],
    limit: number,
    signal: AbortSignal | undefined,
  ) {
    this.sent = this.send(source, store, blobs, limit, signal).catch(() => {
      // A failed look sends nothing early; the writers ask as they always did.
    });
  }

  /** Start looking up `blobs` and requesting the first `limit` the store lacks. */
  static start(
    source: ImageSource,
    store: Store,
    blobs: readonly Descriptor[],
    options: { limit: number; signal?: AbortSignal },
  ): EarlyBlobRequests {
    return new EarlyBlobRequests(source, store, blobs, options.limit, options.signal);
  }

  private async send(
    source: ImageSource,
    store: Store,
    blobs: readonly Descriptor[],
    limit: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (limit <= 0 || blobs.length === 0) return;
    const absent = await Promise.all(
      blobs.map(async (b) => {
        const [size, partial] = await Promise.all([
          store.hasBlob(b.digest),
          lstat(partialPathOf(store, b.digest)).then(
            () => true,
            (err: unknown) => errnoCode(err) !== 'ENOENT',
          ),
        ]);
        return size !== b.size && !partial;
      }),
    );
    const wanted = blobs.filter((_, i) => absent[i]).slice(0, limit);
    for (const blob of wanted) {
      if (this.closed || signal?.aborted) return;
      if (this.requests.has(blob.digest)) continue;
      // Its own signal: the pull's, and the taking writer's once taken, so that the
      // writer's abort ends this request as it ends one the writer made itself.
      const controller = new AbortController();
      const stop = () => controller.abort(signal?.reason);
      signal?.addEventListener('abort', stop, { once: true });
      const request = source.openBlob(blob, { signal: controller.signal });
      // A request that fails before a writer takes it is that writer's error to see (the
      // same promise is handed over); one nobody takes is of no interest.
      request.catch(() => {});
      const done = () => signal?.removeEventListener('abort', stop);
      request.then(done, done);
      this.requests.set(blob.digest, { request, controller });
    }
  }

  /**
   * The response to the early request for `digest` from byte 0, for the blob's writer to
   * read (its lock held, its file open), aborted when `signal` (the writer's) aborts;
   * undefined when none was sent. Each response is taken at most once.
   */
  async take(digest: string, signal?: AbortSignal): Promise<Readable | undefined> {
    await this.sent;
    const early = this.requests.get(digest);
    if (!early) return undefined;
    this.requests.delete(digest);
    if (signal) {
      const stop = () => early.controller.abort(signal.reason);
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    }
    return early.request;
  }

  /** Drop the early response for `digest`, if it was sent and not taken: its connection closes. */
  async abandon(digest: string): Promise<void> {
    await this.sent;
    const early = this.requests.get(digest);
    if (!early) return;
    this.requests.delete(digest);
    await drop(early);
  }

  /** Drop every response not taken, and send none that were still to go. */
  async abandonAll(): Promise<void> {
    this.closed = true;
    await this.sent;
    const left = [...this.requests.values()];
    this.requests.clear();
    await Promise.all(left.map(drop));
  }
}

interface EarlyRequest {
  request: Promise<Readable>;
  controller: AbortController;
}

/** End `early`: a response still awaited is aborted, one that came is destroyed. */
async function drop(early: EarlyRequest): Promise<void> {
  early.controller.abort();
  try {
    (await early.request).destroy();
  } catch {
    // Aborted or failed: no connection is left open.
  }
}
