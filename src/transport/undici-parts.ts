/**
 * The three pieces of undici ocipeek uses, imported from their own files.
 *
 * `import … from 'undici'` runs the package's index, which loads fetch, WebSocket,
 * EventSource, the mock agents and the cache stores too (~1.2 MB of code once bundled);
 * that was a visible share of every short command's start-up. undici has no `exports`
 * map, so its `lib/` files are importable; that layout is not a promise of undici's, so
 * package.json pins undici to one minor version (`~7.30`). The types still come from
 * undici's own declarations (see src/types/undici-lib.d.ts).
 */

import type * as Undici from 'undici';
import apiRequest from 'undici/lib/api/api-request.js';
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import DecoratorHandlerImpl from 'undici/lib/handler/decorator-handler.js';

export type { Dispatcher } from 'undici';

export const Agent: typeof Undici.Agent = AgentImpl;
export type Agent = Undici.Agent;
export const DecoratorHandler: typeof Undici.DecoratorHandler = DecoratorHandlerImpl;

/** Options of {@link request}: undici's, with the dispatcher required. */
export type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'> & {
  dispatcher: Undici.Dispatcher;
};

/**
 * `undici.request(url, options)` without the package index: the same call the index's
 * wrapper makes (origin and path from the URL, the method defaulting as undici's does).
 */
export function request(
  url: URL,
  options: RequestOptions,
): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  return apiRequest.call(dispatcher, {
    ...rest,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: rest.method ?? (rest.body ? 'PUT' : 'GET'),
  });
}
