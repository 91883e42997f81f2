import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DigestMismatchError, UnsupportedError } from '../../src/errors/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { pullImage, Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
  type FaultProxy,
  faults,
  LayoutWriter,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from './store-cli.js';

const run = promisify(execFile);

function blobGets(proxy: FaultProxy, digest?: string) {
  return proxy.log.filter(
    (e) => e.method === 'GET' && e.url.includes('/blobs/') && (!digest || e.url.endsWith(digest)),
  );
}

describe('pull into the local store', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let layout: TempDir;
  let app: BuiltImage;
  let app2: BuiltImage;
  let corrupt: BuiltImage;
  let multi: BuiltIndex;
  const dirs: TempDir[] = [];
  const clients: RegistryClient[] = [];

  const newStoreDir = async () => {
    const d = await tempDir('store');
    dirs.push(d);
    return join(d.path, 'store');
  };
  const newClient = () => {
    const c = new RegistryClient();
    clients.push(c);
    return c;
  };
  const ref = (repo: string) => `${proxy.host}/${repo}`;

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxyFor(registry);
    layout = await tempDir('pull-src');
    const w = new LayoutWriter(layout.path);
    app = await randomImage(w, { layers: 2, layerSize: 100_000, refName: 'app' });
    // app2 shares app's base layer and adds one of its own.
    const extra = await randomImage(w, { layers: 1, layerSize: 50_000 });
    const base = app.layers[0]!;
    const own = extra.layers[0]!;
    const config = await w.writeJson(
      {
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [base.diffId, own.diffId] },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const { bytes: _b, ...configDescriptor } = config;
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers: [base, own].map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const written = await w.writeManifest(manifest);
    w.addToIndex({ ...written.descriptor, platform: undefined }, 'app2');
    app2 = { ...extra, manifest: manifest as BuiltImage['manifest'], layers: [base, own] };
    corrupt = await randomImage(w, { layers: 1, layerSize: 20_000, refName: 'corrupt' });
    multi = await multiPlatformIndex(w, { refName: 'multi', attestation: true });
    await w.finish();
    await pushLayout(layout.path, 'app', registry, 'demo/app:1.0');
    await pushLayout(layout.path, 'app2', registry, 'demo/app2:1.0');
    await pushLayout(layout.path, 'corrupt', registry, 'demo/corrupt:1');
    await pushLayout(layout.path, 'multi', registry, 'demo/multi:1');
  });

  after(async () => {
    for (const c of clients) await c.close();
    await proxy?.close();
    await registry?.stop();
    for (const d of [layout, ...dirs]) await d?.remove();
  });

  it('stores a layout that skopeo and umoci read under the full reference', async () => {
    const dir = await newStoreDir();
    const store = await Store.open(dir);
    const client = newClient();
    proxy.resetLog();
    const result = await pullImage(ref('demo/app:1.0'), { client, store });
    assert.equal(result.reference, `${proxy.host}/demo/app:1.0`);
    assert.equal(result.digest, app.descriptor.digest);
    assert.deepEqual(result.layersFetched.sort(), app.layers.map((l) => l.digest).sort());
    assert.deepEqual(result.layersReused, []);
    const blobBytes = app.layers.reduce((n, l) => n + l.size, 0) + app.configBytes.length;
    assert.equal(result.bytesFetched, blobBytes + app.manifestBytes.length);
    // Each blob fetched exactly once.
    assert.equal(blobGets(proxy).length, app.layers.length + 1);

    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests, [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: app.descriptor.digest,
        size: app.manifestBytes.length,
        annotations: { 'org.opencontainers.image.ref.name': result.reference },
      },
    ]);
    for (const l of app.layers) {
      assert.deepEqual(await readFile(store.blobPath(l.digest)), l.blob);
    }
    assert.deepEqual(await store.validate(), []);
    assert.deepEqual(await readdir(join(dir, '.ocipeek', 'tmp')), []);

    const { stdout } = await run('skopeo', ['inspect', `oci:${dir}:${result.reference}`]);
    assert.equal(JSON.parse(stdout).Digest, app.descriptor.digest);
    const out = await newStoreDir();
    await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      `oci:${dir}:${result.reference}`,
      `oci:${out}:copy`,
    ]);
    const copied = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(copied.manifests[0].digest, app.descriptor.digest);
    const rootfs = join(dirname(await newStoreDir()), 'rootfs');
    await run('umoci', [
      'raw',
      'unpack',
      '--rootless',
      '--image',
      `${dir}:${result.reference}`,
      rootfs,
    ]);
    assert.equal(await readFile(join(rootfs, 'layer1', 'id.txt'), 'utf8'), 'layer 1\n');
    const { stdout: tags } = await run('umoci', ['ls', '--layout', dir]);
    assert.deepEqual(tags.trim().split('\n'), [result.reference]);
  });

  it('re-pulls with one HEAD (newer), nothing (missing), one GET (always); no blob bytes', async () => {
    const dir = await newStoreDir();
    const store = await Store.open(dir);
    await pullImage(ref('demo/app:1.0'), { client: newClient(), store });
    for (const [policy, expected] of [
      ['newer', ['HEAD']],
      ['missing', []],
      ['always', ['GET']],
    ] as const) {
      proxy.resetLog();
      const client = newClient();
      const result = await pullImage(ref('demo/app:1.0'), { client, store, policy });
      assert.deepEqual(
        proxy.log.map((e) => e.method),
        expected,
        `${policy}: ${proxy.log.map((e) => `${e.method} ${e.url}`).join(', ')}`,
      );
      assert.ok(proxy.log.every((e) => e.url.includes('/manifests/1.0')));
      assert.equal(client.stats.requests, expected.length);
      assert.deepEqual(result.layersFetched, []);
      assert.deepEqual(result.layersReused.sort(), app.layers.map((l) => l.digest).sort());
      assert.equal(result.digest, app.descriptor.digest);
      assert.equal(result.bytesFetched, policy === 'always' ? app.manifestBytes.length : 0);
    }
    await assert.rejects(
      pullImage(ref('demo/app2:1.0'), { client: newClient(), store, policy: 'never' }),
      /not in the store/,
    );
  });

  it('a second image sharing a base layer downloads only its own layer', async () => {
    const store = await Store.open(await newStoreDir());
    await pullImage(ref('demo/app:1.0'), { client: newClient(), store });
    proxy.resetLog();
    const result = await pullImage(ref('demo/app2:1.0'), { client: newClient(), store });
    const [base, own] = app2.layers;
    assert.deepEqual(result.layersReused, [base!.digest]);
    assert.deepEqual(result.layersFetched, [own!.digest]);
    assert.deepEqual(blobGets(proxy, base!.digest), []);
    assert.equal(blobGets(proxy, own!.digest).length, 1);
    assert.equal(blobGets(proxy, own!.digest)[0]!.bytesSent, own!.size);
    assert.equal((await store.listImages()).length, 2);
    assert.deepEqual(await store.validate(), []);
  });

  it('one platform of an index is stored as a valid layout: an index of the platforms pulled, completed by --all-platforms', async () => {
    const dir = await newStoreDir();
    const store = await Store.open(dir);
    const [amd64, arm64, armv7] = multi.images;
    const arm = await pullImage(ref('demo/multi:1'), {
      client: newClient(),
      store,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    // The reference still names the registry's index; the store names an index holding
    // the arm64 manifest only, marked as cut from it.
    assert.equal(arm.digest, multi.descriptor.digest);
    assert.notEqual(arm.storedDigest, multi.descriptor.digest);
    assert.deepEqual(arm.manifests, [arm.storedDigest, arm64!.descriptor.digest]);
    assert.deepEqual(arm.platforms, ['linux/arm64/v8']);
    assert.equal(await store.hasBlob(amd64!.descriptor.digest), undefined);
    assert.deepEqual(await store.validate(), []);
    const named = (await store.refs()).find((r) => r.name === arm.reference)!.descriptor;
    assert.equal(named.digest, arm.storedDigest);
    assert.equal(named.annotations?.['io.ocipeek.partial-index.of'], multi.descriptor.digest);
    const partial = JSON.parse(
      await readFile(join(dir, 'blobs', 'sha256', arm.storedDigest.slice(7)), 'utf8'),
    );
    assert.deepEqual(partial, { ...multi.index, manifests: [multi.index.manifests[1]] });
    let images = await store.listImages();
    assert.deepEqual(images[0]!.platforms, ['linux/arm64/v8']);
    const { stdout } = await run('skopeo', [
      '--override-arch',
      'arm64',
      '--override-variant',
      'v8',
      'inspect',
      `oci:${dir}:${arm.reference}`,
    ]);
    assert.equal(JSON.parse(stdout).Architecture, 'arm64');
    // What skopeo --all and umoci read of the store is complete.
    const copied = await newStoreDir();
    await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--all',
      '--quiet',
      `oci:${dir}:${arm.reference}`,
      `oci:${copied}:x`,
    ]);
    assert.equal(
      JSON.parse(await readFile(join(copied, 'index.json'), 'utf8')).manifests[0].digest,
      arm.storedDigest,
    );
    const umociLs = await run('umoci', ['ls', '--layout', dir]);
    assert.deepEqual(umociLs.stdout.trim().split('\n'), [arm.reference]);
    // Asking the store for a platform it lacks says how to get it.
    const lacking = await runCli([
      'ls',
      `store:${arm.reference}`,
      '--platform',
      'linux/amd64',
      '--store',
      dir,
    ]);
    assert.notEqual(lacking.code, 0);
    assert.match(
      lacking.stderr,
      /no manifest for platform linux\/amd64 \(available: linux\/arm64\/v8\): the store holds the platforms pulled; pull .* with --platform linux\/amd64 or --all-platforms/,
    );

    // The same platform again: nothing asked (missing), one HEAD of the tag (newer).
    proxy.resetLog();
    const again = await pullImage(ref('demo/multi:1'), {
      client: newClient(),
      store,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    assert.equal(again.upToDate, true);
    assert.equal(proxy.log.length, 0);
    const newer = await pullImage(ref('demo/multi:1'), {
      client: newClient(),
      store,
      platform: { os: 'linux', architecture: 'arm64' },
      policy: 'newer',
    });
    assert.equal(newer.upToDate, true);
    assert.deepEqual(
      proxy.log.map((e) => e.method),
      ['HEAD'],
    );

    // Another platform joins the first under the name; the index is asked by digest.
    proxy.resetLog();
    const amd = await pullImage(ref('demo/multi:1'), {
      client: newClient(),
      store,
      platform: { os: 'linux', architecture: 'amd64' },
    });
    assert.equal(amd.upToDate, false);
    assert.ok(!proxy.log.some((e) => e.url.endsWith('/manifests/1')));
    assert.deepEqual(blobGets(proxy, arm64!.layers[0]!.digest), []);
    const both = JSON.parse(
      await readFile(join(dir, 'blobs', 'sha256', amd.storedDigest.slice(7)), 'utf8'),
    );
    assert.deepEqual(
      both.manifests.map((d: { digest: string }) => d.digest),
      [amd64!.descriptor.digest, arm64!.descriptor.digest],
    );
    images = await store.listImages();
    assert.deepEqual(images[0]!.platforms, ['linux/amd64', 'linux/arm64/v8']);
    assert.deepEqual(await store.validate(), []);

    proxy.resetLog();
    const all = await pullImage(ref('demo/multi:1'), {
      client: newClient(),
      store,
      allPlatforms: true,
    });
    // The pulled images are reused: only the missing children are fetched.
    assert.equal(all.storedDigest, multi.descriptor.digest);
    assert.equal(all.manifests.length, 1 + multi.images.length + multi.attestations.length);
    assert.deepEqual(blobGets(proxy, arm64!.layers[0]!.digest), []);
    assert.deepEqual(blobGets(proxy, amd64!.layers[0]!.digest), []);
    assert.equal(blobGets(proxy, armv7!.layers[0]!.digest).length, 1);
    assert.ok(!proxy.log.some((e) => e.url.endsWith(`/manifests/1`)));
    const complete = (await store.refs()).find((r) => r.name === all.reference)!.descriptor;
    assert.equal(complete.annotations?.['io.ocipeek.partial-index.of'], undefined);
    images = await store.listImages();
    assert.deepEqual(images[0]!.platforms, ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']);
    const out = await newStoreDir();
    await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--all',
      '--quiet',
      `oci:${dir}:${all.reference}`,
      `oci:${out}:x`,
    ]);
    assert.equal(
      JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests[0].digest,
      multi.descriptor.digest,
    );
    // The partial indexes are no longer named: prune reclaims them.
    const pruned = await store.prune();
    assert.ok(pruned.blobsRemoved >= 2, JSON.stringify(pruned));
    assert.deepEqual(await store.validate(), []);
  });

  it('a blob whose bytes do not match is never stored and the error names its digest', async () => {
    const dir = await newStoreDir();
    const store = await Store.open(dir);
    const layer = corrupt.layers[0]!;
    proxy.setRule((ctx) =>
      ctx.method === 'GET' && ctx.path.endsWith(layer.digest)
        ? faults.corruptByteAt(1000)
        : undefined,
    );
    try {
      await assert.rejects(
        pullImage(ref('demo/corrupt:1'), { client: newClient(), store }),
        (err: unknown) => {
          assert.ok(err instanceof DigestMismatchError, String(err));
          assert.match(err.message, new RegExp(layer.digest));
          return true;
        },
      );
    } finally {
      proxy.setRule(undefined);
    }
    assert.equal(await store.hasBlob(layer.digest), undefined);
    assert.deepEqual(await store.refs(), []);
    // The bad blob's temp file is gone; a download the failure aborted (the config) may
    // keep its `.partial` for the next run to resume.
    const leftovers = await readdir(store.tmpDir);
    assert.ok(!leftovers.includes(`sha256-${layer.digest.slice(7)}.partial`), leftovers.join());
    assert.ok(
      leftovers.every((n) => n === `sha256-${corrupt.configDescriptor.digest.slice(7)}.partial`),
    );
    assert.deepEqual(await store.validate(), []);
  });

  it('CLI: pull --json, images --json, rmi, prune --json', async () => {
    const dir = await newStoreDir();
    const env = { OCIPEEK_STORE: dir };
    const pulled = await runCli(['pull', '--json', ref('demo/app:1.0')], env);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stderr, '');
    const json = JSON.parse(pulled.stdout);
    assert.deepEqual(Object.keys(json).sort(), [
      'bytesFetched',
      'digest',
      'layersFetched',
      'layersReused',
      'reference',
    ]);
    assert.equal(json.digest, app.descriptor.digest);
    assert.equal(json.layersFetched.length, 2);

    const again = await runCli(['pull', '--json', '--store', dir, ref('demo/app:1.0')]);
    assert.equal(JSON.parse(again.stdout).bytesFetched, 0);
    assert.equal(JSON.parse(again.stdout).layersReused.length, 2);

    const listed = await runCli(['images', '--json'], env);
    const images = JSON.parse(listed.stdout);
    assert.equal(images.length, 1);
    assert.equal(images[0].reference, `${proxy.host}/demo/app:1.0`);
    assert.equal(images[0].platform, 'linux/amd64');
    assert.equal(images[0].created, '2024-01-01T00:00:00Z');
    const total =
      app.manifestBytes.length +
      app.configBytes.length +
      app.layers.reduce((n, l) => n + l.size, 0);
    assert.equal(images[0].size, total);

    const rmi = await runCli(['rmi', ref('demo/app:1.0')], env);
    assert.equal(rmi.code, 0, rmi.stderr);
    const pruned = await runCli(['prune', '--json'], env);
    assert.deepEqual(JSON.parse(pruned.stdout), {
      blobsRemoved: 4,
      bytesFreed: total,
      tempFilesRemoved: 0,
      tempBytesFreed: 0,
      cacheFilesRemoved: 0,
      cacheBytesFreed: 0,
      pinsRemoved: 0,
      signaturesRemoved: 0,
    });
    const missing = await runCli(['rmi', ref('demo/app:1.0')], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not in the store/);
  });

  it('refuses a store written by a newer version and leaves it untouched', async () => {
    const dir = await newStoreDir();
    await Store.open(dir);
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.1.0"}');
    await assert.rejects(Store.open(dir), UnsupportedError);
    const cli = await runCli(['pull', '--store', dir, ref('demo/app:1.0')]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^ocipeek: store .* imageLayoutVersion "1\.1\.0"/);
    assert.deepEqual(await readdir(join(dir, 'blobs', 'sha256')), []);
    assert.equal(await readFile(join(dir, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.1.0"}');
  });
});
