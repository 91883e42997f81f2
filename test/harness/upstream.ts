import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/** TLS material for talking to an HTTPS upstream (the test CA and client certificate). */
export interface UpstreamTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Where the test proxies forward to, and how to connect. */
export interface Upstream {
  url: URL;
  agent: http.Agent;
  /** Send one request upstream; resolves when the response headers arrive. */
  request(o: {
    method: string;
    path: string;
    headers: http.OutgoingHttpHeaders;
    body?: Readable;
  }): Promise<http.IncomingMessage>;
  /** Close idle upstream connections. */
  close(): void;
}

/** Headers that belong to one hop and must not be forwarded. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** `headers` without hop-by-hop ones (and without any named in `drop`). */
export function endToEndHeaders(
  headers: http.IncomingHttpHeaders,
  drop: string[] = [],
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** An HTTP(S) client bound to one origin, with its own keep-alive agent. */
export function createUpstream(upstreamUrl: string, tls: UpstreamTls = {}): Upstream {
  const url = new URL(upstreamUrl);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key })
    : new http.Agent({ keepAlive: true });
  return {
    url,
    agent,
    request({ method, path, headers, body }) {
      return new Promise((resolve, reject) => {
        const req = (secure ? https : http).request(
          {
            protocol: url.protocol,
            hostname: url.hostname,
            port: url.port,
            method,
            path,
            headers,
            agent,
          },
          resolve,
        );
        req.on('error', reject);
        if (body) body.pipe(req);
        else req.end();
      });
    },
    close() {
      agent.destroy();
    },
  };
}
