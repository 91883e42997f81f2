import type http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type https from 'node:https';
import type { Readable } from 'node:stream';
import { http as loadHttp, https as loadHttps } from '../node/lazy-builtins.js';
import { HttpTimeoutError } from './http-timeout-error.js';
import type { SecureConnect } from './http1-connection.js';
import { Http1Pool } from './http1-pool.js';

export { HttpTimeoutError };

/**
 * ocipeek speaks HTTP/1.1 through Node's own `http`/`https` modules rather than undici.
 * Measured on a loopback registry (docs/BENCHMARKS.md, "transport"): Node's native llhttp
 * moves a 49 MB blob in about half the time undici's WebAssembly parser and its stream
 * layers need, and `node:http` is already in Node's start-up snapshot (~5 ms to load)
 * where undici cost 50-100 ms of compiling on every run. What undici gave on top (pooling,
 * timeouts, abort) is the few lines below.
 *
 * Bodiless requests (GET, HEAD), plain or over TLS, go through the project's own HTTP/1.1
 * connections instead (`http1-connection.ts` says why: blob bodies handed on as views of
 * a few reused buffers rather than a fresh Buffer per chunk).
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
  /** Open HTTPS connections with this instead of `tls.connect` (RA-TLS). */
  connect?: SecureConnect;
  /** Hosts (`host[:port]` as in the URL) whose certificates are not verified (`insecure`). */
  skipVerify?: (host: string) => boolean;
}

/**
 * One HTTP response; `body` must be read, discarded or destroyed. The body of a GET also
 * offers `pipeTo` (`body-sink.ts`).
 */
export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Keep-alive connection pools for HTTP and HTTPS with timeouts and byte counting. */
export class HttpPool {
  private httpAgentOnce: http.Agent | undefined;
  private httpsAgentOnce: https.Agent | undefined;
  private readonly own: Http1Pool;
  private tlsOnce: https.AgentOptions | undefined;

  private readonly pool: http.AgentOptions;

  constructor(private readonly options: HttpPoolOptions) {
    this.pool = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
      // Idle pooled connections close after 10 s; the agent also unrefs them, so an idle
      // pool never keeps the process alive.
      timeout: 10_000,
    };
    this.own = new Http1Pool({
      timeoutMs: options.timeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs,
      idleTimeoutMs: 10_000,
      maxSockets: this.pool.maxSockets as number,
      connect: options.connect,
      skipVerify: options.skipVerify,
      // Read once, on the first TLS connection: that makes the shared secure context
      // (transport/tls.ts), so the connections of a run share one parsed CA store.
      tls: () => {
        this.tlsOnce ??= { ...this.options.tls };
        return this.tlsOnce;
      },
    });
  }

  /**
   * The agents, made (and `node:http`/`node:https` loaded) on the first request with a
   * body: GET and HEAD, all a pull or `inspect` sends, never need them.
   */
  private get httpAgent(): http.Agent {
    this.httpAgentOnce ??= new (loadHttp().Agent)(this.pool);
    return this.httpAgentOnce;
  }

  private get httpsAgent(): https.Agent {
    if (!this.httpsAgentOnce) {
      const agent = new (loadHttps().Agent)({ ...this.options.tls, ...this.pool });
      const connect = this.options.connect;
      if (connect) {
        // The agent opens its sockets through `createConnection`: RA-TLS ones come from
        // our own client, as for bodiless requests.
        agent.createConnection = ((opts: { host?: string; port?: number }) =>
          connect({
            host: opts.host ?? 'localhost',
            port: Number(opts.port ?? 443),
          })) as typeof agent.createConnection;
      }
      this.httpsAgentOnce = agent;
    }
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
    if (body === undefined && (method === 'GET' || method === 'HEAD')) {
      return this.own.request({ method, url, headers, signal, onBodyBytes });
    }
    const { timeoutMs, bodyTimeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const req = (secure ? loadHttps() : loadHttp()).request(url, {
        method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        ...(secure && this.options.skipVerify?.(url.host) ? { rejectUnauthorized: false } : {}),
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
    this.own.close();
    this.httpAgentOnce?.destroy();
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
