import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  Http1Connection,
  type Http1Request,
  type Http1Response,
  type Http1Target,
  type Http1Timeouts,
  type SecureConnect,
} from './http1-connection.js';
import { errorCode } from './network-errors.js';

/** Settings of an {@link Http1Pool}. */
export interface Http1PoolOptions extends Http1Timeouts {
  /** Connections per host (busy and idle together). */
  maxSockets: number;
  /**
   * The TLS options of every HTTPS connection (trust, client certificate, verification),
   * read when the first one is opened.
   */
  tls: () => ConnectionOptions;
  /** Open HTTPS connections with this instead of `tls.connect` (RA-TLS). */
  connect?: SecureConnect;
  /** Hosts (`host[:port]` as in the URL) whose certificates are not verified (`insecure`). */
  skipVerify?: (host: string) => boolean;
}

interface Waiter {
  give(connection: Http1Connection): void;
  fail(err: Error): void;
}

/** The connections to one origin (scheme, host, port). */
interface Host {
  all: Set<Http1Connection>;
  /** Kept-alive connections nobody uses, the most recently used last. */
  idle: Http1Connection[];
  waiting: Waiter[];
  /** The last TLS session the server offered, to resume instead of a full handshake. */
  session?: Buffer;
}

/**
 * Keep-alive pool of {@link Http1Connection}s per origin, at most `maxSockets` each; more
 * requests wait for a connection. The most recently used idle connection is taken first:
 * its read buffers are the ones already resident. HTTPS connections resume the last TLS
 * session their server gave, as Node's HTTPS agent does.
 */
export class Http1Pool {
  private readonly hosts = new Map<string, Host>();

  constructor(private readonly options: Http1PoolOptions) {}

  /**
   * Send one bodiless request. A kept-alive connection the server closed meanwhile (reset
   * or closed before any answer) is retried once on a new connection, as the request was
   * never answered; GET and HEAD are safe to repeat.
   */
  async request(request: Http1Request): Promise<Http1Response> {
    for (let attempt = 0; ; attempt++) {
      const connection = await this.acquire(request.url, request.signal);
      const reused = connection.completed > 0;
      try {
        return await connection.send(request);
      } catch (err) {
        const stale = reused && attempt === 0 && !request.signal?.aborted;
        if (!stale || !['ECONNRESET', 'EPIPE'].includes(errorCode(err) ?? '')) throw err;
      }
    }
  }

  /** Close every connection, busy or idle; requests waiting for one fail. */
  close(): void {
    for (const host of this.hosts.values()) {
      const waiting = host.waiting.splice(0);
      for (const waiter of waiting) waiter.fail(new Error('the connection pool was closed'));
      for (const connection of [...host.all]) connection.destroy();
    }
  }

  private acquire(url: URL, signal: AbortSignal | undefined): Promise<Http1Connection> {
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const key = `${url.protocol}//${hostname}:${port}`;
    let host = this.hosts.get(key);
    if (!host) {
      host = { all: new Set(), idle: [], waiting: [] };
      this.hosts.set(key, host);
    }
    const known = host;
    const target: Http1Target = { host: hostname, port };
    if (secure && this.options.connect) {
      target.connect = this.options.connect;
    } else if (secure) {
      target.tls = () => ({
        ...this.options.tls(),
        ...(this.options.skipVerify?.(url.host) ? { rejectUnauthorized: false } : {}),
        // SNI names a host, never an address (RFC 6066), as Node's HTTPS agent does.
        servername: isIP(hostname) ? undefined : hostname,
        ALPNProtocols: ['http/1.1'],
        session: known.session,
      });
    }
    const open = () => {
      const connection = new Http1Connection(target, this.options, {
        free: (c) => this.free(known, c),
        closed: (c) => this.closed(known, c, open),
        session: (session) => {
          known.session = session;
        },
      });
      known.all.add(connection);
      return connection;
    };
    const idle = host.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (host.all.size < this.options.maxSockets) return Promise.resolve(open());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        known.waiting.splice(known.waiting.indexOf(waiter), 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        give: (connection) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(connection);
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      known.waiting.push(waiter);
    });
  }

  private free(host: Host, connection: Http1Connection): void {
    const waiter = host.waiting.shift();
    if (waiter) {
      waiter.give(connection);
      return;
    }
    host.idle.push(connection);
    connection.idle();
  }

  private closed(host: Host, connection: Http1Connection, open: () => Http1Connection): void {
    host.all.delete(connection);
    const at = host.idle.indexOf(connection);
    if (at >= 0) host.idle.splice(at, 1);
    // A request waiting for a free slot gets one now.
    const waiter = host.waiting.shift();
    if (waiter) waiter.give(open());
  }
}
