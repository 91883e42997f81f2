import { isRegistryHost } from '../../ref/index.js';
import { isRepositoryName, isTag } from '../registry/names.js';

/**
 * How the store's image names (`org.opencontainers.image.ref.name` in `index.json`) and
 * the registry's repository names map onto each other, both ways, with no table kept.
 *
 * - Images the CLI pulled are named by full references (`docker.io/library/alpine:3.19`,
 *   `127.0.0.1:5000/app:1.0`). Each is served as repository `docker.io/library/alpine`,
 *   tag `3.19`: the name `ocipeek images` shows. A registry port cannot appear in a
 *   repository name, so `host:port` is served as `host_port` (`127.0.0.1_5000/app`); `_`
 *   is never part of a host name, so the mapping cannot collide.
 * - Images pushed to the registry under a name whose first component is not a host
 *   (`team/app`) are stored under that exact name (`team/app:1.0`), never normalised to
 *   `docker.io/team/app`: a push to this registry must not stand in for Docker Hub's
 *   image in the CLI's view of the store.
 */

/**
 * The registry `host:port` a served first component `host_port` stands for
 * (`127.0.0.1_5000` → `127.0.0.1:5000`), or undefined when it stands for none. The host and
 * port follow the references' one host rule (`isRegistryHost`), with one narrowing: the host
 * must have a `.` or be `localhost`, as a name's first component must to be a registry
 * when it is not followed by a port. Why: `team_1` is a plausible repository to push, and
 * reading it as `team:1` would store the push under another registry's name; so a
 * single-label host with a port (`myreg:5000/app`) is not served at all, as IPv6 hosts are
 * not ({@link repositoryOfRefName} refuses what this cannot map back).
 */
function hostWithPort(component: string): string | undefined {
  const underscore = component.lastIndexOf('_');
  if (underscore < 0) return undefined;
  const host = component.slice(0, underscore);
  if (host !== 'localhost' && !host.includes('.')) return undefined;
  const hostPort = `${host}:${component.slice(underscore + 1)}`;
  return isRegistryHost(hostPort) ? hostPort : undefined;
}

/** True when `repository` names content of another registry (its first part is a host). */
export function isMirrorRepository(repository: string): boolean {
  const first = repository.split('/', 1)[0] as string;
  if (!repository.includes('/')) return false;
  return first === 'localhost' || first.includes('.') || hostWithPort(first) !== undefined;
}

/** The store ref name prefix of `repository` (`127.0.0.1_5000/app` → `127.0.0.1:5000/app`). */
export function refBaseOf(repository: string): string {
  const slash = repository.indexOf('/');
  if (slash < 0) return repository;
  const host = hostWithPort(repository.slice(0, slash));
  return host === undefined ? repository : `${host}${repository.slice(slash)}`;
}

/** The store ref name of `tag` in `repository`. */
export function refNameOf(repository: string, tag: string): string {
  return `${refBaseOf(repository)}:${tag}`;
}

/**
 * The repository and tag a store ref name is served as, or `undefined` for names that no
 * valid repository and tag can express (a digest-only name, an IPv6 registry, a bare tag
 * as skopeo writes into plain layouts).
 */
export function repositoryOfRefName(
  refName: string,
): { repository: string; tag: string } | undefined {
  if (refName.includes('@')) return undefined;
  const slash = refName.lastIndexOf('/');
  const colon = refName.lastIndexOf(':');
  if (colon <= slash) return undefined;
  const tag = refName.slice(colon + 1);
  let base = refName.slice(0, colon);
  const firstSlash = base.indexOf('/');
  if (firstSlash > 0) {
    const host = base.slice(0, firstSlash);
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      // Served as `host_port` only when that maps back to this very host (see hostWithPort).
      const served = `${host.slice(0, colon)}_${host.slice(colon + 1)}`;
      if (hostWithPort(served) !== host) return undefined;
      base = `${served}${base.slice(firstSlash)}`;
    }
  }
  if (!isRepositoryName(base) || !isTag(tag)) return undefined;
  return { repository: base, tag };
}
