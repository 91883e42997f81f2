import { setMaxListeners } from 'node:events';
import pLimit, { type LimitFunction } from 'p-limit';
import { InvalidArgumentError } from '../errors/index.js';

/** Options of {@link TaskPool} and {@link mapPool}. */
export interface TaskPoolOptions {
  /** Tasks running at once: a positive integer. */
  concurrency: number;
  /** Aborting it aborts the pool; its reason becomes the pool's error. */
  signal?: AbortSignal;
}

/** `concurrency` when it is a positive integer, else an {@link InvalidArgumentError}. */
export function checkConcurrency(concurrency: number): number {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgumentError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  return concurrency;
}

/** A unit of work; it should stop promptly once `signal` is aborted. */
export type PoolTask<T> = (signal: AbortSignal) => Promise<T>;

/**
 * At most `concurrency` tasks at a time, and one failure ends the whole batch: the first
 * task to fail aborts {@link TaskPool.signal} (which every task was handed, so downloads
 * in flight stop), no queued task starts any more, and {@link TaskPool.drain} reports
 * that first error once everything started has settled, so no work outlives the call.
 *
 * The queue is p-limit's; what p-limit leaves to its caller (it does not cancel running
 * work: "clearQueue() does not cancel promises that are already running", and p-map's
 * `stopOnError` rejects at once while started mappers go on running) is this class: the
 * shared AbortSignal, the first error kept, and waiting for the tasks already started.
 *
 * @example
 * ```ts
 * const pool = new TaskPool({ concurrency: 4, signal });
 * for (const blob of blobs) pool.run((s) => download(blob, s));
 * await pool.drain(); // throws the first failure, after the others were aborted
 * ```
 */
export class TaskPool {
  /** Aborted on the first failure (with that error) or when the caller's signal is. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly limit: LimitFunction;
  private failure: { error: unknown } | undefined;
  private readonly unsettled = new Set<Promise<unknown>>();
  private readonly outer: AbortSignal | undefined;
  private readonly onOuterAbort = () => this.fail(this.outer?.reason);

  constructor(options: TaskPoolOptions) {
    const concurrency = checkConcurrency(options.concurrency);
    this.limit = pLimit({ concurrency, rejectOnClear: true });
    this.signal = this.controller.signal;
    // Every task adds abort listeners (stream pipelines, HTTP requests, backoff sleeps).
    setMaxListeners(Math.max(10, concurrency * 8), this.signal);
    this.outer = options.signal;
    if (this.outer?.aborted) this.fail(this.outer.reason);
    else this.outer?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  /** The first failure, once there was one. */
  get error(): unknown {
    return this.failure?.error;
  }

  /** True once a task failed or the pool was aborted. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Queue `task`. Its promise settles with the task's result; a task that never started
   * because the pool failed first rejects with the pool's first error. The pool watches
   * every promise it hands out, so leaving one unawaited is not an unhandled rejection.
   */
  run<T>(task: PoolTask<T>): Promise<T> {
    let result: Promise<T>;
    if (this.failure) {
      result = Promise.reject(this.failure.error);
    } else {
      result = this.limit(async () => {
        this.signal.throwIfAborted();
        try {
          return await task(this.signal);
        } catch (error) {
          // Before the task's promise settles, so p-limit has nothing left to start.
          this.fail(error);
          throw error;
        }
      }).catch((error: unknown) => {
        // A queued task cleared by the failure: report the failure, not p-limit's AbortError.
        throw this.failure ? this.failure.error : error;
      });
    }
    const watched = result.then(
      () => undefined,
      () => undefined,
    );
    this.unsettled.add(watched);
    void watched.then(() => this.unsettled.delete(watched));
    return result;
  }

  /**
   * Fail the pool with `error` (ignored after the first): abort the signal, drop the
   * queue. For callers whose own work, beside the tasks, failed.
   */
  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.controller.abort(error);
    this.limit.clearQueue();
  }

  /**
   * Wait until every task handed to {@link run} has settled, then throw the first failure
   * if there was one. Call it last: it stops following the caller's signal.
   */
  async drain(): Promise<void> {
    while (this.unsettled.size > 0) await Promise.all([...this.unsettled]);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
    if (this.failure) throw this.failure.error;
  }
}

/**
 * `task` over `items`, at most `options.concurrency` at a time, results in item order.
 * The first failure aborts the signal the other tasks got, starts no further item, and
 * is thrown once the running ones have settled (see {@link TaskPool}).
 */
export async function mapPool<T, R>(
  items: readonly T[],
  task: (item: T, signal: AbortSignal, index: number) => Promise<R>,
  options: TaskPoolOptions,
): Promise<R[]> {
  const pool = new TaskPool(options);
  const results = items.map((item, index) => pool.run((signal) => task(item, signal, index)));
  await pool.drain();
  return Promise.all(results);
}
