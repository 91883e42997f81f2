import { isDockerHubHost, registryHostKey } from '../ref/index.js';

/** The name auth files and ocipeek use for Docker Hub. */
export const DOCKER_HUB_KEY = 'docker.io';

/** The server URL docker and its credential helpers use for Docker Hub. */
export const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';

/**
 * Normalise a registry host for credentials: compared by `registryHostKey` (case does
 * not matter, see ref/registry-host.ts), and every name of Docker Hub's server
 * (`docker.io`, `index.docker.io`, `registry-1.docker.io`: those docker and
 * containers/image have stored its credentials under) folded into `docker.io`.
 */
export function normalizeRegistry(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_KEY : registryHostKey(registry);
}

/** True when `registry` names Docker Hub under any of its aliases. */
export function isDockerHub(registry: string): boolean {
  return isDockerHubHost(registry);
}

/**
 * Normalise an `auths` key from an auth file. Keys come as `host`, `host:port`,
 * `host/namespace/repo` (containers' per-repository keys) or, from older docker logins, URLs
 * such as `https://index.docker.io/v1/`. A URL keeps only its host (its path is an API
 * version, not a repository), as containers/image does; a bare key keeps its path.
 */
export function normalizeAuthKey(key: string): string {
  const stripped = key.replace(/^https?:\/\//i, '');
  const isUrl = stripped !== key;
  const trimmed = stripped.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const host = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const path = slash < 0 || isUrl ? '' : trimmed.slice(slash);
  return normalizeRegistry(host) + path;
}

/**
 * The `auths` keys to try for `repository` on `registry`, most specific first:
 * `host/ns/repo`, `host/ns`, `host`.
 */
export function authKeyCandidates(registry: string, repository?: string): string[] {
  const host = normalizeRegistry(registry);
  const keys: string[] = [];
  if (repository) {
    const parts = repository.split('/').filter((p) => p !== '');
    for (let n = parts.length; n > 0; n--) keys.push(`${host}/${parts.slice(0, n).join('/')}`);
  }
  keys.push(host);
  return keys;
}

/** The server URL handed to a credential helper for `registry`, as docker does. */
export function helperServerUrl(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_SERVER_URL : normalizeRegistry(registry);
}
