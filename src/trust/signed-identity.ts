import { parseReference, type Reference } from '../ref/index.js';

/** `signedIdentity` of a signature requirement: what identity the signature must claim. */
export type SignedIdentity =
  | { type: 'matchExact' }
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

function parseNamed(s: string): Reference | undefined {
  try {
    return parseReference(s, { defaultTag: null });
  } catch {
    return undefined;
  }
}

const nameOnly = (r: Reference) => !r.tag && !r.digest;

/** A tagged intended identity must equal the signed one; a digest one, its repository. */
function repoDigestOrExact(intended: Reference, signed: Reference): boolean {
  if (nameOnly(signed)) return false;
  if (intended.tag) return signed.toString() === intended.toString();
  if (intended.digest) return signed.name === intended.name;
  return false;
}

/**
 * Whether a signature claiming `signedReference` (the payload's `docker-reference`) is
 * acceptable for the image known as `intended` under `rule`, as containers-policy.json(5)
 * defines each rule.
 */
export function identityMatches(
  rule: SignedIdentity,
  intended: Reference,
  signedReference: string,
): boolean {
  const signed = parseNamed(signedReference);
  if (!signed) return false;
  switch (rule.type) {
    case 'matchExact':
      return !nameOnly(intended) && !nameOnly(signed) && signed.toString() === intended.toString();
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed);
    case 'matchRepository':
      return signed.name === intended.name;
    case 'exactReference': {
      const expected = parseNamed(rule.dockerReference);
      return (
        !!expected &&
        !nameOnly(expected) &&
        !nameOnly(signed) &&
        signed.toString() === expected.toString()
      );
    }
    case 'exactRepository':
      return signed.name === parseNamed(rule.dockerRepository)?.name;
    case 'remapIdentity': {
      const name = intended.name;
      const matches =
        name === rule.prefix || (name.startsWith(rule.prefix) && name[rule.prefix.length] === '/');
      const remapped = matches
        ? parseNamed(intended.toString().replace(rule.prefix, rule.signedPrefix))
        : intended;
      return !!remapped && repoDigestOrExact(remapped, signed);
    }
  }
}

/** The rule as text, for messages. */
export function describeIdentity(rule: SignedIdentity): string {
  switch (rule.type) {
    case 'exactReference':
      return `exactReference ${rule.dockerReference}`;
    case 'exactRepository':
      return `exactRepository ${rule.dockerRepository}`;
    case 'remapIdentity':
      return `remapIdentity ${rule.prefix} -> ${rule.signedPrefix}`;
    default:
      return rule.type;
  }
}
