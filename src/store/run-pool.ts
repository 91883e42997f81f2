import { setMaxListeners } from 'node:events';

/**
 * Run `task` over `items` with at most `concurrency` at a time. The first failure aborts
 * the `signal` handed to the other tasks (so downloads stop promptly) and is rethrown
 * once every task has settled.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  // Every download adds abort listeners (stream pipeline, HTTP request, backoff sleeps).
  setMaxListeners(Math.max(10, concurrency * 8), controller.signal);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        controller.signal.throwIfAborted();
        await task(item, controller.signal);
      } catch (error) {
        if (!failure) {
          failure = { error: signal?.aborted ? (signal.reason ?? error) : error };
          controller.abort(error);
        }
      }
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
}
