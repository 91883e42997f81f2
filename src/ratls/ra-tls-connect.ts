import { X509Certificate } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import { tls as loadTls } from '../node/lazy-builtins.js';
import { parsePemCertificates } from '../tls13/server-chain.js';
import { Tls13Socket } from '../tls13/tls13-socket.js';
import type { SecureConnect } from '../transport/http1-connection.js';
import { raTlsCredentials, type TokenProvider } from './ra-tls-credentials.js';

/** What an RA-TLS connection needs. */
export interface RaTlsSettings {
  /** PEM of the only CAs to trust (`--root-ca`); Node's bundled roots when absent. */
  rootCaPem?: string;
  tokens: TokenProvider;
}

/**
 * Opens RA-TLS connections for the HTTP client: the project's TLS 1.3 client
 * (`tls13/tls13-socket.ts` says why not Node's), checking the registry's certificate
 * against the trusted CAs and answering its nonce with an attested client certificate.
 */
export function raTlsConnect(settings: RaTlsSettings): SecureConnect {
  const trusted = settings.rootCaPem
    ? parsePemCertificates(settings.rootCaPem)
    : loadTls().rootCertificates.map((pem) => new X509Certificate(pem));
  const clientCertificate = raTlsCredentials(settings.tokens);
  return ({ host, port }, onread) =>
    new Tls13Socket({
      host,
      port,
      serverName: isIP(host) ? undefined : host,
      trusted,
      alpn: ['http/1.1'],
      clientCertificate,
      onread,
    }) as unknown as Socket;
}
