import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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

/**
 * The policy.json scopes of a layout folder or an archive file (`oci`, `oci-archive`),
 * most specific first, as containers/image has them: the path with symbolic links
 * resolved, then each parent folder up to, not including, `/`. A `docker-archive`
 * has none (only the transport's `""` and `default` apply).
 */
export async function localScopes(
  transport: 'oci' | 'oci-archive' | 'docker-archive',
  path: string,
): Promise<string[]> {
  if (transport === 'docker-archive') return [];
  let resolved = resolve(path);
  try {
    resolved = await realpath(resolved);
  } catch {
    // A place that does not exist fails when it is opened, with a clearer error.
  }
  const scopes: string[] = [];
  for (let p = resolved; p !== '/' && p !== dirname(p); p = dirname(p)) scopes.push(p);
  return scopes;
}
