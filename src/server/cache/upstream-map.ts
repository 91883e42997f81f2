import { InvalidArgumentError } from '../../errors/index.js';
import {
  DOCKER_HUB,
  isDockerHubHost,
  PATH_COMPONENT_PATTERN,
  Reference,
  registryHostProblem,
} from '../../ref/index.js';
import { isDigestReference } from '../registry/names.js';

/** One registry the cache pulls through from. */
export interface Upstream {
  /**
   * The first path component that routes to it (`ghcr` in `ghcr/org/app`); the empty
   * string for the default upstream, which takes names no other upstream claims.
   */
  name: string;
  /** The registry as references name it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /**
   * The scheme it was given with (`http://…`, `https://…`): the only one it is spoken to
   * with. Undefined for a bare host, which the client's rule decides (HTTPS; loopback and
   * `insecure` registries find theirs out; `--plain-http`).
   */
  scheme?: 'http' | 'https';
}

/** Where a repository name of the cache is pulled from. */
export interface UpstreamRoute {
  upstream: Upstream;
  /** The repository on the upstream (`library/alpine` for Docker Hub's `alpine`). */
  repository: string;
}

/** An upstream's name is the first component of the names routed to it: one path component. */
const UPSTREAM_NAME = new RegExp(`^${PATH_COMPONENT_PATTERN}$`);

/**
 * `https://ghcr.io`, `http://127.0.0.1:5000/` or `ghcr.io` → the upstream's registry name
 * and the scheme it was given with (none for a bare host). The registry name is the host
 * and port as written (a URL's host is not lowercased, so `http://Reg.Example:5000` and
 * `Reg.Example:5000` name one upstream the same way; hosts are compared without case
 * wherever they are compared, see ref/registry-host.ts). Any name of Docker Hub's server
 * (`registry-1.docker.io`, the URL its users give, `index.docker.io`, `docker.io`, in any
 * case) is Docker Hub, `docker.io`: an upstream is a server to connect to, so it is matched
 * as a host, not folded by the reference's narrower rule. A one-word host (`myreg`) is a
 * host here, as `localhost` is: `--upstream` names nothing else.
 */
function upstreamOf(name: string, location: string): Upstream {
  let host = location.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host);
  let protocol: string | undefined;
  if (scheme) {
    protocol = scheme[1]?.toLowerCase();
    if (protocol !== 'http' && protocol !== 'https') {
      throw new InvalidArgumentError(`upstream "${location}": only http:// and https:// URLs`);
    }
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      throw new InvalidArgumentError(`upstream "${location}" is not a URL`);
    }
    if (url.pathname !== '/' || url.search || url.hash || url.username) {
      throw new InvalidArgumentError(
        `upstream "${location}": give the registry's origin only (no path, query or user)`,
      );
    }
    // The authority as written: URL's `host` is lowercased and drops a default port.
    host = host.slice(scheme[0].length).replace(/\/$/, '');
  }
  // The references' host rule: the upstream's name becomes the registry of the references
  // the cache pulls.
  const problem = registryHostProblem(host);
  if (problem !== undefined) {
    throw new InvalidArgumentError(
      `upstream "${location}" is not a registry host[:port]: ${problem}`,
    );
  }
  const registry = isDockerHubHost(host) ? DOCKER_HUB : host;
  return protocol === 'http' || protocol === 'https'
    ? { name, registry, scheme: protocol }
    : { name, registry };
}

/**
 * The upstreams of a pull-through cache and how repository names route to them
 * (`ocipeek serve --upstream NAME=URL ...`): `NAME/repo` goes to upstream `NAME` as
 * `repo`; any other name goes to the default upstream as it is. Docker Hub keeps its own
 * rule: a one-component name there is an official image, `alpine` is `library/alpine`.
 */
export class UpstreamMap {
  private readonly byName = new Map<string, Upstream>();
  private defaultUpstream: Upstream | undefined;

  /**
   * Parse `--upstream` values: `NAME=URL` (routed by prefix) or a bare `URL` (the
   * default). `defaultName` makes one of the named upstreams the default as well.
   */
  static parse(specs: string[], defaultName?: string): UpstreamMap {
    const map = new UpstreamMap();
    for (const spec of specs) {
      const eq = spec.indexOf('=');
      if (eq < 0) {
        map.setDefault(upstreamOf('', spec));
        continue;
      }
      const name = spec.slice(0, eq).trim();
      if (!UPSTREAM_NAME.test(name)) {
        throw new InvalidArgumentError(
          `upstream name "${name}" must be one repository path component (lowercase letters, digits, . _ -)`,
        );
      }
      if (map.byName.has(name)) throw new InvalidArgumentError(`upstream "${name}" given twice`);
      map.byName.set(name, upstreamOf(name, spec.slice(eq + 1)));
    }
    if (defaultName !== undefined) {
      const chosen = map.byName.get(defaultName);
      if (!chosen) {
        throw new InvalidArgumentError(`--default-upstream "${defaultName}" is not an upstream`);
      }
      map.setDefault(chosen);
    }
    if (map.byName.size === 0 && !map.defaultUpstream) {
      throw new InvalidArgumentError('a pull-through cache needs at least one --upstream');
    }
    return map;
  }

  private setDefault(upstream: Upstream): void {
    if (this.defaultUpstream) throw new InvalidArgumentError('only one default upstream');
    this.defaultUpstream = upstream;
  }

  /** Every upstream, the default included once. */
  all(): Upstream[] {
    const list = [...this.byName.values()];
    const d = this.defaultUpstream;
    if (d && !list.includes(d)) list.push(d);
    return list;
  }

  /** Where repository `name` of the cache comes from, or undefined when nowhere. */
  route(name: string): UpstreamRoute | undefined {
    const slash = name.indexOf('/');
    const prefixed = slash > 0 ? this.byName.get(name.slice(0, slash)) : undefined;
    if (prefixed)
      return { upstream: prefixed, repository: remoteName(prefixed, name.slice(slash + 1)) };
    if (this.defaultUpstream) {
      return { upstream: this.defaultUpstream, repository: remoteName(this.defaultUpstream, name) };
    }
    return undefined;
  }

  /** The upstream reference of `name` at `reference` (a tag or a digest). */
  static referenceOf(route: UpstreamRoute, reference: string): Reference {
    const { registry } = route.upstream;
    return isDigestReference(reference)
      ? new Reference(registry, route.repository, undefined, reference)
      : new Reference(registry, route.repository, reference);
  }
}

function remoteName(upstream: Upstream, repository: string): string {
  return upstream.registry === DOCKER_HUB && !repository.includes('/')
    ? `library/${repository}`
    : repository;
}
