/** A tag named after another manifest's digest (see {@link parseDigestTag}). */
export interface DigestTag {
  /** The digest the tag names, e.g. `sha256:…`: the manifest it is about. */
  subject: string;
  /**
   * What follows the digest: absent for the distribution spec's referrers fallback index
   * (`sha256-<hex>`); `sig`, `att`, `sbom`… for cosign's attachments (`sha256-<hex>.sig`).
   */
  suffix?: string;
}

const DIGEST_TAG = /^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})(?:\.([a-z0-9]+))?$/;

/**
 * Whether `tag` is named after a manifest digest, as the referrers tag schema and cosign
 * name what they attach to an image (indexes of referrers, signatures, attestations,
 * SBOMs): these tags are about an image, not images of their own. `undefined` for others.
 */
export function parseDigestTag(tag: string): DigestTag | undefined {
  const m = DIGEST_TAG.exec(tag);
  if (!m) return undefined;
  const subject = m[1]!.replace('-', ':');
  return m[2] === undefined ? { subject } : { subject, suffix: m[2] };
}
