import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import {
  DigestMismatchError,
  InvalidArgumentError,
  UnsupportedError,
} from '../../../src/errors/index.js';
import { MediaType } from '../../../src/media/index.js';
import { defaultStorePath, Store } from '../../../src/store/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-store-unit-'));
  dirs.push(d);
  return d;
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const rel = `${prefix}${e.name}`;
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}/`);
      else out.push(`${rel}=${(await readFile(join(d, e.name))).toString('base64')}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

describe('defaultStorePath', () => {
  it('prefers --store, then OCIPEEK_STORE, then XDG_CACHE_HOME, then ~/.cache', () => {
    const env = { OCIPEEK_STORE: '/s/env', XDG_CACHE_HOME: '/x/cache' };
    assert.equal(defaultStorePath({ explicit: '/s/flag', env, home: '/h' }), '/s/flag');
    assert.equal(defaultStorePath({ env, home: '/h' }), '/s/env');
    assert.equal(
      defaultStorePath({ env: { XDG_CACHE_HOME: '/x/cache' }, home: '/h' }),
      '/x/cache/ocipeek',
    );
    assert.equal(
      defaultStorePath({ env: { XDG_CACHE_HOME: 'rel' }, home: '/h' }),
      '/h/.cache/ocipeek',
    );
    assert.equal(defaultStorePath({ env: {}, home: '/h' }), '/h/.cache/ocipeek');
  });
});

describe('Store.open', () => {
  it('creates an OCI layout with .ocipeek/tmp and .ocipeek/locks', async () => {
    const dir = join(await tmp(), 'store');
    const store = await Store.open(dir);
    assert.equal(store.dir, dir);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), {
      imageLayoutVersion: '1.0.0',
    });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    assert.deepEqual(index, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
    assert.ok((await stat(join(dir, '.ocipeek', 'tmp'))).isDirectory());
    assert.ok((await stat(join(dir, '.ocipeek', 'locks'))).isDirectory());
    assert.ok((await stat(store.pinsDir)).isDirectory());
    assert.equal((await readFile(join(dir, '.ocipeek', 'version'), 'utf8')).trim(), '1');
    assert.deepEqual(await readdir(join(dir, '.ocipeek', 'tmp')), []);
  });

  it('opening twice at once keeps one index.json (no clobbering)', async () => {
    const dir = join(await tmp(), 'store');
    const [a, b] = await Promise.all([Store.open(dir), Store.open(dir)]);
    const blob = Buffer.from('{}');
    const d = await a.putManifest(blob, { mediaType: MediaType.ociEmpty });
    await a.tag('example.com/x:1', d);
    await Store.open(dir);
    assert.equal((await b.resolve('example.com/x:1'))?.digest, d.digest);
  });

  it('refuses a store with another imageLayoutVersion and leaves it untouched', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    const before = await snapshot(dir);
    await assert.rejects(Store.open(dir), (err: unknown) => {
      assert.ok(err instanceof UnsupportedError);
      assert.match(err.message, /2\.0\.0/);
      assert.match(err.message, /untouched/);
      return true;
    });
    assert.deepEqual(await snapshot(dir), before);
  });

  it('refuses a store whose .ocipeek/version is newer, untouched', async () => {
    const dir = join(await tmp(), 's');
    await Store.open(dir);
    await writeFile(join(dir, '.ocipeek', 'version'), '7\n');
    const before = await snapshot(dir);
    await assert.rejects(Store.open(dir), /newer ocipeek \(store format 7/);
    assert.deepEqual(await snapshot(dir), before);
  });

  it('refuses a half-made store whose .ocipeek/version is newer (its files not all made here)', async () => {
    // A newer ocipeek that stopped after linking its version file: this open links the
    // other two files, but did not write the version, so it must still read and check it.
    const dir = await tmp();
    await mkdir(join(dir, '.ocipeek'));
    await writeFile(join(dir, '.ocipeek', 'version'), '7\n');
    await assert.rejects(Store.open(dir), /newer ocipeek \(store format 7/);
  });

  it('refuses a non-empty folder that is not a layout, and a missing one without create', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await assert.rejects(Store.open(dir), InvalidArgumentError);
    assert.deepEqual(await readdir(dir), ['notes.txt']);
    await assert.rejects(Store.open(join(dir, 'nope'), { create: false }), /no store at/);
  });

  it('adopts an existing layout written by another tool', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    const store = await Store.open(dir);
    assert.deepEqual(await store.listImages(), []);
  });
});

describe('Store blobs', () => {
  it('writes a verified blob and refuses bytes that do not match, leaving nothing', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const data = Buffer.from('hello blob');
    const desc = { digest: sha256(data), size: data.length };
    const r = await store.writeBlob(desc, Readable.from([data]));
    assert.equal(r.written, true);
    assert.deepEqual(await readFile(store.blobPath(desc.digest)), data);
    const again = await store.writeBlob(desc, Readable.from([data]));
    assert.equal(again.written, false);

    const bad = Buffer.from('hello blob!');
    const wrong = { digest: sha256(Buffer.from('something else')), size: bad.length };
    await assert.rejects(store.writeBlob(wrong, Readable.from([bad])), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.match(err.message, new RegExp(wrong.digest));
      return true;
    });
    assert.equal(await store.hasBlob(wrong.digest), undefined);
    assert.deepEqual(await readdir(store.tmpDir), []);
    assert.deepEqual(await readdir(store.locksDir), []);
  });

  it('resumes a .partial download from its length and hashes the prefix', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const digest = sha256(data);
    const [, hex] = digest.split(':');
    await writeFile(join(store.tmpDir, `sha256-${hex}.partial`), data.subarray(0, 123_456));
    const offsets: number[] = [];
    const r = await store.writeBlob(
      { digest, size: data.length },
      async (offset) => {
        offsets.push(offset);
        return Readable.from([data.subarray(offset)]);
      },
      { sourceVerified: true },
    );
    assert.deepEqual(offsets, [123_456]);
    assert.equal(r.resumedFrom, 123_456);
    assert.equal(r.bytesTransferred, data.length - 123_456);
    assert.deepEqual(await readFile(store.blobPath(digest)), data);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });

  it('a bad resumed prefix is discarded and the blob fetched again from byte 0', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const data = Buffer.from('0123456789'.repeat(1000));
    const digest = sha256(data);
    const [, hex] = digest.split(':');
    await writeFile(join(store.tmpDir, `sha256-${hex}.partial`), Buffer.from('XXXX'));
    const offsets: number[] = [];
    await store.writeBlob(
      { digest, size: data.length },
      async (offset) => {
        offsets.push(offset);
        return Readable.from([data.subarray(offset)]);
      },
      { sourceVerified: true },
    );
    assert.deepEqual(offsets, [4, 0]);
    assert.deepEqual(await readFile(store.blobPath(digest)), data);
  });

  it('putManifest checks the digest it is given', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const bytes = Buffer.from('{"schemaVersion":2}');
    await assert.rejects(
      store.putManifest(bytes, {
        mediaType: MediaType.ociManifest,
        digest: sha256(Buffer.from('x')),
      }),
      DigestMismatchError,
    );
    const d = await store.putManifest(bytes, { mediaType: MediaType.ociManifest });
    assert.equal(d.digest, sha256(bytes));
    assert.equal(d.size, bytes.length);
  });
});

describe('Store tags', () => {
  it('names each reference once, as its full normalised form, and untags', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const a = await store.putManifest(Buffer.from('{"a":1}'), { mediaType: MediaType.ociManifest });
    const b = await store.putManifest(Buffer.from('{"b":2}'), { mediaType: MediaType.ociManifest });
    await store.tag('alpine', a);
    await store.tag('docker.io/library/alpine:latest', b);
    const refs = await store.refs();
    assert.deepEqual(
      refs.map((r) => [r.name, r.descriptor.digest]),
      [['docker.io/library/alpine:latest', b.digest]],
    );
    assert.equal((await store.resolve('alpine:latest'))?.digest, b.digest);
    assert.equal(await store.untag('alpine'), true);
    assert.equal(await store.untag('alpine'), false);
    assert.deepEqual(await store.refs(), []);
  });

  it('keeps every tag when many are written at once', async () => {
    const dir = join(await tmp(), 's');
    const stores = await Promise.all(Array.from({ length: 4 }, () => Store.open(dir)));
    const d = await stores[0]!.putManifest(Buffer.from('{"c":3}'), {
      mediaType: MediaType.ociManifest,
    });
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => stores[i % 4]!.tag(`example.com/app:t${i}`, d)),
    );
    const names = (await stores[0]!.refs()).map((r) => r.name).sort();
    assert.equal(names.length, 24);
    assert.equal(new Set(names).size, 24);
  });

  it('refuses to tag content that is missing', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const d = { mediaType: MediaType.ociManifest, digest: sha256(Buffer.from('gone')), size: 4 };
    await assert.rejects(store.tag('example.com/x:1', d), /is missing/);
    assert.deepEqual(await store.refs(), []);
  });
});

describe('Store prune and validate', () => {
  async function image(store: Store, layerText: string) {
    const layer = Buffer.from(layerText);
    const layerDesc = { mediaType: MediaType.ociLayer, digest: sha256(layer), size: layer.length };
    await store.writeBlob(layerDesc, Readable.from([layer]));
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-02-02T00:00:00Z',
        rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
      }),
    );
    const configDesc = await store.putManifest(config, { mediaType: MediaType.ociConfig });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: configDesc,
        layers: [layerDesc],
      }),
    );
    const m = await store.putManifest(manifest, { mediaType: MediaType.ociManifest });
    return { m, layer, layerDesc, config, manifest };
  }

  it('removes only unreferenced blobs and stale temp files, counting bytes', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const kept = await image(store, 'kept layer');
    await store.tag('example.com/kept:1', kept.m);
    const gone = await image(store, 'a layer that will be unreferenced');
    await store.tag('example.com/gone:1', gone.m);
    assert.equal(await store.untag('example.com/gone:1'), true);
    // A crashed download (no lock) and a dead process's temp file.
    await writeFile(join(store.tmpDir, `sha256-${'ab'.repeat(32)}.partial`), Buffer.alloc(1000));
    await writeFile(join(store.tmpDir, 'index.json.999999.0123456789ab.tmp'), Buffer.alloc(10));

    const listed = await store.listImages();
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.size, kept.layer.length + kept.config.length + kept.manifest.length);
    assert.deepEqual(listed[0]!.platforms, ['linux/amd64']);
    assert.equal(listed[0]!.created, '2024-02-02T00:00:00Z');

    const dry = await store.prune({ dryRun: true });
    const result = await store.prune();
    assert.deepEqual(dry, result);
    const blobBytes = gone.layer.length + gone.config.length + gone.manifest.length;
    assert.deepEqual(result, {
      blobsRemoved: 3,
      bytesFreed: blobBytes + 1010,
      tempFilesRemoved: 2,
      tempBytesFreed: 1010,
      cacheFilesRemoved: 0,
      cacheBytesFreed: 0,
      pinsRemoved: 0,
      signaturesRemoved: 0,
    });
    assert.equal(await store.hasBlob(gone.layerDesc.digest), undefined);
    assert.equal(await store.hasBlob(kept.layerDesc.digest), kept.layer.length);
    assert.deepEqual(await store.validate(), []);
    assert.deepEqual(await store.prune(), {
      blobsRemoved: 0,
      bytesFreed: 0,
      tempFilesRemoved: 0,
      tempBytesFreed: 0,
      cacheFilesRemoved: 0,
      cacheBytesFreed: 0,
      pinsRemoved: 0,
      signaturesRemoved: 0,
    });
  });

  it('leaves a .partial alone while its blob lock is held by a live process', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const hex = 'cd'.repeat(32);
    await writeFile(join(store.tmpDir, `sha256-${hex}.partial`), Buffer.alloc(50));
    await writeFile(
      join(store.locksDir, `blob-sha256-${hex}.lock`),
      JSON.stringify({
        pid: process.pid,
        host: (await import('node:os')).hostname(),
        time: Date.now(),
      }),
    );
    const r = await store.prune();
    assert.equal(r.tempFilesRemoved, 0);
    assert.deepEqual(await readdir(store.tmpDir), [`sha256-${hex}.partial`]);
  });

  it('validate reports a corrupted blob and a missing layer', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    const img = await image(store, 'layer bytes');
    await store.tag('example.com/v:1', img.m);
    await writeFile(store.blobPath(img.layerDesc.digest), 'layer bytez');
    let problems = await store.validate();
    assert.deepEqual(
      problems.map((p) => [p.kind, p.subject]),
      [['digest-mismatch', img.layerDesc.digest]],
    );
    await rm(store.blobPath(img.layerDesc.digest));
    problems = await store.validate();
    assert.deepEqual(
      problems.map((p) => [p.kind, p.subject]),
      [['missing-blob', img.layerDesc.digest]],
    );
    assert.equal((await store.listImages())[0]!.complete, false);
  });

  it('a stray file in blobs/ is reported, not pruned', async () => {
    const store = await Store.open(join(await tmp(), 's'));
    await mkdir(join(store.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(store.dir, 'blobs', 'sha256', 'README'), 'x');
    assert.equal((await store.prune()).blobsRemoved, 0);
    assert.deepEqual(
      (await store.validate()).map((p) => p.kind),
      ['stray-file'],
    );
  });
});
