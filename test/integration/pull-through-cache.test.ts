import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Keychain } from '../../src/auth/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { PullThroughCache } from '../../src/server/cache/pull-through-cache.js';
import { UpstreamMap } from '../../src/server/cache/upstream-map.js';
import {
  type RunningRegistryServer,
  serve,
  startRegistryServer,
} from '../../src/server/registry/index.js';
import { StoreStorage } from '../../src/server/storage/store-storage.js';
import { buildahIn } from '../harness/buildah.js';
import {
  type BuiltImage,
  type FaultProxy,
  faults,
  LayoutWriter,
  type ProxyLogEntry,
  pullFromHost,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startFaultProxyFor,
  startRegistry,
  tempDir,
  times,
  uploadBlob,
} from '../harness/index.js';
import { podmanIn } from '../harness/podman.js';
import { runCli } from '../harness/run-cli.js';

// `ocipeek serve --upstream`: a pull-through cache in front of two real docker-registry
// instances (one behind token auth), pulled through by skopeo, ocipeek and plain HTTP
// clients. Fault proxies in front of the upstreams count the bytes upstream sent and cut,
// stall or corrupt answers.

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Body bytes upstream sent for GETs of blob `digest`. */
function blobBytesSent(log: ProxyLogEntry[], digest: string): number {
  return log
    .filter((e) => e.method === 'GET' && e.url.endsWith(`/blobs/${digest}`))
    .reduce((n, e) => n + e.bytesSent, 0);
}

/** A blob of random bytes and its digest. */
function randomBlob(size: number): { bytes: Buffer; digest: string } {
  const bytes = randomBytes(size);
  return { bytes, digest: sha256(bytes) };
}

describe('pull-through cache (ocipeek serve --upstream)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let regA: RunningRegistry;
  let regB: RunningRegistry;
  let proxyA: FaultProxy;
  let proxyK: FaultProxy;
  let proxyKClosed: Promise<void> | undefined;
  const closeProxyK = () => {
    proxyKClosed ??= proxyK.close();
    return proxyKClosed;
  };
  let storage: StoreStorage;
  let cache: PullThroughCache;
  let server: RunningRegistryServer;
  let imageA: BuiltImage;
  let imageB: BuiltImage;
  let imageP: BuiltImage;
  let cacheHost: string;
  const big = randomBlob(24 * 1024 * 1024 + 123);
  const cut = randomBlob(4 * 1024 * 1024 + 7);
  const corrupt = randomBlob(3 * 1024 * 1024 + 1);
  const killed = randomBlob(6 * 1024 * 1024);

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(path, server.url), { headers });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };

  before(async () => {
    dir = await tempDir('pull-through');
    [regA, regB] = await Promise.all([startRegistry(), startRegistry({ auth: 'token' })]);
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    imageA = await randomImage(w, { layers: 2, layerSize: 300_000, refName: 'a' });
    imageB = await randomImage(w, { layers: 1, layerSize: 200_000, refName: 'b' });
    // Its own layers: the podman pull starts cold whatever the other tests cached.
    imageP = await randomImage(w, { layers: 2, layerSize: 150_000, refName: 'p' });
    await w.finish();
    await pushLayout(layout, 'a', regA, 'demo/app:v1');
    await pushLayout(layout, 'a', regA, 'kept/app:v1');
    await pushLayout(layout, 'p', regA, 'podman/app:v1');
    await pushLayout(layout, 'b', regB, 'team/tool:v1');
    for (const blob of [big, cut, corrupt, killed]) {
      await uploadBlob(regA, 'raw/blobs', blob.bytes, blob.digest);
    }
    proxyA = await startFaultProxyFor(regA);
    proxyK = await startFaultProxyFor(regA);
    // Upstream credentials come from an auth file, as the CLI's do.
    const authFile = join(dir.path, 'auth.json');
    const basic = Buffer.from(`${regB.username}:${regB.password}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [regB.host]: { auth: basic } } }));
    storage = await StoreStorage.open(join(dir.path, 'store'));
    cache = new PullThroughCache({
      storage,
      upstreams: UpstreamMap.parse([
        `a=http://${proxyA.host}`,
        `b=${regB.url}`,
        `k=${proxyK.host}`,
      ]),
      client: new RegistryClient({
        keychain: new Keychain({ authFile }),
        retry: { retries: 1, minDelayMs: 10, maxDelayMs: 50 },
      }),
      closeClient: true,
      tagTtlMs: 0, // every tag request revalidates: the HEADs are visible
      maxResumes: 2,
      memory: { maxBytes: 1024 * 1024, maxObjectBytes: 64 * 1024 },
    });
    server = await startRegistryServer({ storage: cache, metrics: cache.counters.metrics });
    cacheHost = new URL(server.url).host;
  });

  after(async () => {
    await server?.close();
    await proxyA?.close();
    if (proxyK) await closeProxyK();
    await regA?.stop();
    await regB?.stop();
    await dir?.remove();
  });

  it('skopeo pulls through it; the second pull takes no blob from upstream', async () => {
    proxyA.resetLog();
    const out1 = join(dir.path, 'out1');
    const flags = ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false'];
    await skopeo([
      ...flags,
      '--src-no-creds',
      `docker://${cacheHost}/a/demo/app:v1`,
      `oci:${out1}:v1`,
    ]);
    const index = JSON.parse(await readFile(join(out1, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, imageA.descriptor.digest);
    for (const layer of imageA.layers) {
      const hex = layer.digest.split(':')[1] as string;
      const bytes = await readFile(join(out1, 'blobs', 'sha256', hex));
      assert.equal(sha256(bytes), layer.digest);
    }
    const fetched = imageA.layers.reduce((n, l) => n + blobBytesSent(proxyA.log, l.digest), 0);
    assert.equal(
      fetched,
      imageA.layers.reduce((n, l) => n + l.size, 0),
    );

    // Each download is stored (hashed, renamed into place) after its last byte went out:
    // wait until all are, so that the second pull reads the cache instead of joining a
    // download still being stored.
    const metricsText = async () => (await fetch(new URL('/metrics', server.url))).text();
    while (!/^ocipeek_cache_downloads_in_flight 0$/m.test(await metricsText())) {
      await new Promise((r) => setTimeout(r, 20));
    }
    proxyA.resetLog();
    const out2 = join(dir.path, 'out2');
    await skopeo([
      ...flags,
      '--src-no-creds',
      `docker://${cacheHost}/a/demo/app:v1`,
      `oci:${out2}:v1`,
    ]);
    assert.deepEqual(
      proxyA.log.filter((e) => e.url.includes('/blobs/')).map((e) => e.url),
      [],
      'no blob request upstream',
    );
    // The tag was revalidated with HEAD only (TTL 0), never fetched again.
    assert.ok(proxyA.log.some((e) => e.method === 'HEAD' && e.url.endsWith('/manifests/v1')));
    assert.ok(!proxyA.log.some((e) => e.method === 'GET' && e.url.includes('/manifests/')));
    const m = cache.counters.metrics;
    assert.ok(m.value('ocipeek_cache_requests_total', { kind: 'blob', result: 'hit' }) >= 3);
    assert.ok(
      m.value('ocipeek_cache_requests_total', { kind: 'manifest', result: 'revalidated' }) >= 1,
    );
    const metrics = await metricsText();
    assert.match(metrics, /ocipeek_cache_bytes_saved_total\{tier="(memory|storage)"\} [1-9]/);
  });

  it('buildah pulls through it; pulled again, no blob comes from upstream', async () => {
    const root = join(dir.path, 'buildah');
    const buildah = buildahIn(root);
    const ref = `docker://${cacheHost}/a/kept/app:v1`;
    const pullAndCheck = async () => {
      await buildah('pull', '--tls-verify=false', ref);
      const inspected = JSON.parse(await buildah('inspect', '--type', 'image', ref.slice(9)));
      // buildah unpacked every layer: the diff ids it recorded are the image's own.
      assert.deepEqual(
        inspected.OCIv1.rootfs.diff_ids,
        imageA.layers.map((l) => l.diffId),
      );
      assert.equal(inspected.FromImageDigest, imageA.descriptor.digest);
    };
    await pullAndCheck();
    await buildah('rmi', '--all');
    proxyA.resetLog();
    await pullAndCheck();
    assert.deepEqual(
      proxyA.log.filter((e) => e.url.includes('/blobs/')).map((e) => `${e.method} ${e.url}`),
      [],
      'the second pull took every blob from the cache',
    );
  });

  it('podman pulls through it; pulled again, no blob comes from upstream', async () => {
    const podman = podmanIn(join(dir.path, 'podman'));
    const ref = `${cacheHost}/a/podman/app:v1`;
    const pullAndCheck = async () => {
      await podman('pull', '--quiet', '--tls-verify=false', ref);
      const [inspected] = JSON.parse(await podman('image', 'inspect', ref));
      // podman stored every layer: the diff ids it recorded are the image's own.
      assert.deepEqual(
        inspected.RootFS.Layers,
        imageP.layers.map((l) => l.diffId),
      );
      assert.equal(inspected.Digest, imageP.descriptor.digest);
    };
    proxyA.resetLog();
    await pullAndCheck();
    // Cold: each layer came from upstream once.
    for (const layer of imageP.layers) {
      assert.equal(blobBytesSent(proxyA.log, layer.digest), layer.size);
    }
    await podman('rmi', '--all');
    proxyA.resetLog();
    await pullAndCheck();
    assert.deepEqual(
      proxyA.log.filter((e) => e.url.includes('/blobs/')).map((e) => `${e.method} ${e.url}`),
      [],
      'the second pull took every blob from the cache',
    );
  });

  it('ocipeek pulls from the token-auth upstream through it', async () => {
    const store = join(dir.path, 'cli-store');
    const pulled = await runCli(['pull', `${cacheHost}/b/team/tool:v1`, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const layer = imageB.layers[0]!.digest;
    const bytes = await readFile(join(store, 'blobs', 'sha256', layer.split(':')[1] as string));
    assert.equal(sha256(bytes), layer);
    // The cache authenticated upstream with the auth file's credentials.
    assert.ok(regB.tokenServer!.log.some((r) => r.user === regB.username));
    // Stored once verified, which may finish just after the client got its last byte.
    await waitFor(async () => (await storage.statBlob('b/team/tool', layer)) !== undefined);
    assert.equal(await storage.statBlob('b/team/tool', layer), imageB.layers[0]!.size);
  });

  it('many clients of one uncached blob share one upstream download', async () => {
    proxyA.resetLog();
    const path = `/v2/a/raw/blobs/blobs/${big.digest}`;
    const whole = Array.from({ length: 8 }, async () => {
      const res = await fetch(new URL(path, server.url));
      assert.equal(res.status, 200);
      return sha256(Buffer.from(await res.arrayBuffer()));
    });
    // A client that goes away after its first bytes does not stop the download.
    const quitter = (async () => {
      const controller = new AbortController();
      const res = await fetch(new URL(path, server.url), { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
    })();
    // A range of the blob being fetched is served once those bytes are there.
    const range = (async () => {
      const res = await fetch(new URL(path, server.url), {
        headers: { Range: 'bytes=5000000-5000999' },
      });
      assert.equal(res.status, 206);
      return Buffer.from(await res.arrayBuffer());
    })();
    for (const digest of await Promise.all(whole)) assert.equal(digest, big.digest);
    await quitter;
    assert.deepEqual(await range, big.bytes.subarray(5_000_000, 5_001_000));
    assert.equal(blobBytesSent(proxyA.log, big.digest), big.bytes.length, 'one blob upstream');
    assert.equal(proxyA.log.filter((e) => e.method === 'GET').length, 1);
    // Stored once verified; later clients are served from the store.
    await waitFor(async () => (await storage.statBlob('a/raw/blobs', big.digest)) !== undefined);
    proxyA.resetLog();
    const again = await get(path);
    assert.equal(again.res.headers.get('x-ocipeek-cache'), 'hit; tier=storage');
    assert.equal(sha256(again.body), big.digest);
    assert.equal(proxyA.log.length, 0);
  });

  it('resumes an upstream answer cut mid-blob with Range', async () => {
    proxyA.resetLog();
    proxyA.setRule(
      times(
        1,
        (c) => c.method === 'GET' && c.path.endsWith(cut.digest),
        faults.dropAfterBytes(1 << 20),
      ),
    );
    const path = `/v2/a/raw/blobs/blobs/${cut.digest}`;
    const bodies = await Promise.all([get(path), get(path)]);
    for (const { res, body } of bodies) {
      assert.equal(res.status, 200);
      assert.equal(sha256(body), cut.digest);
    }
    const gets = proxyA.log.filter((e) => e.method === 'GET');
    assert.equal(gets.length, 2);
    assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
    assert.equal(blobBytesSent(proxyA.log, cut.digest), cut.bytes.length);
    proxyA.setRule(undefined);
  });

  it('cuts every client of a blob that fails verification and keeps nothing', async () => {
    proxyA.resetLog();
    proxyA.setRule(
      times(
        1,
        (c) => c.method === 'GET' && c.path.endsWith(corrupt.digest),
        faults.corruptByteAt(corrupt.bytes.length - 10, { chunkDelayMs: 30 }),
      ),
    );
    const path = `/v2/a/raw/blobs/blobs/${corrupt.digest}`;
    const outcomes = await Promise.allSettled([get(path), get(path), get(path)]);
    for (const o of outcomes)
      assert.equal(o.status, 'rejected', 'connection cut, never a clean end');
    await waitFor(async () =>
      cache.counters.metrics.render().includes('ocipeek_cache_downloads_in_flight 0'),
    );
    assert.equal(await storage.statBlob('a/raw/blobs', corrupt.digest), undefined);
    const gets = proxyA.log.filter((e) => e.method === 'GET' && e.url.endsWith(corrupt.digest));
    assert.equal(gets.length, 1, 'the three clients shared one download');
    // The next request starts a fresh download, which verifies.
    const retry = await get(path);
    assert.equal(retry.res.status, 200);
    assert.equal(sha256(retry.body), corrupt.digest);
    proxyA.setRule(undefined);
  });

  it('when upstream dies mid-blob: clients are cut, nothing partial is kept; cached images still pull', async () => {
    // Cache an image from upstream k first.
    const manifest = await get('/v2/k/kept/app/manifests/v1');
    assert.equal(manifest.res.status, 200);
    assert.equal(sha256(manifest.body), imageA.descriptor.digest);
    for (const d of [imageA.configDescriptor, ...imageA.layers]) {
      const blob = await get(`/v2/k/kept/app/blobs/${d.digest}`);
      assert.equal(sha256(blob.body), d.digest);
    }
    proxyK.setRule(
      times(
        1,
        (c) => c.method === 'GET' && c.path.endsWith(killed.digest),
        faults.stallAfterBytes(1 << 20),
      ),
    );
    const path = `/v2/k/raw/blobs/blobs/${killed.digest}`;
    const clients = [get(path), get(path)];
    await waitFor(async () =>
      proxyK.log.some((e) => e.url.endsWith(killed.digest) && e.bytesSent > 0),
    );
    await closeProxyK(); // upstream gone: resumes find nobody
    for (const o of await Promise.allSettled(clients)) assert.equal(o.status, 'rejected');
    await waitFor(async () =>
      cache.counters.metrics.render().includes('ocipeek_cache_downloads_in_flight 0'),
    );
    assert.equal(await storage.statBlob('k/raw/blobs', killed.digest), undefined);

    // Upstream down: the cached tag is served, marked stale; blobs too.
    const stale = await get('/v2/k/kept/app/manifests/v1');
    assert.equal(stale.res.status, 200);
    assert.equal(sha256(stale.body), imageA.descriptor.digest);
    assert.equal(stale.res.headers.get('x-ocipeek-cache'), 'stale');
    assert.equal(stale.res.headers.get('warning'), '110 - "Response is Stale"');
    const layer = await get(`/v2/k/kept/app/blobs/${imageA.layers[0]!.digest}`);
    assert.equal(layer.res.status, 200);
    assert.equal(layer.res.headers.get('x-ocipeek-upstream'), 'unreachable');
    const out = join(dir.path, 'out-down');
    await pullFromHost(cacheHost, 'k/kept/app:v1', out, 'v1');
    // What was never cached fails with a clear error naming the upstream.
    const missing = await get('/v2/k/demo/app/manifests/v1');
    assert.equal(missing.res.status, 502);
    const error = JSON.parse(missing.body.toString()).errors[0];
    assert.equal(error.code, 'UNAVAILABLE');
    assert.match(error.message, new RegExp(`^upstream ${proxyK.host.replaceAll('.', '\\.')}: `));
  });

  it('serves a cached tag when upstream answers 429, marked stale', async () => {
    proxyA.setRule(times(4, (c) => c.isManifest, faults.status(429, { 'retry-after': '0' })));
    const answer = await get('/v2/a/demo/app/manifests/v1');
    assert.equal(answer.res.status, 200);
    assert.equal(sha256(answer.body), imageA.descriptor.digest);
    assert.equal(answer.res.headers.get('x-ocipeek-cache'), 'stale');
    proxyA.setRule(undefined);
  });

  it('follows a tag that moved upstream', async () => {
    const layout = join(dir.path, 'layout2');
    const w = new LayoutWriter(layout);
    const next = await randomImage(w, { layers: 1, layerSize: 1000, refName: 'n' });
    await w.finish();
    await pushLayout(layout, 'n', regA, 'demo/app:v1');
    const answer = await get('/v2/a/demo/app/manifests/v1');
    assert.equal(sha256(answer.body), next.descriptor.digest);
    assert.equal(answer.res.headers.get('x-ocipeek-cache'), 'miss');
    // By digest, the old manifest is still served, forever.
    const old = await get(`/v2/a/demo/app/manifests/${imageA.descriptor.digest}`);
    assert.equal(old.res.headers.get('x-ocipeek-cache'), 'hit');
  });

  it('takes its upstreams from the config file; a bad entry is one clear error', async () => {
    const config = join(dir.path, 'cache.yaml');
    await writeFile(
      config,
      `storage: config-store\nupstreams:\n  - a=http://${proxyA.host}\ndefaultUpstream: a\n`,
    );
    const controller = new AbortController();
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => {
      listening = resolve;
    });
    const running = serve({
      config,
      listen: '127.0.0.1:0',
      signal: controller.signal,
      write: (line) => {
        const m = /^listening on (\S+)/.exec(line);
        if (m) listening(m[1] as string);
      },
    });
    try {
      const base = await url;
      // By its prefix, and without one through the default upstream.
      for (const path of ['a/kept/app', 'kept/app']) {
        const manifest = await fetch(`${base}/v2/${path}/manifests/v1`);
        assert.equal(manifest.status, 200, path);
        assert.equal(sha256(Buffer.from(await manifest.arrayBuffer())), imageA.descriptor.digest);
        const layer = imageA.layers[0]!;
        const blob = await fetch(`${base}/v2/${path}/blobs/${layer.digest}`);
        assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), layer.digest);
      }
    } finally {
      controller.abort();
      await running;
    }
    const bad = join(dir.path, 'bad-cache.yaml');
    await writeFile(bad, 'storage: bad-store\nupstreams: [3]\n');
    const refused = await runCli(['serve', '--config', bad]);
    assert.notEqual(refused.code, 0);
    assert.equal(
      refused.stderr.trim(),
      `ocipeek: ${bad}: upstreams must be a list of NAME=URL (or URL) strings`,
    );
  });

  it('serve --upstream (the CLI path), then cache ls, stats and evict over its store', async () => {
    const store = join(dir.path, 'serve-store');
    const controller = new AbortController();
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => {
      listening = resolve;
    });
    const running = serve({
      storage: store,
      upstream: [`a=http://${proxyA.host}`],
      listen: '127.0.0.1:0',
      signal: controller.signal,
      write: (line) => {
        const m = /^listening on (\S+)/.exec(line);
        if (m) listening(m[1] as string);
      },
    });
    const base = await url;
    const objects = [imageA.configDescriptor, ...imageA.layers];
    try {
      const manifest = await fetch(`${base}/v2/a/kept/app/manifests/v1`);
      assert.equal(sha256(Buffer.from(await manifest.arrayBuffer())), imageA.descriptor.digest);
      for (const d of objects) {
        const blob = await fetch(`${base}/v2/a/kept/app/blobs/${d.digest}`);
        assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), d.digest);
      }
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /ocipeek_cache_requests_total\{kind="blob",result="miss"\} 3/);
    } finally {
      controller.abort();
      await running; // closing saves when each tag was last pulled
    }
    const total = imageA.manifestBytes.length + objects.reduce((n, d) => n + d.size, 0);
    const ls = await runCli(['cache', 'ls', '--json', '--store', store]);
    assert.equal(ls.code, 0, ls.stderr);
    const [entry, ...rest] = JSON.parse(ls.out);
    assert.deepEqual(rest, []);
    assert.equal(entry.repository, 'a/kept/app');
    assert.equal(entry.tag, 'v1');
    assert.equal(entry.digest, imageA.descriptor.digest);
    assert.equal(entry.bytes, total);
    assert.ok(Date.now() - Date.parse(entry.lastUsed) < 600_000, entry.lastUsed);
    const stats = JSON.parse((await runCli(['cache', 'stats', '--json', '--store', store])).out);
    assert.deepEqual(stats, { repositories: 1, images: 1, objects: 4, bytes: total });
    const dry = await runCli(['cache', 'evict', '--max-size', '1', '--dry-run', '--store', store]);
    assert.match(dry.out, /would evict a\/kept\/app:v1/);
    const evicted = await runCli([
      'cache',
      'evict',
      'a/kept/app:v1',
      '--grace',
      '0',
      '--json',
      '--store',
      store,
    ]);
    assert.equal(evicted.code, 0, evicted.stderr);
    const result = JSON.parse(evicted.out);
    assert.equal(result.evicted.length, 1);
    assert.equal(result.blobsRemoved, 4);
    assert.equal(result.bytesFreed, total);
    assert.deepEqual(
      JSON.parse((await runCli(['cache', 'ls', '--json', '--store', store])).out),
      [],
    );
  });

  it('keeps the persistent tier within --cache-max-size, evicting the least recently pulled', async () => {
    const small = new PullThroughCache({
      storage: await StoreStorage.open(join(dir.path, 'bounded-store')),
      upstreams: UpstreamMap.parse([`http://${proxyA.host}`]),
      client: new RegistryClient(),
      closeClient: true,
      maxBytes: 100_000, // room for the small image only
      maintenanceIntervalMs: 50,
    });
    const pull = async (repository: string) => {
      const root = await small.getManifest(repository, 'v1');
      assert.ok(root, repository);
      const manifest = JSON.parse(root.bytes.toString());
      for (const d of [manifest.config, ...manifest.layers]) {
        const blob = await small.openBlob(repository, d.digest);
        assert.ok(blob);
        assert.equal(sha256(Buffer.concat(await (await blob.read()).toArray())), d.digest);
      }
    };
    try {
      await pull('kept/app'); // ~600 kB
      await pull('demo/app'); // the small image the tag moved to
      // The least recently pulled goes first, until the rest fits: the small image stays.
      await waitFor(async () => (await small.storage.tags('kept/app')).length === 0);
      assert.deepEqual(await small.storage.tags('demo/app'), ['v1']);
    } finally {
      await small.close();
    }
  });

  it('eviction run between a tag being stored and being returned keeps that tag (its use is recorded first)', async () => {
    const store = await StoreStorage.open(join(dir.path, 'window-store'));
    let cache: PullThroughCache | undefined;
    let ranInWindow = false;
    // The storage as the cache sees it, with one eviction injected right after the
    // kept/app:v1 tag is stored and before the fetch that stored it returns.
    const storage = new Proxy(store, {
      get(target, key) {
        if (key === 'putManifest') {
          return async (...args: Parameters<StoreStorage['putManifest']>) => {
            const stored = await target.putManifest(...args);
            const [name, manifest] = args;
            if (name === 'kept/app' && manifest.tags?.includes('v1') && !ranInWindow) {
              ranInWindow = true;
              await cache!.maintain();
            }
            return stored;
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    cache = new PullThroughCache({
      storage,
      upstreams: UpstreamMap.parse([`http://${proxyA.host}`]),
      client: new RegistryClient(),
      closeClient: true,
      maxBytes: 100_000, // room for the small image only
      maintenanceIntervalMs: 3_600_000, // only the injected run
      spoolDir: join(dir.path, 'window-spool'),
    });
    try {
      const first = await cache.getManifest('podman/app', 'v1'); // ~300 kB, used first
      assert.ok(first);
      for (const d of [
        JSON.parse(first.bytes.toString()).config,
        ...JSON.parse(first.bytes.toString()).layers,
      ]) {
        const blob = await cache.openBlob('podman/app', d.digest);
        assert.ok(blob);
        await (await blob.read()).toArray();
      }
      const kept = await cache.getManifest('kept/app', 'v1');
      assert.ok(kept);
      assert.ok(ranInWindow, 'the eviction ran inside the window');
      // The tag just stored (its blobs not yet) counts as just used: the image pulled
      // before it went instead. Before, it had no use recorded and went first.
      assert.deepEqual(await store.tags('kept/app'), ['v1']);
      assert.deepEqual(await store.tags('podman/app'), []);
    } finally {
      await cache.close();
    }
  });

  it('refuses a bad --upstream with one clear line', async () => {
    const bad = await runCli(['serve', '--storage', join(dir.path, 'bad'), '--upstream', 'Bad=x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /upstream name "Bad" must be one repository path component/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it('refuses pushes: the cache is read-only', async () => {
    const res = await fetch(new URL('/v2/a/demo/app/blobs/uploads/', server.url), {
      method: 'POST',
    });
    assert.equal(res.status, 405);
    await res.arrayBuffer();
  });
});

/** Poll `check` until it holds (the test runner's timeout bounds it). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}
