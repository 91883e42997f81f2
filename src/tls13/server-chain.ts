import { X509Certificate } from 'node:crypto';
import { tls as loadTls } from '../node/lazy-builtins.js';
import {
  type CertificateExtension,
  certificateExtensions,
  pathLengthConstraint,
} from './certificate-extensions.js';
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

/** Critical extensions this client acts on (through Node's checks or its own). */
const UNDERSTOOD = new Set([
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extendedKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
]);
/** Names for the critical extensions refused most often, for the message. */
const REFUSED_NAMES: Readonly<Record<string, string>> = {
  '2.5.29.30': 'name constraints',
  '2.5.29.36': 'policy constraints',
  '2.5.29.32': 'certificate policies',
  '2.5.29.54': 'inhibit any-policy',
};

function extensionsOf(cert: X509Certificate, what: string): CertificateExtension[] {
  try {
    return certificateExtensions(cert.raw);
  } catch (err) {
    throw fail(Alert.badCertificate, `${what} cannot be parsed`, err);
  }
}

/**
 * RFC 5280 6.1.4 (o): a certificate with a critical extension the client does not process
 * must be refused. Name and policy constraints are such extensions here: refusing them is
 * what keeps a constrained CA from issuing outside its constraints through this client.
 */
function refuseUnknownCritical(extensions: readonly CertificateExtension[], what: string): void {
  const unknown = extensions.find((e) => e.critical && !UNDERSTOOD.has(e.oid));
  if (unknown) {
    const name = REFUSED_NAMES[unknown.oid];
    throw fail(
      Alert.unsupportedCertificate,
      `${what} has a critical extension this TLS client does not check (${name ? `${name}, ` : ''}${unknown.oid})`,
    );
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
 * Path length constraints (basic constraints' `pathLenConstraint`, of intermediates and of
 * the anchor) are enforced. A critical extension this client does not process (name
 * constraints, policy constraints, anything unknown) on the leaf or an intermediate makes
 * the chain refused, as RFC 5280 requires. Revocation is not checked (no CRL or OCSP
 * fetches: the anchors here are the few CAs of a private registry (`--root-ca`) or Node's
 * bundled roots); see docs/ARCHITECTURE.md.
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
  refuseUnknownCritical(extensionsOf(leaf, 'the server certificate'), 'the server certificate');
  const used = new Set<X509Certificate>([leaf]);
  let current = leaf;
  /** Intermediate CAs on the path so far (below the next issuer). */
  let intermediates = 0;
  const checkPathLength = (issuer: X509Certificate, what: string) => {
    let limit: number | undefined;
    try {
      limit = pathLengthConstraint(extensionsOf(issuer, what));
    } catch (err) {
      throw fail(Alert.badCertificate, `${what} has basic constraints that cannot be parsed`, err);
    }
    if (limit !== undefined && intermediates > limit) {
      throw fail(
        Alert.badCertificate,
        `${what} allows ${limit} intermediate CA(s) below it, the chain has ${intermediates}`,
      );
    }
  };
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    // A trusted certificate sent as it is (a self-signed server certificate that is its own
    // anchor) ends the path as well.
    if (check.trusted.some((t) => t.raw.equals(current.raw))) return leaf;
    const anchor = check.trusted.find((t) => t.ca && issued(current, t));
    if (anchor) {
      const what = `the trusted CA ${anchor.subject.replace(/\n/g, ', ')}`;
      checkTime(anchor, check.now, what);
      checkPathLength(anchor, what);
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
    const what = 'an intermediate certificate of the server';
    checkTime(next, check.now, what);
    const extensions = extensionsOf(next, what);
    refuseUnknownCritical(extensions, what);
    checkPathLength(next, what);
    intermediates++;
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
