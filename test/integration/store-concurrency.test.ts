import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type FaultProxy,
  faults,
  LayoutWriter,
  match,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxy,
  startRegistry,
  type TempDir,
  tempDir,
  times,
} from '../harness/index.js';
import { runCli, spawnCli } from './store-cli.js';

/**
 * A pass-through HTTP proxy that sends blob bodies at `bytesPerSecond`, so a test can
 * kill a pull while a layer is half-way down. (The fault proxy delays or cuts; it does
 * not throttle.)
 */
async function startThrottle(upstream: string, bytesPerSecond: number) {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.on('close', () => answer.destroy());
        if (req.method !== 'GET' || !req.url?.includes('/blobs/')) {
          answer.pipe(res);
          return;
        }
        const slice = 64 * 1024;
        (async () => {
          for await (const chunk of answer as AsyncIterable<Buffer>) {
            for (let o = 0; o < chunk.length; o += slice) {
              if (res.destroyed) return;
              if (!res.write(chunk.subarray(o, o + slice))) await once(res, 'drain');
              await sleep((slice / bytesPerSecond) * 1000);
            }
          }
          res.end();
        })().catch(() => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('store: concurrent pulls and crashes', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let throttle: Awaited<ReturnType<typeof startThrottle>>;
  let slowProxy: FaultProxy;
  let layout: TempDir;
  let app: BuiltImage;
  let app2: BuiltImage;
  let big: BuiltImage;
  const dirs: TempDir[] = [];

  const newStoreDir = async () => {
    const d = await tempDir('store');
    dirs.push(d);
    return join(d.path, 'store');
  };
  const blobGets = (p: FaultProxy, digest: string) =>
    p.log.filter((e) => e.method === 'GET' && e.url.endsWith(`/blobs/${digest}`));

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    throttle = await startThrottle(registry.url, 24 * 1024 * 1024);
    slowProxy = await startFaultProxy(throttle.url);
    layout = await tempDir('concurrency-src');
    const w = new LayoutWriter(layout.path);
    app = await randomImage(w, { layers: 3, layerSize: 300_000, refName: 'app' });
    // app2: app's first two layers plus its own.
    app2 = await randomImage(w, {
      layerEntries: [[{ path: 'own/', type: 'dir' }]],
    });
    const config = await w.writeJson(
      {
        architecture: 'amd64',
        os: 'linux',
        rootfs: {
          type: 'layers',
          diff_ids: [app.layers[0]!.diffId, app.layers[1]!.diffId, app2.layers[0]!.diffId],
        },
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const { bytes: _b, ...configDescriptor } = config;
    const layers = [app.layers[0]!, app.layers[1]!, app2.layers[0]!];
    const written = await w.writeManifest({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    });
    w.addToIndex({ ...written.descriptor, platform: undefined }, 'app2');
    app2 = { ...app2, layers };
    big = await randomImage(w, {
      compression: 'none',
      layerEntries: [
        [{ path: 'small.txt', content: 'small\n' }],
        [
          {
            path: 'big.bin',
            content: randomBytes(64 * 1024 * 1024),
          },
        ],
      ],
      refName: 'big',
    });
    await w.finish();
    await pushLayout(layout.path, 'app', registry, 'demo/app:1.0');
    for (const t of ['a', 'b', 'c', 'd'])
      await pushLayout(layout.path, 'app', registry, `demo/tags:${t}`);
    await pushLayout(layout.path, 'app2', registry, 'demo/app2:1.0');
    await pushLayout(layout.path, 'big', registry, 'demo/big:1');
  });

  after(async () => {
    await slowProxy?.close();
    await throttle?.close();
    await proxy?.close();
    await registry?.stop();
    for (const d of [layout, ...dirs]) await d?.remove();
  });

  it('two pulls of the same image at once both succeed; each blob is fetched once', async () => {
    const dir = await newStoreDir();
    proxy.resetLog();
    const ref = `${proxy.host}/demo/app:1.0`;
    const runs = await Promise.all([
      runCli(['pull', '--store', dir, ref]),
      runCli(['pull', '--store', dir, ref]),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const store = await Store.open(dir);
    assert.deepEqual(
      (await store.refs()).map((r) => r.name),
      [ref],
    );
    assert.deepEqual(await store.validate(), []);
    for (const l of app.layers) assert.equal(blobGets(proxy, l.digest).length, 1, l.digest);
  });

  it('pulls of different images sharing layers, and of four tags, keep every tag', async () => {
    const dir = await newStoreDir();
    proxy.resetLog();
    const refs = [
      `${proxy.host}/demo/app:1.0`,
      `${proxy.host}/demo/app2:1.0`,
      ...['a', 'b', 'c', 'd'].map((t) => `${proxy.host}/demo/tags:${t}`),
    ];
    const runs = await Promise.all(refs.map((r) => runCli(['pull', '--json', '--store', dir, r])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const store = await Store.open(dir);
    assert.deepEqual((await store.refs()).map((r) => r.name).sort(), [...refs].sort());
    assert.deepEqual(await store.validate(), []);
    // Shared layers are fetched once in all, whoever got there first.
    for (const l of [...app.layers, app2.layers[2]!]) {
      assert.equal(blobGets(proxy, l.digest).length, 1, l.digest);
    }
    const fetchedBy = runs.map((r) => JSON.parse(r.stdout).layersFetched as string[]);
    assert.equal(fetchedBy.flat().length, app.layers.length + 1);
  });

  it('a pull interrupted by SIGINT or SIGTERM says so, exits 128+N, leaves a valid store', async () => {
    const ref = `${slowProxy.host}/demo/big:1`;
    const large = big.layers[1]!;
    for (const [sig, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const dir = await newStoreDir();
      const partial = join(dir, '.ocipeek', 'tmp', `sha256-${large.digest.slice(7)}.partial`);
      const child = spawnCli(['pull', '--concurrency', '1', '--store', dir, ref]);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const closed = once(child, 'close');
      while (((await stat(partial).catch(() => undefined))?.size ?? 0) < 2 * 1024 * 1024) {
        if (child.exitCode !== null) assert.fail(`pull ended before the ${sig}: ${stderr}`);
        await sleep(10);
      }
      child.kill(sig);
      const [exitCode] = (await closed) as [number | null];
      assert.equal(exitCode, code, stderr);
      assert.equal(stderr, `ocipeek: interrupted by ${sig}\n`);
      const store = await Store.open(dir);
      assert.deepEqual(await store.refs(), []);
      assert.deepEqual(await store.validate(), []);
    }
  });

  it('a pull killed mid-layer leaves a valid store; reruns resume with Range', async () => {
    const dir = await newStoreDir();
    const ref = `${slowProxy.host}/demo/big:1`;
    const [small, large] = big.layers;
    const partial = join(dir, '.ocipeek', 'tmp', `sha256-${large!.digest.slice(7)}.partial`);
    slowProxy.resetLog();
    const offsets: number[] = [];
    for (const threshold of [6 * 1024 * 1024, 30 * 1024 * 1024]) {
      const child = spawnCli(['pull', '--concurrency', '1', '--store', dir, ref]);
      const exited = once(child, 'exit');
      for (;;) {
        const size = (await stat(partial).catch(() => undefined))?.size ?? 0;
        if (size >= threshold) break;
        if (child.exitCode !== null) assert.fail(`pull finished before the kill (${size} bytes)`);
        await sleep(10);
      }
      child.kill('SIGKILL');
      await exited;
      offsets.push((await stat(partial)).size);
      const store = await Store.open(dir);
      assert.deepEqual(await store.refs(), []);
      assert.deepEqual(await store.validate(), []);
      assert.equal(await store.hasBlob(small!.digest), small!.size);
    }
    const done = await runCli(['pull', '--json', '--concurrency', '1', '--store', dir, ref]);
    assert.equal(done.code, 0, done.stderr);
    const result = JSON.parse(done.stdout);
    assert.deepEqual(result.layersFetched, [large!.digest]);
    assert.deepEqual(result.layersReused, [small!.digest]);
    // Blob bytes after the resumed prefix, plus the manifest (GET by tag).
    assert.equal(result.bytesFetched, large!.size - offsets[1]! + big.manifestBytes.length);

    const store = await Store.open(dir);
    assert.deepEqual(await store.validate(), []);
    assert.equal((await store.refs())[0]!.name, ref);
    assert.deepEqual(await readFile(store.blobPath(large!.digest)), large!.blob);
    // The finished small layer and the config were fetched once; the big one three times,
    // each rerun asking for the bytes after what was on disk.
    assert.equal(blobGets(slowProxy, small!.digest).length, 1);
    assert.equal(blobGets(slowProxy, big.configDescriptor.digest).length, 1);
    const ranges = blobGets(slowProxy, large!.digest).map((e) => e.range);
    assert.equal(ranges.length, 3);
    assert.equal(ranges[0], undefined);
    assert.ok(offsets[0]! >= 6 * 1024 * 1024 && offsets[1]! > offsets[0]!);
    // The partial file's length is what the next run resumes from, so Range starts there.
    assert.equal(ranges[1], `bytes=${offsets[0]}-`);
    assert.equal(ranges[2], `bytes=${offsets[1]}-`);
  });

  it('a kill between a complete .partial and its rename does not block the image', async () => {
    const dir = await newStoreDir();
    const ref = `${proxy.host}/demo/app:1.0`;
    const [first, second] = app.layers;
    const tmp = join(dir, '.ocipeek', 'tmp');
    await mkdir(tmp, { recursive: true });
    // What a SIGKILL right before the rename leaves: every byte, still a .partial.
    await writeFile(join(tmp, `sha256-${first!.digest.slice(7)}.partial`), first!.blob);
    // And one that only looks complete: the right length, a wrong byte.
    const wrong = Buffer.from(second!.blob);
    wrong[7] = (wrong[7] ?? 0) ^ 1;
    await writeFile(join(tmp, `sha256-${second!.digest.slice(7)}.partial`), wrong);
    proxy.resetLog();
    for (let run = 0; run < 2; run++) {
      const r = await runCli(['pull', '--store', dir, ref]);
      assert.equal(r.code, 0, r.stderr);
    }
    // The complete one was never asked for; the wrong one once, whole (no Range=SIZE-).
    assert.equal(blobGets(proxy, first!.digest).length, 0);
    assert.deepEqual(
      blobGets(proxy, second!.digest).map((e) => e.range),
      [undefined],
    );
    const store = await Store.open(dir);
    assert.deepEqual(await store.validate(), []);
    assert.deepEqual(await readFile(store.blobPath(first!.digest)), first!.blob);
    assert.deepEqual(await readFile(store.blobPath(second!.digest)), second!.blob);
  });

  it('a registry answering a resume with 416 gets the blob again from byte 0', async () => {
    const dir = await newStoreDir();
    const layer = app.layers[2]!;
    const tmp = join(dir, '.ocipeek', 'tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(
      join(tmp, `sha256-${layer.digest.slice(7)}.partial`),
      layer.blob.subarray(0, 1000),
    );
    const refusing = await startFaultProxy(registry.url, {
      onRequest: times(
        1,
        (ctx) => match.blobGet(ctx) && ctx.headers.range !== undefined,
        faults.status(416),
      ),
    });
    try {
      const r = await runCli(['pull', '--store', dir, `${refusing.host}/demo/app:1.0`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        blobGets(refusing, layer.digest).map((e) => [e.range, e.status]),
        [
          ['bytes=1000-', 416],
          [undefined, 200],
        ],
      );
    } finally {
      await refusing.close();
    }
    const store = await Store.open(dir);
    assert.deepEqual(await readFile(store.blobPath(layer.digest)), layer.blob);
  });
});
