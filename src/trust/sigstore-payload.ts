import { InvalidArgumentError } from '../errors/index.js';

/** The media type of a sigstore signature layer (its blob is the payload). */
export const SIGSTORE_SIGNATURE_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation holding the base64 signature of the payload. */
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** `critical.type` of every sigstore payload. */
const SIGNATURE_TYPE = 'cosign container image signature';

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
  if (critical.type !== SIGNATURE_TYPE) {
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
  const payload = {
    critical: {
      identity: { 'docker-reference': claims.dockerReference },
      image: { 'docker-manifest-digest': claims.manifestDigest },
      type: SIGNATURE_TYPE,
    },
    optional: { creator, timestamp },
  };
  return Buffer.from(JSON.stringify(payload));
}
