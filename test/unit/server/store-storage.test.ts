import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { writeExampleLayout } from '../../../src/example/index.js';
import { MediaType } from '../../../src/media/index.js';
import { VerifiedBlobs } from '../../../src/server/registry/verified-blobs.js';
import { FileHasher } from '../../../src/server/storage/file-hasher.js';
import { RegistryStorageError } from '../../../src/server/storage/storage-error.js';
import { StoreStorage } from '../../../src/server/storage/store-storage.js';
import { Store } from '../../../src/store/index.js';
import type { SinkSource } from '../../../src/transport/index.js';
import { tempDir } from '../../harness/index.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sha512 = (b: Uint8Array) => `sha512:${createHash('sha512').update(b).digest('hex')}`;
const body = (b: Uint8Array) => Readable.from([Buffer.from(b)]);

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function pushBlob(s: StoreStorage, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  await s.putBlob(repo, digest, body(bytes));
  return digest;
}

/** An image manifest over `config` and `layers` (already pushed), and its bytes. */
function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}) {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: sha256(l),
      size: l.length,
    })),
    ...extra,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { manifest, bytes, digest: sha256(bytes) };
}

describe('StoreStorage: the registry storage over the ocipeek store', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let storage: StoreStorage;

  before(async () => {
    dir = await tempDir('store-storage');
    storage = await StoreStorage.open(join(dir.path, 'store'));
  });
  after(async () => {
    await dir?.remove();
  });

  it('takes chunks in order, refuses a gap, and verifies before anything is visible', async () => {
    const bytes = randomBytes(300_000);
    const digest = sha256(bytes);
    const up = await storage.startUpload('team/app');
    assert.equal(up.offset, 0);
    const first = await storage.appendUpload('team/app', up.id, body(bytes.subarray(0, 100_000)), {
      start: 0,
    });
    assert.equal(first.offset, 100_000);
    await assert.rejects(
      storage.appendUpload('team/app', up.id, body(bytes.subarray(200_000)), { start: 200_000 }),
      (e: unknown) =>
        e instanceof RegistryStorageError && e.problem === 'range' && e.detail?.offset === 100_000,
    );
    assert.equal((await storage.uploadState('team/app', up.id))?.offset, 100_000);
    assert.equal(await storage.uploadState('other/repo', up.id), undefined, 'bound to its repo');
    assert.equal(await storage.statBlob('team/app', digest), undefined, 'nothing visible yet');
    const done = await storage.completeUpload(
      'team/app',
      up.id,
      digest,
      body(bytes.subarray(100_000)),
      {
        start: 100_000,
      },
    );
    assert.deepEqual(done, { digest, size: bytes.length });
    assert.equal(await storage.statBlob('team/app', digest), bytes.length);
    const blob = await storage.openBlob('team/app', digest);
    assert.ok(blob);
    assert.ok((await readAll(await blob.read())).equals(bytes));
    assert.equal(await storage.uploadState('team/app', up.id), undefined, 'session gone');
    // Another repository does not see it, though the store holds it.
    assert.equal(await storage.statBlob('other/repo', digest), undefined);
    assert.equal(await storage.openBlob('other/repo', digest), undefined);
  });

  it('refuses a corrupted upload and leaves no blob and no session', async () => {
    const bytes = randomBytes(50_000);
    const digest = sha256(bytes);
    const corrupted = Buffer.from(bytes);
    corrupted[12_345] = (corrupted[12_345] as number) ^ 0xff;
    const up = await storage.startUpload('team/app');
    await storage.appendUpload('team/app', up.id, body(corrupted));
    await assert.rejects(
      storage.completeUpload('team/app', up.id, digest),
      (e: unknown) => e instanceof RegistryStorageError && e.problem === 'digest-invalid',
    );
    assert.equal(await storage.store.hasBlob(digest), undefined);
    assert.equal(await storage.uploadState('team/app', up.id), undefined);
    assert.deepEqual(await readdir(join(storage.store.dir, '.ocipeek', 'uploads')), []);
  });

  it('hashes a large upload on the hashing thread and still refuses it corrupted', async () => {
    // Several MiB in chunks: the thread hashes while the chunks arrive (not only at the end).
    const bytes = randomBytes(6 * 1024 * 1024 + 7);
    const digest = sha256(bytes);
    const corrupted = Buffer.from(bytes);
    corrupted[4_000_001] = (corrupted[4_000_001] as number) ^ 0x01;
    const digests: string[] = [];
    const ask = FileHasher.prototype.ask;
    FileHasher.prototype.ask = function (this: FileHasher, request) {
      const answer = ask.call(this, request);
      void answer.then((hex) => digests.push(hex)).catch(() => {});
      return answer;
    };
    try {
      const push = async (data: Buffer) => {
        const up = await storage.startUpload('team/big');
        for (let at = 0; at < data.length; at += 1_500_000) {
          await storage.appendUpload('team/big', up.id, body(data.subarray(at, at + 1_500_000)), {
            start: at,
          });
        }
        return storage.completeUpload('team/big', up.id, digest);
      };
      await assert.rejects(
        push(corrupted),
        (e: unknown) => e instanceof RegistryStorageError && e.problem === 'digest-invalid',
      );
      assert.equal(await storage.store.hasBlob(digest), undefined);
      assert.deepEqual(await push(bytes), { digest, size: bytes.length });
      assert.ok((await readFile(storage.store.blobPath(digest))).equals(bytes));
      assert.deepEqual(
        digests,
        [sha256(corrupted), digest].map((d) => d.slice('sha256:'.length)),
        'both digests came from the hashing thread',
      );
    } finally {
      FileHasher.prototype.ask = ask;
    }
  });

  it('continues an upload in another process (another instance) and verifies it from disk', async () => {
    const other = await StoreStorage.open(storage.store.dir);
    const bytes = randomBytes(70_000);
    const up = await storage.startUpload('team/app');
    await storage.appendUpload('team/app', up.id, body(bytes.subarray(0, 30_000)));
    await other.appendUpload('team/app', up.id, body(bytes.subarray(30_000, 60_000)), {
      start: 30_000,
    });
    await storage.appendUpload('team/app', up.id, body(bytes.subarray(60_000)), { start: 60_000 });
    const done = await storage.completeUpload('team/app', up.id, sha256(bytes));
    assert.equal(done.size, bytes.length);
    const stored = await readFile(storage.store.blobPath(sha256(bytes)));
    assert.ok(stored.equals(bytes));
  });

  it('stores sha512 blobs under their sha512 digest', async () => {
    const bytes = randomBytes(10_000);
    const digest = sha512(bytes);
    await storage.putBlob('team/app', digest, body(bytes));
    assert.equal(await storage.statBlob('team/app', digest), bytes.length);
    assert.ok((await readFile(storage.store.blobPath(digest))).equals(bytes));
  });

  it('leaves one verified blob when ten clients push the same blob at once', async () => {
    const bytes = randomBytes(2_000_000);
    const digest = sha256(bytes);
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const repo = `load/r${i}`;
        const up = await storage.startUpload(repo);
        for (let at = 0; at < bytes.length; at += 500_000) {
          await storage.appendUpload(repo, up.id, body(bytes.subarray(at, at + 500_000)), {
            start: at,
          });
        }
        return storage.completeUpload(repo, up.id, digest);
      }),
    );
    for (const r of results) assert.deepEqual(r, { digest, size: bytes.length });
    const hex = digest.slice('sha256:'.length);
    assert.equal(
      (await readdir(join(storage.store.dir, 'blobs', 'sha256'))).filter((n) => n === hex).length,
      1,
    );
    assert.equal(sha256(await readFile(storage.store.blobPath(digest))), digest);
    assert.deepEqual(
      await readdir(join(storage.store.dir, '.ocipeek', 'uploads')),
      [],
      'every session cleaned up',
    );
    for (let i = 0; i < 10; i++)
      assert.equal(await storage.statBlob(`load/r${i}`, digest), bytes.length);
  });

  it('serves a blob it adopted from an upload without hashing it, until the file changes', async () => {
    const bytes = randomBytes(200_000);
    const digest = await pushBlob(storage, 'team/served', bytes);
    const known: boolean[] = [];
    const has = VerifiedBlobs.prototype.has;
    VerifiedBlobs.prototype.has = function (this: VerifiedBlobs, d, file) {
      const answer = has.call(this, d, file);
      if (d === digest) known.push(answer);
      return answer;
    };
    try {
      const blob = await storage.openBlob('team/served', digest);
      assert.deepEqual(await readAll(await blob!.read()), bytes);
      assert.deepEqual(known, [true], 'known good from the upload: not hashed again');
      // Rewritten in place (same size): a new ctime, so hashed again, and refused.
      await writeFile(storage.store.blobPath(digest), randomBytes(200_000));
      const changed = await storage.openBlob('team/served', digest);
      await assert.rejects(readAll(await changed!.read()), /digest|sha256/i);
      assert.deepEqual(known, [true, false]);
    } finally {
      VerifiedBlobs.prototype.has = has;
    }
  });

  it('serves a blob in pieces of 256 KiB through two reused buffers', async () => {
    const bytes = randomBytes((5 << 18) + 4321); // 5 pieces of 256 KiB and a part
    const digest = await pushBlob(storage, 'team/pieces', bytes);
    const blob = await storage.openBlob('team/pieces', digest);
    const source = (await blob!.read()) as unknown as SinkSource;
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    await source.pipeTo(async (piece) => {
      memory.add(piece.buffer);
      parts.push(Buffer.from(piece));
      await new Promise((r) => setImmediate(r));
    });
    assert.deepEqual(Buffer.concat(parts), bytes);
    assert.deepEqual(
      parts.map((p) => p.length),
      [...Array(5).fill(256 * 1024), 4321],
    );
    assert.equal(memory.size, 2, 'every read lands in one of two buffers');
  });

  it('hashes a blob once for concurrent first readers after a restart, and refuses it corrupt', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const digest = await pushBlob(storage, 'team/first', bytes);
    const hashes: string[] = [];
    const ask = FileHasher.prototype.ask;
    FileHasher.prototype.ask = function (this: FileHasher, request) {
      hashes.push(request.op);
      return ask.call(this, request);
    };
    try {
      // A new instance on the same store: what the first one verified is not known here.
      const restarted = await StoreStorage.open(storage.store.dir);
      const readers = await Promise.all(
        [0, 1, 2].map(() => restarted.openBlob('team/first', digest)),
      );
      const ranged = await restarted.openBlob('team/first', digest);
      const got = await Promise.all([
        ...readers.map(async (b) => readAll(await b!.read())),
        (async () => readAll(await ranged!.read({ range: { start: 10, end: 19 } })))(),
      ]);
      for (const g of got.slice(0, 3)) assert.ok(g.equals(bytes));
      assert.ok(got[3]!.equals(bytes.subarray(10, 20)));
      assert.deepEqual(hashes, ['digest'], 'four first readers, one hash');
      const again = await restarted.openBlob('team/first', digest);
      assert.ok((await readAll(await again!.read())).equals(bytes));
      assert.equal(hashes.length, 1, 'known good afterwards');

      // Corrupted in place (same size) under another restart: every concurrent reader
      // fails before the end, still with one hash.
      const corrupt = Buffer.from(bytes);
      corrupt[2_000_000] = (corrupt[2_000_000] as number) ^ 0x80;
      await writeFile(storage.store.blobPath(digest), corrupt);
      hashes.length = 0;
      const third = await StoreStorage.open(storage.store.dir);
      const bad = await Promise.all([0, 1].map(() => third.openBlob('team/first', digest)));
      const outcomes = await Promise.allSettled(bad.map(async (b) => readAll(await b!.read())));
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected');
        assert.match(String((o as PromiseRejectedResult).reason), /digest mismatch/);
      }
      assert.deepEqual(hashes, ['digest']);
    } finally {
      FileHasher.prototype.ask = ask;
    }
  });

  it('mounts only from a repository that holds the blob', async () => {
    const bytes = randomBytes(1000);
    const digest = await pushBlob(storage, 'src/one', bytes);
    assert.equal(await storage.mountBlob('dst/two', digest, 'src/elsewhere'), false);
    assert.equal(await storage.statBlob('dst/two', digest), undefined);
    assert.equal(await storage.mountBlob('dst/two', digest, 'src/one'), true);
    assert.equal(await storage.statBlob('dst/two', digest), bytes.length);
  });

  it('stores manifests by tag and digest, requires their content, lists referrers', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = randomBytes(4096);
    const image = imageManifest(config, [layer]);
    const descriptor = {
      mediaType: MediaType.ociManifest,
      digest: image.digest,
      size: image.bytes.length,
    };
    const requires = [
      { digest: sha256(config), size: config.length },
      { digest: sha256(layer), size: layer.length },
    ];
    await assert.rejects(
      storage.putManifest('team/img', { bytes: image.bytes, descriptor, tags: ['v1'], requires }),
      (e: unknown) =>
        e instanceof RegistryStorageError &&
        e.problem === 'manifest-blob-unknown' &&
        e.detail?.digests?.length === 2,
    );
    assert.deepEqual(await storage.tags('team/img'), []);
    await pushBlob(storage, 'team/img', config);
    await pushBlob(storage, 'team/img', layer);
    await storage.putManifest('team/img', {
      bytes: image.bytes,
      descriptor,
      tags: ['v1', 'latest'],
      requires,
    });
    assert.deepEqual(await storage.tags('team/img'), ['latest', 'v1']);
    const got = await storage.getManifest('team/img', 'v1');
    assert.ok(got?.bytes.equals(image.bytes));
    assert.equal(got?.descriptor.mediaType, MediaType.ociManifest);
    // The CLI's view of the store: exact names, not normalised to docker.io.
    const images = await storage.store.listImages();
    assert.ok(images.some((i) => i.reference === 'team/img:v1' && i.complete));

    const sbom = Buffer.from('{"sbom":true}');
    await pushBlob(storage, 'team/img', sbom);
    const empty = Buffer.from('{}');
    await pushBlob(storage, 'team/img', empty);
    const referrer = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: sha256(sbom), size: sbom.length }],
      subject: descriptor,
      annotations: { note: 'hi' },
    };
    const rbytes = Buffer.from(JSON.stringify(referrer));
    const rdesc = {
      mediaType: MediaType.ociManifest,
      digest: sha256(rbytes),
      size: rbytes.length,
      artifactType: 'application/spdx+json',
      annotations: { note: 'hi' },
    };
    await storage.putManifest('team/img', {
      bytes: rbytes,
      descriptor: rdesc,
      tags: [],
      requires: [
        { digest: sha256(empty), size: 2 },
        { digest: sha256(sbom), size: sbom.length },
      ],
      subject: image.digest,
    });
    assert.deepEqual(await storage.referrers('team/img', image.digest), [rdesc]);
    assert.deepEqual(await storage.referrers('other/repo', image.digest), []);
    assert.ok((await storage.getManifest('team/img', rdesc.digest))?.bytes.equals(rbytes));

    // Tag delete keeps the manifest by digest; manifest delete removes it and its tags.
    assert.equal(await storage.deleteTag('team/img', 'latest'), true);
    assert.deepEqual(await storage.tags('team/img'), ['v1']);
    assert.ok(await storage.getManifest('team/img', image.digest));
    assert.equal(await storage.deleteManifest('team/img', image.digest), true);
    assert.deepEqual(await storage.tags('team/img'), []);
    assert.equal(await storage.getManifest('team/img', image.digest), undefined);
    assert.equal(await storage.deleteManifest('team/img', image.digest), false);
  });

  it('serves images the CLI put in the store under their full names', async () => {
    const layoutDir = join(dir.path, 'example');
    const example = await writeExampleLayout(layoutDir);
    const store = storage.store;
    for (const alg of await readdir(join(layoutDir, 'blobs'))) {
      for (const hex of await readdir(join(layoutDir, 'blobs', alg))) {
        const path = join(layoutDir, 'blobs', alg, hex);
        const size = (await stat(path)).size;
        await store.writeBlob({ digest: `${alg}:${hex}`, size }, body(await readFile(path)));
      }
    }
    await store.tag('127.0.0.1:5000/demo/app:1.0', example.index);
    await store.tag('docker.io/library/demo:edge', example.index);
    const repos = await storage.repositories();
    assert.ok(repos.includes('127.0.0.1_5000/demo/app'), repos.join());
    assert.ok(repos.includes('docker.io/library/demo'), repos.join());
    assert.deepEqual(await storage.tags('127.0.0.1_5000/demo/app'), ['1.0']);
    const index = await storage.getManifest('127.0.0.1_5000/demo/app', '1.0');
    assert.equal(index?.descriptor.digest, example.index.digest);
    const layer = example.images[0]!.layers[0]!;
    assert.equal(await storage.statBlob('docker.io/library/demo', layer.digest), layer.size);
    assert.equal(await storage.statBlob('team/app', layer.digest), undefined);
    // A layer of a tagged image cannot be deleted from under it.
    await assert.rejects(
      storage.deleteBlob('docker.io/library/demo', layer.digest),
      (e: unknown) => e instanceof RegistryStorageError && e.problem === 'referenced',
    );
  });

  it('collects what no tag or referrer reaches, past the grace period', async () => {
    const gcDir = await tempDir('store-gc');
    try {
      const s = await StoreStorage.open(join(gcDir.path, 'store'));
      const config = Buffer.from('{"os":"linux","architecture":"arm64"}');
      const kept = randomBytes(3000);
      const dropped = randomBytes(3000);
      const stray = randomBytes(3000);
      for (const b of [config, kept, dropped, stray]) await pushBlob(s, 'gc/app', b);
      const keptImage = imageManifest(config, [kept]);
      const droppedImage = imageManifest(config, [dropped]);
      const put = (img: ReturnType<typeof imageManifest>, tags: string[], layer: Buffer) =>
        s.putManifest('gc/app', {
          bytes: img.bytes,
          descriptor: {
            mediaType: MediaType.ociManifest,
            digest: img.digest,
            size: img.bytes.length,
          },
          tags,
          requires: [
            { digest: sha256(config), size: config.length },
            { digest: sha256(layer), size: layer.length },
          ],
        });
      await put(keptImage, ['v1'], kept);
      await put(droppedImage, [], dropped);
      const young = await s.collectGarbage();
      assert.equal(young.blobsRemoved, 0, 'everything is within the grace period');
      const result = await s.collectGarbage({ graceMs: 0 });
      assert.equal(result.manifestsUnlinked, 1);
      assert.equal(result.blobsRemoved, 3, 'the untagged manifest, its layer, the stray blob');
      assert.equal(await s.store.hasBlob(sha256(dropped)), undefined);
      assert.equal(await s.store.hasBlob(sha256(stray)), undefined);
      assert.equal(await s.store.hasBlob(droppedImage.digest), undefined);
      assert.equal(await s.store.hasBlob(sha256(kept)), kept.length);
      assert.ok(await s.getManifest('gc/app', 'v1'));
      assert.equal(await s.getManifest('gc/app', droppedImage.digest), undefined);
    } finally {
      await gcDir.remove();
    }
  });

  it('prunes nothing the registry recorded when the CLI prunes the store', async () => {
    const bytes = randomBytes(5000);
    const digest = await pushBlob(storage, 'cli/prune', bytes);
    const store = await Store.open(storage.store.dir);
    await store.prune();
    assert.equal(await storage.statBlob('cli/prune', digest), bytes.length);
  });

  it('collects old garbage while pushes run, and loses none of them', async () => {
    const gcDir = await tempDir('store-gc-race');
    try {
      const s = await StoreStorage.open(join(gcDir.path, 'store'));
      const old = randomBytes(2000);
      const oldDigest = await pushBlob(s, 'race/app', old);
      // Age the record past the grace period, as if pushed two hours ago.
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      const recordDir = join(s.store.dir, '.ocipeek', 'roots', 'registry', 'race', 'app', '_blobs');
      for (const f of await readdir(recordDir))
        await utimes(join(recordDir, f), twoHoursAgo, twoHoursAgo);
      const pushes = Array.from({ length: 6 }, async (_, i) => {
        const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', i }));
        const layer = randomBytes(50_000);
        await pushBlob(s, 'race/app', config);
        await pushBlob(s, 'race/app', layer);
        const img = imageManifest(config, [layer]);
        await s.putManifest('race/app', {
          bytes: img.bytes,
          descriptor: {
            mediaType: MediaType.ociManifest,
            digest: img.digest,
            size: img.bytes.length,
          },
          tags: [`t${i}`],
          requires: [
            { digest: sha256(config), size: config.length },
            { digest: sha256(layer), size: layer.length },
          ],
        });
        return { img, layer };
      });
      const collections = Array.from({ length: 4 }, () => s.collectGarbage());
      const [pushed, collected] = await Promise.all([
        Promise.all(pushes),
        Promise.all(collections),
      ]);
      assert.equal(
        collected.reduce((n, r) => n + r.blobsRemoved, 0),
        1,
        'the old blob, once',
      );
      assert.equal(await s.store.hasBlob(oldDigest), undefined);
      for (const [i, { img, layer }] of pushed.entries()) {
        assert.ok((await s.getManifest('race/app', `t${i}`))?.bytes.equals(img.bytes));
        assert.equal(await s.statBlob('race/app', sha256(layer)), layer.length);
      }
      assert.deepEqual(await s.store.validate({ verifyBlobs: true }), []);
    } finally {
      await gcDir.remove();
    }
  });
});
