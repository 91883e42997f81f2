import { digestOf, parseDigest } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import { describeIdentity, identityMatches, type SignedIdentity } from './signed-identity.js';

/** The media type of a sigstore signature layer (its blob is the payload). */
export const SIGSTORE_SIGNATURE_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation holding the base64 signature of the payload. */
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** `critical.type` of every sigstore payload. */
const SIGSTORE_TYPE = 'cosign container image signature';
/** `critical.type` of every GPG simple signing payload (containers-signature(5)). */
const SIMPLE_SIGNING_TYPE = 'atomic container signature';

/** What a payload claims, once its signature checked out. */
export interface SigstoreClaims {
  /** The image identity the signer meant (`host/repo:tag`). */
  dockerReference: string;
  /** The digest of the signed manifest. */
  manifestDigest: string;
}

type Json = Record<string, unknown>;

function exactObject(v: unknown, fields: string[], what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`${what} is not a JSON object`);
  }
  const keys = Object.keys(v).sort();
  if (keys.join(',') !== [...fields].sort().join(',')) {
    throw new InvalidArgumentError(`${what} must have exactly the fields ${fields.join(', ')}`);
  }
  return v as Json;
}

function stringField(obj: Json, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new InvalidArgumentError(`${what}.${key} must be a string`);
  return v;
}

/**
 * Parse a sigstore payload ("simple signing" JSON as containers/image and cosign write it)
 * as strictly as containers/image: `critical` holds exactly `type` (the cosign value),
 * `image.docker-manifest-digest` and `identity.docker-reference`. Only call this on bytes
 * whose signature was verified.
 */
export function parseSigstorePayload(payload: Buffer): SigstoreClaims {
  return parsePayload(payload, SIGSTORE_TYPE);
}

/**
 * Parse the payload of a GPG simple signature (the literal data of the signed OpenPGP
 * message): the same JSON as a sigstore payload, with `critical.type` `atomic container
 * signature`. Only call this on bytes whose signature was verified.
 */
export function parseSimpleSigningPayload(payload: Buffer): SigstoreClaims {
  return parsePayload(payload, SIMPLE_SIGNING_TYPE);
}

/** Both kinds of payload are one format; only `critical.type` tells them apart. */
function parsePayload(payload: Buffer, type: string): SigstoreClaims {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new InvalidArgumentError('the signature payload is not JSON');
  }
  const top = json as Json;
  if (typeof top !== 'object' || top === null || top.critical === undefined) {
    throw new InvalidArgumentError('the signature payload has no "critical" section');
  }
  const critical = exactObject(top.critical, ['type', 'image', 'identity'], 'critical');
  if (critical.type !== type) {
    throw new InvalidArgumentError(`unexpected signature type ${JSON.stringify(critical.type)}`);
  }
  const image = exactObject(critical.image, ['docker-manifest-digest'], 'critical.image');
  const identity = exactObject(critical.identity, ['docker-reference'], 'critical.identity');
  return {
    manifestDigest: stringField(image, 'docker-manifest-digest', 'critical.image'),
    dockerReference: stringField(identity, 'docker-reference', 'critical.identity'),
  };
}

/**
 * The payload ocipeek signs: the fields containers/image writes, in its order (Go sorts
 * map keys), so signatures made by either tool look alike.
 */
export function makeSigstorePayload(
  claims: SigstoreClaims,
  creator: string,
  timestamp = Math.floor(Date.now() / 1000),
): Buffer {
  return makePayload(claims, creator, timestamp, SIGSTORE_TYPE);
}

/** The payload of a GPG simple signature, as containers/image writes it. */
export function makeSimpleSigningPayload(
  claims: SigstoreClaims,
  creator: string,
  timestamp = Math.floor(Date.now() / 1000),
): Buffer {
  return makePayload(claims, creator, timestamp, SIMPLE_SIGNING_TYPE);
}

function makePayload(
  claims: SigstoreClaims,
  creator: string,
  timestamp: number,
  type: string,
): Buffer {
  const payload = {
    critical: {
      identity: { 'docker-reference': claims.dockerReference },
      image: { 'docker-manifest-digest': claims.manifestDigest },
      type,
    },
    optional: { creator, timestamp },
  };
  return Buffer.from(JSON.stringify(payload));
}

/**
 * Whether verified `claims` fit the image, checked as containers/image checks them, in
 * its order: the manifest digest against the root's bytes (in the claim's algorithm),
 * then the identity `rule` for `intended`. Resolves to the reason they do not, else
 * undefined. The same for sigstore and GPG signatures.
 */
export function claimsRefused(
  claims: SigstoreClaims,
  image: { intended: Reference | undefined; rootBytes: Buffer },
  rule: SignedIdentity,
): string | undefined {
  let algorithm: ReturnType<typeof parseDigest>['algorithm'];
  try {
    algorithm = parseDigest(claims.manifestDigest).algorithm;
  } catch {
    return `invalid digest ${claims.manifestDigest} in the signature`;
  }
  const actual = digestOf(image.rootBytes, algorithm);
  if (actual !== claims.manifestDigest) {
    return `the signature is for manifest ${claims.manifestDigest}, not ${actual}`;
  }
  if (!identityMatches(rule, image.intended, claims.dockerReference)) {
    const intended = image.intended ?? 'an image with no docker reference (a local place)';
    return `signed identity ${claims.dockerReference} is not accepted for ${intended} (${describeIdentity(rule)})`;
  }
  return undefined;
}
