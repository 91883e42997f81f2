import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';

const current = new AsyncLocalStorage<ServerResponse>();

/** Run `work` (one request's handling) so that storage code can annotate its answer. */
export function withResponseNotes<T>(res: ServerResponse, work: () => Promise<T>): Promise<T> {
  return current.run(res, work);
}

/**
 * Add a header to the answer of the request being handled, when there is one and its
 * head has not been sent. Storage code uses it for what only it knows, as the
 * pull-through cache's `X-Ocipeek-Cache: stale` and `Warning` on an answer served while
 * its upstream is unreachable: the `RegistryBackend` interface carries content, not
 * headers, and stays the same for every backend.
 */
export function noteResponseHeader(name: string, value: string): void {
  const res = current.getStore();
  if (res && !res.headersSent) res.setHeader(name, value);
}
