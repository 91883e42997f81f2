import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endToEndHeaders, type Upstream } from './upstream.js';

/** One request the mirror received. */
export interface MirrorRequestRecord {
  method: string;
  url: string;
  /** Headers exactly as received (to check that no `Authorization` leaked across origins). */
  headers: http.IncomingHttpHeaders;
  status: number;
  bytesSent: number;
}

/**
 * A second origin that plays the part of a blob store behind a redirect (like S3 behind
 * a registry): it serves one-time signed URLs minted by {@link RedirectMirror.mint} with
 * the real bytes from the upstream registry, using the credentials of the request that was
 * redirected, never those the client sends to it.
 */
export interface RedirectMirror {
  /** Base URL, e.g. `http://127.0.0.1:40999` (another port: another origin). */
  url: string;
  /** Every request received, oldest first. */
  readonly requests: MirrorRequestRecord[];
  /**
   * A URL on the mirror that serves `path` of the upstream, fetched with
   * `authorization` (from the redirected request).
   */
  mint(path: string, authorization: string | undefined): string;
  close(): Promise<void>;
}

/** Start a {@link RedirectMirror} in front of `upstream`. */
export async function startRedirectMirror(upstream: Upstream): Promise<RedirectMirror> {
  const grants = new Map<string, { path: string; authorization?: string }>();
  const requests: MirrorRequestRecord[] = [];

  const server = http.createServer(async (req, res) => {
    const record: MirrorRequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      status: 0,
      bytesSent: 0,
    };
    requests.push(record);
    const id = /^\/blob\/([^/?]+)/.exec(req.url ?? '')?.[1];
    const grant = id === undefined ? undefined : grants.get(id);
    if (!grant || (req.method !== 'GET' && req.method !== 'HEAD')) {
      record.status = 403;
      res.writeHead(403, { 'content-type': 'text/plain' }).end('no such signed URL');
      return;
    }
    const headers = endToEndHeaders(req.headers, ['host', 'authorization', 'cookie']);
    if (grant.authorization) headers.authorization = grant.authorization;
    try {
      const up = await upstream.request({ method: req.method, path: grant.path, headers });
      record.status = up.statusCode ?? 502;
      // The registry's own headers (Docker-Content-Digest, ...) would not come from S3.
      const out = endToEndHeaders(up.headers, [
        'docker-content-digest',
        'docker-distribution-api-version',
      ]);
      res.writeHead(record.status, out);
      up.on('data', (chunk: Buffer) => {
        record.bytesSent += chunk.length;
      });
      up.pipe(res);
    } catch (err) {
      record.status = 502;
      res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    mint(path, authorization) {
      const id = randomUUID();
      grants.set(id, { path, authorization });
      return `${url}/blob/${id}?X-Amz-Expires=300&X-Amz-Signature=${id.replaceAll('-', '')}`;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
