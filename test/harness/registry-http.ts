import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, type Dispatcher, fetch, Headers, type RequestInit, type Response } from 'undici';
import type { Descriptor } from '../../src/media/types.js';
import { REF_NAME_ANNOTATION } from './oci-layout-writer.js';
import type { RunningRegistry } from './registry-process.js';

const dispatchers = new WeakMap<RunningRegistry, Dispatcher>();

/**
 * An undici dispatcher that trusts the registry's test CA and presents the test client
 * certificate (mutual TLS). For plain HTTP registries it is a default Agent.
 */
export async function registryDispatcher(registry: RunningRegistry): Promise<Dispatcher> {
  let d = dispatchers.get(registry);
  if (d === undefined) {
    const connect =
      registry.tls === 'none'
        ? {}
        : {
            ca: await readFile(registry.caFile!, 'utf8'),
            cert: await readFile(registry.clientCert!, 'utf8'),
            key: await readFile(registry.clientKey!, 'utf8'),
          };
    d = new Agent({ connect });
    dispatchers.set(registry, d);
  }
  return d;
}

/** Options for {@link registryAuthorization}. */
export interface RegistryAuthorizationOptions {
  /** Repository the token must cover (token mode). */
  repository?: string;
  /** Actions granted in token mode. Default `['pull', 'push', 'delete']`. */
  actions?: string[];
}

/**
 * An `Authorization` header value that the registry accepts for `repository`: Basic for
 * htpasswd, a Bearer token signed directly by the token server's key in token mode (so the
 * token server's request counters are not touched), undefined without auth.
 */
export async function registryAuthorization(
  registry: RunningRegistry,
  options: RegistryAuthorizationOptions = {},
): Promise<string | undefined> {
  if (registry.auth === 'htpasswd') {
    return `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
  }
  if (registry.auth === 'token' && registry.tokenServer) {
    const access = [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    if (options.repository) {
      access.push({
        type: 'repository',
        name: options.repository,
        actions: options.actions ?? ['pull', 'push', 'delete'],
      });
    }
    return `Bearer ${await registry.tokenServer.issue(registry.username ?? '', access)}`;
  }
  return undefined;
}

/** Options for {@link registryFetch}. */
export interface RegistryFetchOptions extends RequestInit {
  /** Send no credentials. */
  anonymous?: boolean;
  /** Repository for the token scope; guessed from `/v2/NAME/(blobs|manifests|tags)/` paths. */
  repository?: string;
}

function repositoryOf(pathname: string): string | undefined {
  return /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(pathname)?.[1];
}

/**
 * `fetch` a path (or absolute URL) on the test registry with its TLS trust and
 * credentials — the setup side of a test, never the code under test.
 *
 * @example
 * const res = await registryFetch(reg, '/v2/demo/app/tags/list');
 */
export async function registryFetch(
  registry: RunningRegistry,
  pathOrUrl: string,
  options: RegistryFetchOptions = {},
): Promise<Response> {
  const { anonymous, repository, ...init } = options;
  const url = new URL(pathOrUrl, registry.url);
  const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
  if (!anonymous && !headers.has('authorization')) {
    const auth = await registryAuthorization(registry, {
      repository: repository ?? repositoryOf(url.pathname),
    });
    if (auth) headers.set('authorization', auth);
  }
  return fetch(url, { ...init, headers, dispatcher: await registryDispatcher(registry) });
}

async function expectStatus(res: Response, ok: number[], what: string): Promise<void> {
  if (!ok.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  }
  await res.body?.cancel();
}

/**
 * Upload a blob by the two-step protocol (`POST /v2/REPO/blobs/uploads/`, then
 * `PUT LOCATION?digest=D`). `digest` may use sha512: distribution 2.8 verifies it, stores
 * the bytes under their sha256 and answers for both digests.
 */
export async function uploadBlob(
  registry: RunningRegistry,
  repository: string,
  bytes: Uint8Array,
  digest: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const head = await registryFetch(registry, `/v2/${repository}/blobs/${digest}`, {
    method: 'HEAD',
    signal: options.signal,
  });
  if (head.status === 200) return;
  const post = await registryFetch(registry, `/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    signal: options.signal,
  });
  const location = post.headers.get('location');
  await expectStatus(post, [202], `start upload to ${repository}`);
  const url = new URL(location!, registry.url);
  url.searchParams.set('digest', digest);
  const put = await registryFetch(registry, url.href, {
    method: 'PUT',
    body: bytes,
    repository,
    headers: { 'content-type': 'application/octet-stream' },
    signal: options.signal,
  });
  await expectStatus(put, [201], `upload ${digest} to ${repository}`);
}

/** `PUT /v2/REPO/manifests/REF` with `bytes` as `mediaType`. */
export async function putManifest(
  registry: RunningRegistry,
  repository: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const res = await registryFetch(registry, `/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': mediaType },
    signal: options.signal,
  });
  await expectStatus(res, [201], `put manifest ${repository}:${reference}`);
}

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Every descriptor reachable from `refName` in an OCI layout, children before parents. */
export async function walkLayout(
  layoutDir: string,
  refName: string,
): Promise<{ root: Descriptor; all: Array<{ descriptor: Descriptor; bytes: Buffer }> }> {
  const index = JSON.parse(await readFile(path.join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: Descriptor[];
  };
  const root = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === refName);
  if (!root) throw new Error(`no ${refName} in ${layoutDir}/index.json`);
  const all: Array<{ descriptor: Descriptor; bytes: Buffer }> = [];
  const seen = new Set<string>();
  const visit = async (d: Descriptor) => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const [alg, hex] = d.digest.split(':');
    const bytes = await readFile(path.join(layoutDir, 'blobs', alg!, hex!));
    if (MANIFEST_TYPES.has(d.mediaType)) {
      const m = JSON.parse(bytes.toString('utf8')) as {
        manifests?: Descriptor[];
        config?: Descriptor;
        layers?: Descriptor[];
      };
      for (const child of m.manifests ?? []) await visit(child);
      if (m.config) await visit(m.config);
      for (const layer of m.layers ?? []) await visit(layer);
    }
    all.push({ descriptor: d, bytes });
  };
  await visit(root);
  return { root, all };
}

/**
 * Push `refName` of an OCI layout to `registry` as `repository:tag` over plain HTTP calls
 * (no skopeo). Handles what skopeo 1.9.3 refuses: Docker media types in `index.json`
 * and blobs with sha512 digests. Child manifests are put by digest, the root by tag.
 */
export async function pushLayoutHttp(
  layoutDir: string,
  refName: string,
  registry: RunningRegistry,
  targetRef: string,
  options: { signal?: AbortSignal } = {},
): Promise<Descriptor> {
  const colon = targetRef.lastIndexOf(':');
  if (colon < 0 || targetRef.includes('@'))
    throw new Error('pushLayoutHttp: target must be repo:tag');
  const repository = targetRef.slice(0, colon);
  const tag = targetRef.slice(colon + 1);
  const { root, all } = await walkLayout(layoutDir, refName);
  for (const { descriptor, bytes } of all) {
    if (MANIFEST_TYPES.has(descriptor.mediaType)) {
      const ref = descriptor === root ? tag : descriptor.digest;
      await putManifest(registry, repository, ref, bytes, descriptor.mediaType, options);
    } else {
      await uploadBlob(registry, repository, bytes, descriptor.digest, options);
    }
  }
  const { annotations: _ignored, ...rootDescriptor } = root;
  return rootDescriptor;
}
