import http from 'node:http';
import type { Duplex } from 'node:stream';
import { isDigest } from '../../digest/index.js';
import { MediaType } from '../../media/index.js';
import { sendBlobBody } from '../blob-response.js';
import type { ProxyImage } from './proxy-image.js';

/*
 * container-image-proxy's protocol: HTTP/1.1 on one connection the parent process hands
 * over (an inherited socket, or stdin and stdout), serving one image:
 *   GET /manifest          the manifest as OCI; `Manifest-Digest` = the original's digest
 *   GET /blobs/DIGEST      a blob as stored, verified while it streams
 *   POST /quit             200, then the proxy ends
 * Node's own HTTP server parses the requests (keep-alive, pipelining); the requests of
 * the connection are answered one at a time, in order, so a pipelined blob does not
 * open its upstream connection (and its timeouts) while another blob is streaming.
 */

/** How a served connection ended. */
export type HttpProxyEnd = 'quit' | 'end';

/** Options of {@link serveHttpProxy}. */
export interface ServeHttpProxyOptions {
  /** The image, opened on the first request that needs it (a failure answers 500). */
  image: () => Promise<ProxyImage>;
  /** One line per request (for `--debug`). */
  log?: (line: string) => void;
}

/** A failure after the status line went out: the connection is closed instead. */
class BrokenResponse extends Error {}

function sendText(res: http.ServerResponse, status: number, text: string, headers = {}): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
  });
  res.end(body);
}

/** Resolves when the response went out whole, or the connection closed. */
function finished(res: http.ServerResponse, connection: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (res.writableFinished || res.destroyed || connection.destroyed) {
      resolve();
      return;
    }
    const done = () => {
      res.off('finish', done).off('close', done);
      connection.off('close', done);
      resolve();
    };
    res.on('finish', done).on('close', done);
    connection.on('close', done);
  });
}

async function respond(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: ServeHttpProxyOptions,
): Promise<'quit' | undefined> {
  req.resume(); // no request has a body worth reading
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const route =
    path === '/manifest'
      ? { method: 'GET' }
      : path.startsWith('/blobs/')
        ? { method: 'GET' }
        : path === '/quit'
          ? { method: 'POST' }
          : undefined;
  if (!route) {
    sendText(res, 400, `unknown path ${path} (GET /manifest, GET /blobs/DIGEST, POST /quit)`);
    return undefined;
  }
  if (req.method !== route.method) {
    sendText(res, 405, `${req.method} ${path}: use ${route.method}`, { allow: route.method });
    return undefined;
  }
  if (path === '/quit') {
    res.writeHead(200, { 'content-length': 0 }).end();
    return 'quit';
  }
  const digest =
    path === '/manifest' ? undefined : decodeURIComponent(path.slice('/blobs/'.length));
  if (digest !== undefined && !isDigest(digest)) {
    sendText(res, 400, `invalid digest ${JSON.stringify(digest)}`);
    return undefined;
  }
  try {
    const image = await options.image();
    if (digest === undefined) {
      const manifest = await image.ociManifest();
      res.writeHead(200, {
        'content-type': MediaType.ociManifest,
        'content-length': manifest.bytes.length,
        'manifest-digest': manifest.digest,
      });
      res.end(manifest.bytes);
      return undefined;
    }
    const blob = await image.openBlob(digest);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': blob.size,
    });
    try {
      await sendBlobBody(blob.stream, blob.size, res);
    } catch (err) {
      throw new BrokenResponse(err instanceof Error ? err.message : String(err), { cause: err });
    }
  } catch (err) {
    if (err instanceof BrokenResponse || res.headersSent) {
      // The client already has part of the body: only a closed connection tells it the
      // bytes are not the blob.
      res.destroy();
      throw err;
    }
    sendText(res, 500, err instanceof Error ? err.message : String(err));
  }
  return undefined;
}

/**
 * Serve the container-image-proxy protocol on `connection` until the client quits
 * (`POST /quit`, resolves `quit` once the reply went out) or closes its end (`end`).
 * Rejects when a blob failed after its response began (the connection is closed then).
 */
export function serveHttpProxy(
  connection: Duplex,
  options: ServeHttpProxyOptions,
): Promise<HttpProxyEnd> {
  return new Promise((resolve, reject) => {
    let queue: Promise<unknown> = Promise.resolve();
    let failure: unknown;
    let ended: HttpProxyEnd | undefined;
    const server = http.createServer((req, res) => {
      queue = queue.then(async () => {
        // Nothing after /quit, or after a broken blob closed the connection.
        if (ended || failure || connection.destroyed) return;
        options.log?.(`${req.method} ${req.url}`);
        try {
          if ((await respond(req, res, options)) === 'quit') ended = 'quit';
        } catch (err) {
          failure ??= err;
        }
        await finished(res, connection);
        // After /quit the proxy is done: it closes once the reply is out, without waiting
        // for the client to close its side (clients wait for the proxy to exit first).
        if (ended === 'quit') connection.end(() => connection.destroy());
      });
    });
    // One long-lived connection: no idle, header or request timeouts, and a client that
    // closes its sending side still gets the answers to what it sent.
    server.keepAliveTimeout = 0;
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    server.timeout = 0;
    (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    connection.once('close', () => {
      void queue.then(() => {
        server.close();
        if (failure) reject(failure);
        else resolve(ended ?? 'end');
      });
    });
    server.emit('connection', connection);
  });
}
