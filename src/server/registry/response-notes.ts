import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';

const current = new AsyncLocalStorage<ServerResponse>();

/**
 * Whether requests run with their answer in {@link current}. Off until a backend that
 * notes headers is made: in Node 20 a running `AsyncLocalStorage` turns on the async
 * hooks for the whole process, a hook call on every promise, tick and socket (1.1% of a
 * 64-client push's CPU, 2.6% of its main thread), which a registry without a
 * pull-through cache pays for nothing.
 */
let enabled = false;

/** Let requests carry their answer from now on (a pull-through cache calls this when made). */
export function enableResponseNotes(): void {
  enabled = true;
}

/** Run `work` (one request's handling) so that storage code can annotate its answer. */
export function withResponseNotes<T>(res: ServerResponse, work: () => Promise<T>): Promise<T> {
  return enabled ? current.run(res, work) : work();
}

/**
 * Add a header to the answer of the request being handled, when there is one and its
 * head has not been sent. Storage code uses it for what only it knows, as the
 * pull-through cache's `X-Ocipeek-Cache: stale` and `Warning` on an answer served while
 * its upstream is unreachable: the `RegistryBackend` interface carries content, not
 * headers, and stays the same for every backend. Code that notes must have called
 * {@link enableResponseNotes} first.
 */
export function noteResponseHeader(name: string, value: string): void {
  const res = current.getStore();
  if (res && !res.headersSent) res.setHeader(name, value);
}
