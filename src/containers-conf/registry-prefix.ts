import { hostKeyedName } from '../ref/index.js';

/**
 * How a `[[registry]]` prefix of registries.conf matches a reference, as
 * containers-registries.conf(5) defines it: a prefix matches a whole registry, namespace,
 * repository or reference, so the character after it must end a component (`:`, `/`,
 * `@`); `*.example.com` matches any subdomain of example.com (and no namespace).
 *
 * One deliberate difference from containers/image, which compares the strings exactly:
 * the host part (before the first `/`) of the prefix and of the reference are compared
 * without case, as ocipeek compares registry hosts everywhere (ref/registry-host.ts). So
 * `blocked`, `insecure`, mirrors and `location` of a `reg.example` prefix apply to
 * `Reg.Example/app` too, one server by DNS, where podman would skip them (a `blocked`
 * registry could otherwise be reached by writing its host in upper case). The path, tag
 * and digest after the host are compared exactly (a repository path is lower case anyway).
 */

/**
 * The length of the part of `ref` (`host[:port]/path[:tag][@digest]`) that `prefix`
 * matches, or -1. What follows the match is kept when the reference is rewritten to a
 * location.
 */
export function prefixMatchLength(ref: string, prefix: string): number {
  return keyedMatchLength(hostKeyedName(ref), hostKeyedName(prefix));
}

function keyedMatchLength(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) return subdomainMatchLength(ref, prefix);
  if (ref === prefix) return prefix.length;
  if (ref.length <= prefix.length || !ref.startsWith(prefix)) return -1;
  // As containers/image: "example.com:5000" matches the prefix "example.com" too.
  return endsComponent(ref[prefix.length]) ? prefix.length : -1;
}

function endsComponent(c: string | undefined): boolean {
  return c === ':' || c === '/' || c === '@';
}

/** `*.example.com`: `example.com` preceded by anything without a `/`, then a component end. */
function subdomainMatchLength(ref: string, prefix: string): number {
  const domain = prefix.slice(1); // ".example.com"
  const index = ref.indexOf(domain);
  if (index < 0 || ref.slice(0, index).includes('/')) return -1;
  const end = index + domain.length;
  if (end === ref.length || endsComponent(ref[end])) return end;
  return -1;
}

/** Whether `prefix` is a well-formed wildcard (`*.example.com`, no port or namespace). */
export function isWildcardPrefix(prefix: string): boolean {
  return prefix.startsWith('*.');
}
