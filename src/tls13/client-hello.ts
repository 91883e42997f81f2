import { CIPHER_SUITES } from './key-schedule.js';
import { GROUPS, type KeyShare } from './key-share.js';
import { CERTIFICATE_SCHEMES, HANDSHAKE_SCHEMES } from './signatures.js';
import {
  Extension,
  extension,
  HandshakeType,
  handshakeMessage,
  LEGACY_VERSION,
  TLS13,
  u16,
  vec,
} from './wire.js';

/** What goes into a ClientHello; the second one after a HelloRetryRequest differs only in share and cookie. */
export interface HelloParts {
  random: Buffer;
  sessionId: Buffer;
  /** SNI host name; none for an IP address (RFC 6066 §3). */
  serverName?: string;
  alpn?: readonly string[];
  share: KeyShare;
  /** The cookie of a HelloRetryRequest, echoed (RFC 8446 §4.2.2). */
  cookie?: Buffer;
}

function list16(values: readonly number[]): Buffer {
  return vec(2, ...values.map(u16));
}

/** A ClientHello offering TLS 1.3 only (RFC 8446 §4.1.2). */
export function clientHello(parts: HelloParts): Buffer {
  const extensions: Buffer[] = [];
  if (parts.serverName) {
    const name = Buffer.from(parts.serverName, 'ascii');
    extensions.push(extension(Extension.serverName, vec(2, Buffer.of(0), vec(2, name))));
  }
  extensions.push(
    extension(Extension.supportedVersions, vec(1, u16(TLS13))),
    extension(Extension.supportedGroups, list16(GROUPS)),
    extension(Extension.signatureAlgorithms, list16(HANDSHAKE_SCHEMES)),
    extension(Extension.signatureAlgorithmsCert, list16(CERTIFICATE_SCHEMES)),
    extension(Extension.keyShare, vec(2, u16(parts.share.group), vec(2, parts.share.publicValue))),
  );
  if (parts.alpn?.length) {
    const names = parts.alpn.map((p) => vec(1, Buffer.from(p, 'ascii')));
    extensions.push(extension(Extension.alpn, vec(2, ...names)));
  }
  if (parts.cookie) extensions.push(extension(Extension.cookie, vec(2, parts.cookie)));
  return handshakeMessage(
    HandshakeType.clientHello,
    u16(LEGACY_VERSION),
    parts.random,
    vec(1, parts.sessionId),
    list16(CIPHER_SUITES.map((s) => s.id)),
    vec(1, Buffer.of(0)),
    vec(2, ...extensions),
  );
}
