import type { Server } from 'node:http';

/** How long a kept-alive connection may stay idle between requests. */
export const KEEP_ALIVE_MS = 60_000;

/**
 * The keep-alive rule of every listening HTTP server of ocipeek (the registry and its
 * pull-through cache, the web explorer). Node closes a kept-alive connection 5 s after
 * its last answer went to the kernel. A client under load may still be reading that
 * answer out of the socket buffers (megabytes on loopback) when the timer fires, and its
 * next request then meets a closed connection: 26 "socket hang up" of 989 requests in a
 * 64-client pull on a busy machine. distribution (Go) keeps idle connections without a
 * limit; 60 s, as load balancers do. Closing a server still closes idle connections at
 * once. (The image proxy serves one connection its client handed over, with no timeouts
 * at all.)
 */
export function keepConnectionsAlive(
  server: Pick<Server, 'keepAliveTimeout' | 'headersTimeout'>,
): void {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Above the keep-alive time, as Node advises for a server behind a proxy.
  server.headersTimeout = KEEP_ALIVE_MS + 5_000;
}
