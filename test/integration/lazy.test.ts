import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { convertToEstargz } from '../../src/convert/index.js';
import { isOcipeekError } from '../../src/errors/index.js';
import { buildFilesystem } from '../../src/image/index.js';
import { type LazyImage, openLazyImage } from '../../src/lazy/index.js';
import { openDestination, openPlaceImage } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import type { OpenedImage } from '../../src/source/index.js';
import { pullImage, Store } from '../../src/store/index.js';
import {
  type FaultProxy,
  faults,
  LayoutWriter,
  match,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  times,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { appLayers } from './app-fixture.js';
import {
  BOOKKEEPING,
  type LazyFixture,
  readAll,
  sha,
  shape,
  startLazyFixture,
} from './lazy-fixture.js';

const run = promisify(execFile);

/** 64 MiB of random content: proves the same bound as the 1 GiB (bytes fetched do
 *  not grow with the layer, only with the file read). */
const BIG = 64 * 1024 * 1024;

/** A rootfs as path → type/mode/content hash (what umoci unpacked). */
async function walkDisk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = join(rel, name);
    if (BOOKKEEPING.test(p)) continue;
    const st = await lstat(join(root, p));
    if (st.isDirectory()) out.push(`d ${p} ${st.mode & 0o7777}`, ...(await walkDisk(root, p)));
    else if (st.isSymbolicLink()) out.push(`l ${p} ${await readlink(join(root, p))}`);
    else out.push(`f ${p} ${st.mode & 0o7777} ${sha(await readFile(join(root, p)))}`);
  }
  return out;
}

describe('lazy layers (eStargz) against the real registry', () => {
  let fixture: LazyFixture;
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let dir: LazyFixture['dir'];
  let client: RegistryClient;
  let original: OpenedImage;
  let big: Buffer;

  before(async () => {
    fixture = await startLazyFixture(BIG);
    ({ reg, proxy, dir, client, original, big } = fixture);
    const dst = await openDestination(`${reg.host}/lazy/estargz:v1`, { client });
    await convertToEstargz(original, dst, {});
  });
  after(async () => {
    await fixture?.close();
  });

  const viaProxy = (repo: string) => fixture.viaProxy(repo);
  const blobLog = () => proxy.log.filter((l) => /\/blobs\//.test(l.url));

  it('converts to eStargz: annotated layers, and the same files as the original', async () => {
    const { image } = await viaProxy('lazy/estargz:v1');
    for (const l of image.layers) {
      assert.match(
        l.descriptor.annotations?.['containerd.io/snapshot/stargz/toc.digest'] ?? '',
        /^sha256:/,
      );
      assert.match(
        l.descriptor.annotations?.['io.containers.estargz.uncompressed-size'] ?? '',
        /^\d+$/,
      );
    }
    const before = (await buildFilesystem(original)).fs;
    const after = (await buildFilesystem(image)).fs;
    assert.deepEqual(shape([...after.walk('/')]), shape([...before.walk('/')]));
  });

  it('lists an eStargz image from footers and TOCs only', async (t) => {
    const { image, client: c } = await viaProxy('lazy/estargz:v1');
    proxy.resetLog();
    const lazy = (await openLazyImage(image, { client: c }))!;
    assert.ok(lazy);
    const blobs = blobLog();
    assert.equal(blobs.length, 2, 'one range request per layer: the last 8 KiB hold both TOCs');
    assert.ok(blobs.every((b) => b.range && b.status === 206));
    for (const layer of lazy.layers) {
      const tocAndFooter = layer.source.bytesRead;
      assert.ok(
        tocAndFooter <= 8 * 1024,
        `TOC + footer of ${layer.source.description}: ${tocAndFooter}`,
      );
    }
    const sent = blobs.reduce((n, b) => n + b.bytesSent, 0);
    assert.equal(sent, lazy.bytesRead());
    t.diagnostic(
      `listing 2 eStargz layers (${image.layers.map((l) => l.descriptor.size).join(' + ')} bytes): ${sent} bytes in ${blobs.length} requests`,
    );
    const full = (await buildFilesystem(image)).fs;
    assert.deepEqual(shape([...lazy.fs.walk('/')]), shape([...full.walk('/')]));
    assert.deepEqual(lazy.layers[0]!.prefetch, { landmark: 'none', files: [] });
  });

  it('reads one small file of a 64 MiB layer with a few hundred bytes', async (t) => {
    const { image, client: c } = await viaProxy('lazy/estargz:v1');
    const lazy = (await openLazyImage(image, { client: c })) as LazyImage;
    for (const [path, content] of [
      ['zz/end.txt', 'at the end\n'],
      ['etc/middle.conf', 'in the middle\n'],
      ['bin/hard', '#!/bin/sh\n'],
      ['bin/link', '#!/bin/sh\n'],
      ['top.txt', 'top layer\n'],
    ] as const) {
      proxy.resetLog();
      assert.equal((await readAll(lazy.openFile(path))).toString(), content);
      const blobs = blobLog();
      const sent = blobs.reduce((n, b) => n + b.bytesSent, 0);
      assert.equal(blobs.length, 1, path);
      assert.ok(sent < 1024, `${path}: ${sent} bytes`);
      t.diagnostic(`${path}: ${sent} bytes in ${blobs.length} request`);
    }
    assert.throws(
      () => lazy.openFile('etc/start.conf'),
      (e) => isOcipeekError(e, 'ERR_PATH_NOT_FOUND'),
    );
    // The big file itself: 16 chunks of 4 MiB, every one checked.
    proxy.resetLog();
    const got = await readAll(lazy.openFile('data/big.bin'));
    assert.equal(sha(got), sha(big));
    assert.equal(blobLog().length, 16);
  });

  it('umoci unpacks the converted image like the original, modulo eStargz files', async () => {
    const copies = join(dir.path, 'copies');
    for (const [repo, tag] of [
      ['lazy/src:v1', 'src'],
      ['lazy/estargz:v1', 'estargz'],
    ]) {
      await skopeo([
        '--insecure-policy',
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${reg.host}/${repo}`,
        `oci:${copies}:${tag}`,
      ]);
    }
    const roots: string[][] = [];
    for (const tag of ['src', 'estargz']) {
      const rootfs = join(dir.path, `rootfs-${tag}`);
      await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${copies}:${tag}`, rootfs]);
      roots.push(await walkDisk(rootfs));
    }
    assert.ok(roots[0]!.length > 5);
    assert.deepEqual(roots[1], roots[0]);
  });

  it('the CLI converts, lists and cats through the TOCs (and --stats counts the bytes)', async () => {
    const store = join(dir.path, 'cli-store');
    const c = await runCli([
      'convert',
      `${reg.host}/lazy/src:v1`,
      `oci:${join(dir.path, 'cli-oci')}:v1`,
      '--estargz',
      '--json',
      '--store',
      store,
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.out).layers.length, 2);
    const ls = await runCli([
      'ls',
      '-R',
      '--json',
      `${proxy.host}/lazy/estargz:v1`,
      '--store',
      store,
      '--stats',
    ]);
    assert.equal(ls.code, 0, ls.stderr);
    const fetched = Number(/bytesFetched=(\d+)/.exec(ls.stderr)?.[1]);
    assert.ok(fetched < 64 * 1024, `ls fetched ${fetched}`);
    const paths = (JSON.parse(ls.out) as Array<{ path: string }>).map((e) => e.path);
    assert.ok(paths.includes('/data/big.bin') && paths.includes('/zz/end.txt'));
    const cat = await runCli([
      'cat',
      `${proxy.host}/lazy/estargz:v1`,
      '/zz/end.txt',
      '--store',
      store,
      '--stats',
    ]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout.toString(), 'at the end\n');
    assert.ok(Number(/bytesFetched=(\d+)/.exec(cat.stderr)?.[1]) < 64 * 1024);
  });

  it('cat reads TOCs from the top down and stops at the first layer that decides', async (t) => {
    // Shaped like the benchmark's app image: a base with many files, a middle layer, and
    // a small top layer with whiteouts, an opaque directory, links, and entries whose
    // parents only lower layers define (usr/local/bin/app, lib/added.so).
    const layout = join(dir.path, 'app-layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, { refName: 'v1', layerEntries: appLayers() });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'lazy/app-src:v1');
    const src = await openPlaceImage(`${reg.host}/lazy/app-src:v1`, { client });
    await convertToEstargz(src, await openDestination(`${reg.host}/lazy/app:v1`, { client }), {});
    const cat = async (path: string) => {
      proxy.resetLog();
      const r = await runCli([
        'cat',
        `${proxy.host}/lazy/app:v1`,
        path,
        '--stats',
        '--store',
        join(dir.path, 'no-store'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const requests = Number(/requests=(\d+)/.exec(r.stderr)?.[1]);
      const bytes = Number(/bytesFetched=(\d+)/.exec(r.stderr)?.[1]);
      const blobs = blobLog().map((l) => l.url.split('/').pop());
      t.diagnostic(`cat ${path}: ${requests} requests, ${bytes} bytes`);
      return { out: r.stdout.toString(), requests, bytes, blobs };
    };
    const { image } = await viaProxy('lazy/app:v1');
    const digests = image.layers.map((l) => l.descriptor.digest);

    for (const [path, content] of [
      ['/app/VERSION', '1.2.3\n'],
      ['/app/VERSION.link', '1.2.3\n'],
    ] as const) {
      const top = await cat(path);
      assert.equal(top.out, content);
      assert.ok(top.requests <= 4, `${path}: ${top.requests} requests`);
      assert.ok(top.bytes <= 64 * 1024, `${path}: ${top.bytes} bytes`);
      const layersRead = top.blobs.filter((d) => digests.includes(d!));
      assert.deepEqual(new Set(layersRead), new Set([digests[2]]), `${path} read ${layersRead}`);
    }
    // Below a name only lower layers define: lib is a symlink in the base, so the top
    // layer's lib/added.so is /usr/lib/added.so, which only the base's TOC can tell.
    const added = await cat('/usr/lib/added.so');
    assert.equal(added.out, 'added through the lib symlink\n');
    assert.ok(added.blobs.includes(digests[0]!), 'the base TOC was read');
    assert.equal((await cat('/lib/added.so')).out, 'added through the lib symlink\n');
    assert.equal((await cat('/usr/local/bin/app')).out, '1.2.3\n');
    assert.equal((await cat('/app/node_modules/ramda/index.js')).out, 'new\n');
    const gone = await runCli([
      'cat',
      `${proxy.host}/lazy/app:v1`,
      '/app/node_modules/ramda/old.js',
      '--store',
      join(dir.path, 'no-store'),
    ]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no such file/);
  });

  it('reads the same TOCs from the store, with no registry traffic', async () => {
    const storeDir = join(dir.path, 'store');
    const store = await Store.open(storeDir, { create: true });
    await pullImage(`${reg.host}/lazy/estargz:v1`, { client, store });
    const c = new RegistryClient();
    const image = await openPlaceImage(`${reg.host}/lazy/estargz:v1`, { client: c, store });
    assert.equal(image.location, 'store');
    const lazy = (await openLazyImage(image, { store }))!;
    assert.equal((await readAll(lazy.openFile('etc/middle.conf'))).toString(), 'in the middle\n');
    assert.equal(c.stats.requests, 0);
    await c.close();
  });

  describe('bad input', () => {
    const expectLazyError = async (promise: Promise<unknown>, problem: string) => {
      await assert.rejects(promise, (err: unknown) => {
        assert.ok(isOcipeekError(err, 'ERR_LAZY_LAYER'), String(err));
        assert.equal((err as unknown as { problem: string }).problem, problem, String(err));
        assert.match((err as Error).message, /^layer \d \(sha256:[0-9a-f]{64}\): /);
        return true;
      });
    };

    it('a TOC digest that does not match the annotation', async () => {
      const { image } = await viaProxy('lazy/estargz:v1');
      const manifest = structuredClone(image.manifest);
      manifest.layers[1]!.annotations!['containerd.io/snapshot/stargz/toc.digest'] =
        `sha256:${'0'.repeat(64)}`;
      await client.putManifest(
        `${reg.host}/lazy/estargz:bad-toc`,
        Buffer.from(JSON.stringify(manifest)),
        manifest.mediaType!,
      );
      const bad = await viaProxy('lazy/estargz:bad-toc');
      await expectLazyError(openLazyImage(bad.image, { client: bad.client }), 'toc-digest');
    });

    it('a chunk whose bytes were altered in transit: an error and no bytes', async () => {
      const { image, client: c } = await viaProxy('lazy/estargz:v1');
      const lazy = (await openLazyImage(image, { client: c }))!;
      proxy.setRule(times(1, match.blobGet, faults.corruptByteAt(12)));
      const received: Buffer[] = [];
      try {
        await assert.rejects(
          (async () => {
            for await (const p of lazy.openFile('etc/middle.conf')) received.push(p as Buffer);
          })(),
          (err: unknown) => isOcipeekError(err, 'ERR_LAZY_LAYER'),
        );
      } finally {
        proxy.setRule(undefined);
      }
      assert.equal(received.length, 0);
    });

    it('a Range answer with the wrong Content-Range', async () => {
      const { image, client: c } = await viaProxy('lazy/estargz:v1');
      const size = image.layers[0]!.descriptor.size;
      proxy.setRule(
        times(
          1,
          match.blobGet,
          faults.status(206, { 'content-range': `bytes 0-50/${size}` }, 'x'.repeat(51)),
        ),
      );
      try {
        await expectLazyError(openLazyImage(image, { client: c }), 'range');
      } finally {
        proxy.setRule(undefined);
      }
    });

    it('a footer that lies (the descriptor says eStargz, the layer is plain gzip)', async () => {
      const manifest = structuredClone(original.manifest);
      manifest.layers[0]!.annotations = {
        'containerd.io/snapshot/stargz/toc.digest': `sha256:${'1'.repeat(64)}`,
      };
      manifest.layers[1]!.annotations = manifest.layers[0]!.annotations;
      await client.putManifest(
        `${reg.host}/lazy/src:not-estargz`,
        Buffer.from(JSON.stringify(manifest)),
        manifest.mediaType!,
      );
      const bad = await viaProxy('lazy/src:not-estargz');
      await expectLazyError(openLazyImage(bad.image, { client: bad.client }), 'footer');
    });
  });
});
