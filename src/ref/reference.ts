import { parseDigest } from '../digest/index.js';
import { InvalidReferenceError } from '../errors/index.js';
import { namesRegistry, registryHostKey, registryHostProblem } from './registry-host.js';

/** Docker Hub's canonical registry name in references. */
export const DOCKER_HUB = 'docker.io';
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/**
 * Docker Hub's legacy name ("the Docker Index"), which a reference's registry is folded
 * from: `index.docker.io/x` is `docker.io/x`, exactly as written (distribution/reference's
 * `legacyDefaultDomain`, compared case-sensitively there and here).
 */
export const DOCKER_HUB_LEGACY_HOST = 'index.docker.io';

// Every host that is Docker Hub's server: its name, its legacy name and its API host.
const DOCKER_HUB_HOSTS = new Set([DOCKER_HUB, DOCKER_HUB_LEGACY_HOST, DOCKER_HUB_API_HOST]);

/**
 * True when `host` is Docker Hub's server under any of its names (`docker.io`,
 * `index.docker.io`, `registry-1.docker.io`), in any case: hosts are compared by
 * `registryHostKey`. It decides where Docker Hub's requests go, which credentials they
 * carry and which upstream of the cache is Docker Hub; a reference's *name* is folded by
 * docker's narrower rule (see {@link DOCKER_HUB_LEGACY_HOST}).
 */
export function isDockerHubHost(host: string): boolean {
  return DOCKER_HUB_HOSTS.has(registryHostKey(host));
}

const MAX_NAME_LENGTH = 255;
/** A repository path component, unanchored, for expressions built from it (short-name aliases). */
export const PATH_COMPONENT_PATTERN = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH_COMPONENT = new RegExp(`^${PATH_COMPONENT_PATTERN}$`);
/** The tag grammar of the distribution spec (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * A parsed, normalised image reference such as `docker.io/library/alpine:latest` or
 * `127.0.0.1:5000/team/app@sha256:…`. Immutable; use the `with*` methods to derive.
 */
export class Reference {
  constructor(
    /** The registry name as written, normalised (`docker.io`, `ghcr.io`, `localhost:5000`). */
    readonly registry: string,
    /** The repository path (`library/alpine`). */
    readonly repository: string,
    /** The tag, when given (or defaulted to `latest`). */
    readonly tag?: string,
    /** The digest, when given. A digest wins over the tag when resolving. */
    readonly digest?: string,
  ) {}

  /** `registry/repository`, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** What to ask the registry for: the digest when present, else the tag. */
  get reference(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  /** The host (and port) to connect to for the registry API. */
  get apiHost(): string {
    return registryApiHost(this.registry);
  }

  /** The full normalised form: `registry/repository[:tag][@digest]`. */
  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  /** The same repository at `digest` (the tag is kept for display). */
  withDigest(digest: string): Reference {
    return new Reference(this.registry, this.repository, this.tag, digest);
  }

  /** The same repository at `tag`, without a digest. */
  withTag(tag: string): Reference {
    return new Reference(this.registry, this.repository, tag);
  }

  /** The same repository in another registry or path. */
  withRepository(repository: string): Reference {
    return new Reference(this.registry, repository, this.tag, this.digest);
  }
}

/** Options for {@link parseReference}. */
export interface ParseReferenceOptions {
  /** Tag to use when the reference has neither tag nor digest. Default `latest`; `null` for none. */
  defaultTag?: string | null;
}

/** True for a valid tag: what references, the registry server and the CLI all take. */
export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * The host serving a registry's API: Docker Hub's differs from its names, so every name of
 * Docker Hub's server ({@link isDockerHubHost}) goes to `registry-1.docker.io`.
 */
export function registryApiHost(registry: string): string {
  return isDockerHubHost(registry) ? DOCKER_HUB_API_HOST : registry;
}

function checkDomain(input: string, domain: string): void {
  const problem = registryHostProblem(domain);
  if (problem !== undefined) throw new InvalidReferenceError(input, problem);
}

/**
 * Parse a reference the way docker and skopeo do: `alpine` becomes
 * `docker.io/library/alpine:latest`, `index.docker.io/x` is `docker.io/x`,
 * `host:port/a/b:tag` keeps its registry (as written, case included), and
 * `name@sha256:…` or `name:tag@sha256:…` pin a digest. A leading `docker://` is accepted.
 * Throws {@link InvalidReferenceError} naming what is wrong.
 */
export function parseReference(input: string, options: ParseReferenceOptions = {}): Reference {
  const url = /^(https?):\/\/(.*)$/.exec(input);
  if (url) {
    const how =
      url[1] === 'http'
        ? ' (plain HTTP: add --plain-http; loopback registries need nothing)'
        : ' (HTTPS is the default)';
    throw new InvalidReferenceError(
      input,
      `references have no URL scheme: write ${url[2]?.replace(/^\/+/, '') || 'HOST/REPO[:TAG]'}${how}`,
    );
  }
  let s = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (s.startsWith('//')) s = s.slice(2);
  if (s === '') throw new InvalidReferenceError(input, 'empty reference');
  if (/\s/.test(s)) throw new InvalidReferenceError(input, 'contains whitespace');

  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    s = s.slice(0, at);
    try {
      parseDigest(digest);
    } catch (err) {
      throw new InvalidReferenceError(input, (err as Error).message);
    }
  }

  let tag: string | undefined;
  const lastSlash = s.lastIndexOf('/');
  const lastColon = s.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = s.slice(lastColon + 1);
    s = s.slice(0, lastColon);
    if (!isTag(tag)) {
      throw new InvalidReferenceError(
        input,
        `invalid tag "${tag}" (letters, digits, _ . - only, at most 128, not starting with . or -)`,
      );
    }
  }
  if (s === '') throw new InvalidReferenceError(input, 'missing repository name');

  const parts = s.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && namesRegistry(parts[0] as string)) {
    registry = parts.shift() as string;
    checkDomain(input, registry);
  }
  // docker's rule, exactly: only `index.docker.io` as written becomes `docker.io`; any
  // other spelling of Docker Hub's hosts (`registry-1.docker.io`, `Docker.io`) is kept as
  // the name it is, without `library/`, as docker and podman keep it. Such a name still
  // reaches Docker Hub's server with its credentials (isDockerHubHost).
  if (registry === DOCKER_HUB_LEGACY_HOST) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');

  for (const part of parts) {
    if (part === '') throw new InvalidReferenceError(input, 'empty path component');
    if (part !== part.toLowerCase()) {
      throw new InvalidReferenceError(input, `repository name must be lowercase ("${part}")`);
    }
    if (!PATH_COMPONENT.test(part)) {
      throw new InvalidReferenceError(input, `invalid repository path component "${part}"`);
    }
  }
  const repository = parts.join('/');
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw new InvalidReferenceError(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag === undefined && digest === undefined) {
    const fallback = options.defaultTag === undefined ? 'latest' : options.defaultTag;
    if (fallback !== null) tag = fallback;
  }
  return new Reference(registry, repository, tag, digest);
}

/** Parse a repository name with no tag or digest (for tag listing). */
export function parseRepository(input: string): Reference {
  const ref = parseReference(input, { defaultTag: null });
  if (ref.tag || ref.digest) {
    throw new InvalidReferenceError(input, 'expected a repository without tag or digest');
  }
  return ref;
}
