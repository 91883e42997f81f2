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
 * defines each rule. An image with no docker reference (`intended` undefined: an `oci:`
 * layout, as containers/image sees one) meets only the rules that name the identity
 * themselves (`exactReference`, `exactRepository`).
 */
export function identityMatches(
  rule: SignedIdentity,
  intended: Reference | undefined,
  signedReference: string,
): boolean {
  const signed = parseNamed(signedReference);
  if (!signed) return false;
  if (!intended)
    return rule.type === 'exactReference' || rule.type === 'exactRepository'
      ? exactMatches(rule, signed)
      : false;
  switch (rule.type) {
    case 'matchExact':
      return !nameOnly(intended) && !nameOnly(signed) && signed.toString() === intended.toString();
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed);
    case 'matchRepository':
      return signed.name === intended.name;
    case 'exactReference':
    case 'exactRepository':
      return exactMatches(rule, signed);
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

/** The rules that name the accepted identity themselves. */
function exactMatches(
  rule: Extract<SignedIdentity, { type: 'exactReference' | 'exactRepository' }>,
  signed: Reference,
): boolean {
  if (rule.type === 'exactRepository') {
    return signed.name === parseNamed(rule.dockerRepository)?.name;
  }
  const expected = parseNamed(rule.dockerReference);
  return (
    !!expected &&
    !nameOnly(expected) &&
    !nameOnly(signed) &&
    signed.toString() === expected.toString()
  );
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
