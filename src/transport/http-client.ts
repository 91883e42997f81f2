import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type https from 'node:https';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { https as loadHttps } from '../node/lazy-builtins.js';

/**
 * ocipeek speaks HTTP/1.1 through Node's own `http`/`https` modules rather than undici.
 * Measured on a loopback registry (docs/BENCHMARKS.md, "transport"): Node's native llhttp
 * moves a 49 MB blob in about half the time undici's WebAssembly parser and its stream
 * layers need, and `node:http` is already in Node's start-up snapshot (~5 ms to load)
 * where undici cost 50-100 ms of compiling on every run. What undici gave on top (pooling,
 * timeouts, abort) is the few lines below.
 */

/** Settings of an {@link HttpPool}. */
export interface HttpPoolOptions {
  /** TLS options for every HTTPS connection (`ca`, `cert`, `key`, `rejectUnauthorized`). */
  tls: https.AgentOptions;
  /** Milliseconds to wait for a connection, and then for the response headers. */
  timeoutMs: number;
  /** Milliseconds a response body may stay silent before the connection is dropped. */
  bodyTimeoutMs: number;
  /** Connections kept per host (default 16). */
  maxSockets?: number;
}

/** One HTTP response; `body` must be read, discarded or destroyed. */
export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** A request or a body that stayed silent too long; `code` says which. */
export class HttpTimeoutError extends Error {
  readonly code: 'ETIMEDOUT_HEADERS' | 'ETIMEDOUT_BODY';
  constructor(phase: 'headers' | 'body', ms: number) {
    super(
      phase === 'headers' ? `no response within ${ms} ms` : `response body stalled for ${ms} ms`,
    );
    this.name = 'HttpTimeoutError';
    this.code = phase === 'headers' ? 'ETIMEDOUT_HEADERS' : 'ETIMEDOUT_BODY';
  }
}

/** Bytes a plain-HTTP connection reads at a time. */
const READ_BUFFER_BYTES = 1024 * 1024;

/**
 * An HTTP agent whose connections read into one reused 1 MiB buffer (`onread`) and hand
 * each read to Node's parser as a 'data' event. A normal socket reads at most 64 KiB into a
 * freshly allocated buffer every time: for a 49 MB blob that is ~800 reads, each paying an
 * allocation, page faults on new memory and a trip through the parser and the response
 * stream. Measured on loopback (bench/ANALYSIS.md), GET + sha256 of that blob took
 * 190-215 ms this way and 135-145 ms with the reused buffer.
 *
 * Reusing the buffer is safe because the parser copies body bytes out of it (every
 * response chunk is its own Buffer) and keeps no reference to it after `execute` returns;
 * `socket.pause()` still stops reading (net.Socket handles `onread` sockets in
 * pause/resume), so backpressure from a slow consumer works as before. HTTPS connections
 * are left alone: TLS hands the parser 16 KiB records whatever the read size.
 */
class ReusedBufferAgent extends http.Agent {
  override createConnection(options: net.NetConnectOpts): net.Socket {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket: net.Socket = net.connect({
      ...options,
      onread: {
        buffer,
        callback: (bytes: number, buf: Uint8Array) => {
          socket.emit('data', Buffer.from(buf.buffer, buf.byteOffset, bytes));
          return true;
        },
      },
    });
    return socket;
  }
}

/** Keep-alive connection pools for HTTP and HTTPS with timeouts and byte counting. */
export class HttpPool {
  private readonly httpAgent: http.Agent;
  private httpsAgentOnce: https.Agent | undefined;

  private readonly pool: http.AgentOptions;

  constructor(private readonly options: HttpPoolOptions) {
    this.pool = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
      // Idle pooled connections close after 10 s; the agent also unrefs them, so an idle
      // pool never keeps the process alive.
      timeout: 10_000,
    };
    this.httpAgent = new ReusedBufferAgent(this.pool);
  }

  /** The HTTPS agent, made (and `node:https` loaded) on the first HTTPS request. */
  private get httpsAgent(): https.Agent {
    this.httpsAgentOnce ??= new (loadHttps().Agent)({ ...this.options.tls, ...this.pool });
    return this.httpsAgentOnce;
  }

  /**
   * Send one request. Resolves with the response once its headers arrived; `onBodyBytes`
   * sees the length of every body chunk as the parser delivers it (for transfer stats).
   */
  request(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer | Readable | undefined,
    signal: AbortSignal | undefined,
    onBodyBytes?: (n: number) => void,
  ): Promise<HttpResponse> {
    const { timeoutMs, bodyTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const req = (secure ? loadHttps() : http).request(url, {
        method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        signal,
        timeout: timeoutMs, // covers the connect, unlike req.setTimeout
      });
      let response: IncomingMessage | undefined;
      req.on('timeout', () => {
        if (response) response.destroy(new HttpTimeoutError('body', bodyTimeoutMs));
        else req.destroy(new HttpTimeoutError('headers', timeoutMs));
      });
      // Before the headers, a failure rejects; after, it reaches the body stream.
      req.on('error', (err) => {
        if (!response) reject(err);
      });
      req.on('response', (res) => {
        response = res;
        req.setTimeout(bodyTimeoutMs);
        if (onBodyBytes) countBodyBytes(res, onBodyBytes);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (body === undefined || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  /** Close every pooled connection. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgentOnce?.destroy();
  }
}

/**
 * Count body bytes where Node's parser hands them to the stream (`push`), so each chunk
 * is seen once, before any consumer and whether or not anyone reads it, without an extra
 * stream stage per chunk.
 */
function countBodyBytes(res: IncomingMessage, count: (n: number) => void): void {
  const push = res.push;
  res.push = function countedPush(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk) count((chunk as Buffer).length);
    return push.call(this, chunk, encoding);
  };
}

/** Bodies longer than this are cut (the connection closed) rather than read to the end. */
const DISCARD_LIMIT = 256 * 1024;

/**
 * Drop the rest of a body (error answers, redirects, 401s): small ones are read so the
 * connection can be reused, big ones are cut. Never rejects.
 */
export function discardBody(body: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (body.readableEnded || body.destroyed) {
      resolve();
      return;
    }
    let seen = 0;
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DISCARD_LIMIT) body.destroy();
    });
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => resolve());
  });
}
