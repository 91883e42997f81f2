import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What went through the proxy since the last reset. */
export interface ProxyCounts {
  requests: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** Response body bytes per `METHOD path` (query string dropped). */
  byPath: Map<string, number>;
  /** Every request's `METHOD path` (query string dropped), in the order they arrived. */
  sequence: string[];
  /** Client connections opened to the proxy. */
  connections: number;
}

function emptyCounts(): ProxyCounts {
  return { requests: 0, bytes: 0, byPath: new Map(), sequence: [], connections: 0 };
}

/** A counting HTTP proxy in front of the registry (see {@link startCountingProxy}). */
export interface CountingProxy {
  /** `127.0.0.1:PORT`, to use in place of the registry's host. */
  host: string;
  counts(): ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A plain HTTP reverse proxy on loopback that forwards everything to `target`
 * (`127.0.0.1:PORT`) and counts response body bytes. Peers have no `--stats`; their
 * bytes fetched are what this proxy saw in one untimed run (timed runs go direct).
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const [targetHost, targetPort] = target.split(':');
  let counts = emptyCounts();
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const mine = counts;
    mine.requests++;
    mine.sequence.push(key);
    const upstream = http.request(
      {
        host: targetHost,
        port: Number(targetPort),
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.on('data', (chunk: Buffer) => {
          mine.bytes += chunk.length;
          mine.byPath.set(key, (mine.byPath.get(key) ?? 0) + chunk.length);
        });
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', () => counts.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    counts: () => counts,
    reset: () => {
      counts = emptyCounts();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** Bytes the proxy served for blob GETs of `digest` (any repository). */
export function blobBytes(counts: ProxyCounts, digest: string): number {
  let total = 0;
  for (const [key, bytes] of counts.byPath) {
    if (key.startsWith('GET ') && key.endsWith(`/blobs/${digest}`)) total += bytes;
  }
  return total;
}
