import { X509Certificate } from 'node:crypto';
import { tls as loadTls } from '../node/lazy-builtins.js';
import { Alert, fail } from './wire.js';

/** What the server's certificate chain is checked against. */
export interface ChainCheck {
  /** The trust anchors. */
  trusted: readonly X509Certificate[];
  /** The name (or IP address) the client connected to. */
  host: string;
  /** The time the certificates must be valid at (now). */
  now: Date;
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
/** Longest chain followed, anchor not counted. */
const MAX_DEPTH = 8;

function parse(der: Buffer, at: number): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw fail(Alert.badCertificate, `the server's certificate ${at} cannot be parsed`, err);
  }
}

function checkTime(cert: X509Certificate, now: Date, what: string): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (!(now >= from)) {
    throw fail(Alert.badCertificate, `${what} is not valid before ${from.toISOString()}`);
  }
  if (!(now <= to)) {
    throw fail(Alert.certificateExpired, `${what} expired on ${to.toISOString()}`);
  }
}

/** `issuer` signed `cert` (names and key identifiers match, key usage allows it, signature good). */
function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * Check the server's certificate chain (DER, leaf first) the way a TLS client must (RFC
 * 5280 path building, RFC 6125 names): each certificate valid now and signed by the next,
 * every issuer a CA (basic constraints; OpenSSL's `X509_check_issued`, behind
 * `checkIssued`, also checks keyCertSign where key usage is present), the path ending at a
 * trusted anchor, the leaf allowed for server authentication and issued for `host`, by
 * Node's own `tls.checkServerIdentity` so that `tls` and `ra-tls` accept the same names.
 * Intermediates may come in any order; unused ones are ignored, as OpenSSL does.
 *
 * Not checked: revocation, name constraints and path length constraints, which Node's
 * `X509Certificate` does not expose. The anchors here are the few CAs of a private
 * registry (`--root-ca`) or Node's bundled roots; see docs/ARCHITECTURE.md.
 *
 * Returns the leaf, whose key must have signed the handshake.
 */
export function verifyServerChain(chain: readonly Buffer[], check: ChainCheck): X509Certificate {
  if (chain.length === 0) throw fail(Alert.decodeError, 'the server sent no certificate');
  const certs = chain.map((der, i) => parse(der, i));
  const leaf = certs[0] as X509Certificate;
  checkTime(leaf, check.now, 'the server certificate');
  const usages = leaf.keyUsage as string[] | undefined;
  if (usages && !usages.includes(SERVER_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    throw fail(Alert.badCertificate, 'the server certificate is not for server authentication');
  }
  const identityError = loadTls().checkServerIdentity(check.host, leaf.toLegacyObject());
  if (identityError) {
    throw fail(
      Alert.badCertificate,
      `the server certificate is not for ${check.host}: ${identityError.message}`,
    );
  }
  const used = new Set<X509Certificate>([leaf]);
  let current = leaf;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    // A trusted certificate sent as it is (a self-signed server certificate that is its own
    // anchor) ends the path as well.
    if (check.trusted.some((t) => t.raw.equals(current.raw))) return leaf;
    const anchor = check.trusted.find((t) => t.ca && issued(current, t));
    if (anchor) {
      checkTime(anchor, check.now, `the trusted CA ${anchor.subject.replace(/\n/g, ', ')}`);
      return leaf;
    }
    const next = certs.find((c) => !used.has(c) && issued(current, c));
    if (!next) {
      throw fail(
        Alert.unknownCa,
        `the server certificate is not signed by a trusted CA (issuer ${current.issuer.replace(/\n/g, ', ')})`,
      );
    }
    if (!next.ca) throw fail(Alert.badCertificate, 'a certificate in the server chain is not a CA');
    checkTime(next, check.now, 'an intermediate certificate of the server');
    used.add(next);
    current = next;
  }
  throw fail(Alert.badCertificate, `the server certificate chain is longer than ${MAX_DEPTH}`);
}

/** PEM text → certificates; the bundle's non-certificate parts are ignored. */
export function parsePemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}
