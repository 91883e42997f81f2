import type { Hash } from 'node:crypto';
import { InvalidDigestError } from '../errors/index.js';
import { crypto } from '../node/lazy-builtins.js';

/** A supported digest algorithm. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** Digest algorithms ocipeek can verify, with the hex length each produces. */
const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/** A parsed `algorithm:hex` content digest. */
export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** The image spec's digest grammar: `algorithm:encoded`, whatever the algorithm. */
const DIGEST_SHAPE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** True when `digest` has a digest's shape (`algorithm:encoded`), known algorithm or not. */
export function hasDigestShape(digest: string): boolean {
  return DIGEST_SHAPE.test(digest);
}

/**
 * Parse and validate a digest such as `sha256:…`. Only sha256 and sha512 are accepted,
 * with lowercase hex of the right length, so a digest can safely become a file name.
 */
export function parseDigest(digest: string): ParsedDigest {
  const m = DIGEST_SHAPE.exec(digest);
  if (!m) throw new InvalidDigestError(digest, 'expected algorithm:hex');
  const algorithm = m[1] as string;
  const hex = m[2] as string;
  if (!(algorithm in HEX_LENGTH)) {
    throw new InvalidDigestError(digest, `unsupported algorithm "${algorithm}"`);
  }
  const length = HEX_LENGTH[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw new InvalidDigestError(digest, `${algorithm} needs ${length} lowercase hex digits`);
  }
  return { algorithm: algorithm as DigestAlgorithm, hex };
}

/**
 * True when a manifest reference (the part after a repository: `/v2/NAME/manifests/REF`,
 * islet's `--reference`) names a digest, false for a tag: the tag grammar has no `:` and
 * every digest has one. Whether the digest is valid is for {@link parseDigest} to say.
 */
export function isDigestReference(reference: string): boolean {
  return reference.includes(':');
}

/** True when `digest` is a valid, supported digest. */
export function isDigest(digest: string): boolean {
  try {
    parseDigest(digest);
    return true;
  } catch {
    return false;
  }
}

/** Start an incremental hash for `algorithm`. */
export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return crypto().createHash(algorithm);
}

/** The digest of `data` as `algorithm:hex`. */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${crypto().createHash(algorithm).update(data).digest('hex')}`;
}
