import type { Reference } from '../ref/index.js';

/**
 * The policy.json scopes of the `docker` transport that may hold an image's requirements,
 * most specific first (containers-policy.json(5)): the full reference (`host/repo:tag`
 * or `host/repo@digest`), the repository, each namespace above it, the registry, then
 * `*.` wildcards of the host's parent domains (`*.b.example.com`, `*.example.com`, `*.com`).
 */
export function dockerScopes(ref: Reference): string[] {
  const scopes: string[] = [];
  if (ref.digest) scopes.push(`${ref.name}@${ref.digest}`);
  else if (ref.tag) scopes.push(`${ref.name}:${ref.tag}`);
  let name = ref.name;
  for (;;) {
    scopes.push(name);
    const slash = name.lastIndexOf('/');
    if (slash < 0) break;
    name = name.slice(0, slash);
  }
  let host = name.split(':')[0] ?? name;
  for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.')) {
    host = host.slice(dot + 1);
    scopes.push(`*.${host}`);
  }
  return scopes;
}
