import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RedirectMirror, startRedirectMirror } from './redirect-mirror.js';
import type { RunningRegistry } from './registry-process.js';
import { createUpstream, endToEndHeaders, type UpstreamTls } from './upstream.js';

/** What the proxy does to one request instead of forwarding it untouched. */
export type Fault =
  /**
   * Answer with this status without forwarding (e.g. 429 + Retry-After, 503, 401); with
   * `after`, only once that promise settled (to order it after other responses).
   */
  | {
      kind: 'status';
      status: number;
      headers?: Record<string, string>;
      body?: string;
      after?: Promise<unknown>;
    }
  /**
   * Forward, but flip every bit of the response body byte at `offset`; with
   * `chunkDelayMs`, wait that long after each body chunk (a slow upstream).
   */
  | { kind: 'corrupt'; offset: number; chunkDelayMs?: number }
  /** Forward the headers and the first `afterBytes` body bytes, then destroy the socket. */
  | { kind: 'drop'; afterBytes: number }
  /** Answer with a redirect: to `location`, or (default) to a one-time URL on the mirror. */
  | { kind: 'redirect'; location?: string; status?: 301 | 302 | 303 | 307 | 308 }
  /** Forward without `Authorization`: the registry itself answers 401 with its challenge. */
  | { kind: 'strip-authorization' }
  /** Wait `ms` before forwarding (for timeout and abort tests). */
  | { kind: 'delay'; ms: number }
  /** Forward the headers and the first `afterBytes` body bytes, then send nothing more. */
  | { kind: 'stall'; afterBytes: number }
  /** Send the body as it is, waiting `chunkDelayMs` after each chunk (a slow upstream). */
  | { kind: 'slow'; chunkDelayMs: number };

/** Builders for {@link Fault}s. */
export const faults = {
  /** Flip the bits of body byte `offset` (sending slowly with `chunkDelayMs`). */
  corruptByteAt: (offset: number, options: { chunkDelayMs?: number } = {}): Fault => ({
    kind: 'corrupt',
    offset,
    ...options,
  }),
  /** Cut the connection after `n` body bytes. */
  dropAfterBytes: (n: number): Fault => ({ kind: 'drop', afterBytes: n }),
  /** Answer `status` (with `headers`) without forwarding. */
  status: (status: number, headers?: Record<string, string>, body?: string): Fault => ({
    kind: 'status',
    status,
    headers,
    body,
  }),
  /** Redirect to the proxy's mirror (another origin) that serves the real bytes. */
  redirect: (status: 301 | 302 | 303 | 307 | 308 = 307): Fault => ({ kind: 'redirect', status }),
  /** Redirect to an arbitrary URL. */
  redirectTo: (location: string, status: 301 | 302 | 303 | 307 | 308 = 307): Fault => ({
    kind: 'redirect',
    location,
    status,
  }),
  /** Make the registry answer 401 as if the token had expired or been revoked. */
  stripAuthorization: (): Fault => ({ kind: 'strip-authorization' }),
  delay: (ms: number): Fault => ({ kind: 'delay', ms }),
  /** Send `n` body bytes, then go silent with the connection open (until the client leaves). */
  stallAfterBytes: (n: number): Fault => ({ kind: 'stall', afterBytes: n }),
  /** Send the body unchanged, slowly: `chunkDelayMs` after each chunk. */
  slow: (chunkDelayMs: number): Fault => ({ kind: 'slow', chunkDelayMs }),
};

/** What a rule sees about a request. */
export interface FaultContext {
  /** 0-based number of this request among all the proxy received. */
  index: number;
  method: string;
  /** Path and query, as received. */
  url: string;
  /** Path without the query. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** GET or HEAD of `/v2/NAME/blobs/DIGEST`. */
  isBlob: boolean;
  /** GET or HEAD of `/v2/NAME/manifests/REF`. */
  isManifest: boolean;
}

/** Decides the fault for a request; undefined forwards it untouched. */
export type FaultRule = (ctx: FaultContext, req: http.IncomingMessage) => Fault | undefined;

/** Predicates for rules. */
export const match = {
  any: (): boolean => true,
  blobGet: (ctx: FaultContext): boolean => ctx.isBlob && ctx.method === 'GET',
  manifestGet: (ctx: FaultContext): boolean => ctx.isManifest && ctx.method === 'GET',
  /** Requests whose path contains `text`. */
  pathIncludes:
    (text: string) =>
    (ctx: FaultContext): boolean =>
      ctx.path.includes(text),
};

/**
 * A rule that applies `fault` to the first `n` requests for which `when` holds, then
 * forwards everything untouched. `times(1, match.blobGet, faults.dropAfterBytes(100))`
 * drops the first blob download only.
 */
export function times(n: number, when: (ctx: FaultContext) => boolean, fault: Fault): FaultRule {
  let left = n;
  return (ctx) => {
    if (left <= 0 || !when(ctx)) return undefined;
    left--;
    return fault;
  };
}

/** One request the proxy handled. */
export interface ProxyLogEntry {
  index: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Whether the client sent an `Authorization` header. */
  hasAuthorization: boolean;
  /** The `Range` header the client sent, if any. */
  range?: string;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** Status sent to the client (0 if none was sent). */
  status: number;
  /** Response body bytes sent to the client. */
  bytesSent: number;
  /** True once the response finished normally. */
  completed: boolean;
}

/** Options for {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Decides per request; can be replaced later with `setRule`. */
  onRequest?: FaultRule;
  /** CA and client certificate when the upstream is HTTPS. */
  upstreamTls?: UpstreamTls;
}

/** A running fault-injecting proxy (see {@link startFaultProxy}). */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, for references. */
  host: string;
  port: number;
  /** Every request handled, oldest first. */
  readonly log: ProxyLogEntry[];
  /** The second origin that `faults.redirect()` sends clients to. */
  mirror: RedirectMirror;
  /** Replace the rule (undefined: forward everything untouched). */
  setRule(rule: FaultRule | undefined): void;
  /** Empty the log (the mirror's too). */
  resetLog(): void;
  /** Stop listening, drop connections, close the mirror. */
  close(): Promise<void>;
}

/** Wait until `res` can take more data or is gone; leaves no listener behind. */
function drainOrClose(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

const BLOB_PATH = /^\/v2\/.+\/blobs\/[a-z0-9]+:[a-f0-9]+$/;
const MANIFEST_PATH = /^\/v2\/.+\/manifests\/[^/]+$/;

function errorBody(status: number): string {
  const code = status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';
  return JSON.stringify({ errors: [{ code, message: `injected ${status}` }] });
}

/**
 * Start an HTTP proxy on 127.0.0.1 in front of a real registry. It forwards method, path,
 * headers (including Range) and body, streams responses, logs each request, and applies
 * the fault the rule picks. Upload `Location`s point back at the proxy.
 *
 * @example
 * const proxy = await startFaultProxy(registry.url, {
 *   onRequest: times(1, match.blobGet, faults.corruptByteAt(10)),
 * });
 * // pull through `${proxy.host}/demo/app:v1` and expect a digest error once
 */
export async function startFaultProxy(
  upstreamUrl: string,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const upstream = createUpstream(upstreamUrl, options.upstreamTls);
  const mirror = await startRedirectMirror(upstream);
  const log: ProxyLogEntry[] = [];
  let rule = options.onRequest;
  let counter = 0;
  let proxyHost = '';

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const method = req.method ?? 'GET';
    const ctx: FaultContext = {
      index: counter++,
      method,
      url,
      path,
      headers: req.headers,
      isBlob: (method === 'GET' || method === 'HEAD') && BLOB_PATH.test(path),
      isManifest: (method === 'GET' || method === 'HEAD') && MANIFEST_PATH.test(path),
    };
    const entry: ProxyLogEntry = {
      index: ctx.index,
      method,
      url,
      headers: req.headers,
      hasAuthorization: req.headers.authorization !== undefined,
      status: 0,
      bytesSent: 0,
      completed: false,
    };
    if (req.headers.range !== undefined) entry.range = req.headers.range;
    log.push(entry);
    res.on('finish', () => {
      entry.completed = true;
    });
    const fault = rule?.(ctx, req);
    if (fault) entry.fault = fault.kind;

    if (fault?.kind === 'status' || fault?.kind === 'redirect') {
      req.resume();
      if (fault.kind === 'status' && fault.after) await fault.after.catch(() => {});
      let headers: Record<string, string> = fault.kind === 'status' ? { ...fault.headers } : {};
      let body = '';
      if (fault.kind === 'status') {
        body = fault.body ?? errorBody(fault.status);
        headers = { 'content-type': 'application/json', ...headers };
      } else {
        headers.location = fault.location ?? mirror.mint(url, req.headers.authorization);
      }
      entry.status = fault.kind === 'status' ? fault.status : (fault.status ?? 307);
      res.writeHead(entry.status, {
        ...headers,
        'content-length': String(Buffer.byteLength(body)),
      });
      entry.bytesSent = Buffer.byteLength(body);
      res.end(body);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));

    const drop = fault?.kind === 'strip-authorization' ? ['authorization'] : [];
    const headers = endToEndHeaders(req.headers, drop);
    // distribution builds absolute Location URLs from these, so uploads come back here.
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-host'] = proxyHost;
    let up: http.IncomingMessage;
    try {
      up = await upstream.request({ method, path: url, headers, body: req });
    } catch (err) {
      entry.status = 502;
      res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err));
      return;
    }
    entry.status = up.statusCode ?? 502;
    res.writeHead(entry.status, endToEndHeaders(up.headers));
    res.on('close', () => up.destroy());
    let offset = 0;
    for await (const raw of up) {
      let chunk = raw as Buffer;
      if (
        fault?.kind === 'corrupt' &&
        fault.offset >= offset &&
        fault.offset < offset + chunk.length
      ) {
        chunk = Buffer.from(chunk);
        chunk[fault.offset - offset]! ^= 0xff;
      }
      if (fault?.kind === 'stall' && offset + chunk.length >= fault.afterBytes) {
        const part = chunk.subarray(0, fault.afterBytes - offset);
        entry.bytesSent += part.length;
        res.write(part);
        up.destroy();
        return; // the response stays open and silent; the client's close ends it
      }
      if (fault?.kind === 'drop' && offset + chunk.length >= fault.afterBytes) {
        const part = chunk.subarray(0, fault.afterBytes - offset);
        entry.bytesSent += part.length;
        // Destroy only once the allowed bytes reached the kernel, so the client sees them.
        res.write(part, () => res.socket?.destroy());
        if (part.length === 0) res.socket?.destroy();
        up.destroy();
        return;
      }
      offset += chunk.length;
      entry.bytesSent += chunk.length;
      if (!res.write(chunk)) {
        await drainOrClose(res);
        if (res.destroyed) return;
      }
      if ((fault?.kind === 'corrupt' || fault?.kind === 'slow') && fault.chunkDelayMs) {
        await new Promise((r) => setTimeout(r, fault.chunkDelayMs));
      }
    }
    if (fault?.kind === 'drop') {
      // Body shorter than the cut-off: still cut before the response completes.
      res.socket?.destroy();
      return;
    }
    res.end();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  proxyHost = `127.0.0.1:${port}`;
  return {
    url: `http://${proxyHost}`,
    host: proxyHost,
    port,
    log,
    mirror,
    setRule(next) {
      rule = next;
    },
    resetLog() {
      log.length = 0;
      mirror.requests.length = 0;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await mirror.close();
      upstream.close();
    },
  };
}

/**
 * {@link startFaultProxy} in front of a {@link RunningRegistry}, trusting its test CA and
 * presenting the test client certificate when it speaks TLS.
 */
export async function startFaultProxyFor(
  registry: RunningRegistry,
  options: Omit<FaultProxyOptions, 'upstreamTls'> = {},
): Promise<FaultProxy> {
  const upstreamTls: UpstreamTls =
    registry.tls === 'none'
      ? {}
      : {
          ca: await readFile(registry.caFile!, 'utf8'),
          cert: await readFile(registry.clientCert!, 'utf8'),
          key: await readFile(registry.clientKey!, 'utf8'),
        };
  return startFaultProxy(registry.url, { ...options, upstreamTls });
}
