// The S3 storage on a real S3: Ceph's RADOS Gateway on loopback (test/harness/ceph-s3.ts).
// The distribution API suite runs on it in registry-push.test.ts; here are the harness's
// own check, what only S3 has (multipart parts, upload state in the bucket, collection of
// blob objects), and two `ocipeek serve` processes sharing one bucket.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { isOcipeekError } from '../../src/errors/index.js';
import { MediaType } from '../../src/media/index.js';
import { startRegistryServer } from '../../src/server/registry/index.js';
import { S3Storage } from '../../src/server/storage/s3/s3-storage.js';
import { RegistryStorageError } from '../../src/server/storage/storage-error.js';
import { type RunningS3, startCephS3 } from '../harness/ceph-s3.js';
import { skopeo, tempDir } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { startServe } from '../harness/serve-process.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 * 1024;

describe('S3 storage on a real Ceph RADOS Gateway', () => {
  let s3: RunningS3;
  let client: S3Client;

  before(async () => {
    s3 = await startCephS3();
    client = s3.client();
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('the harness: objects go in and come back, and signatures are checked', async (t) => {
    t.diagnostic(`one-node Ceph with radosgw set up in ${s3.setupMs} ms`);
    const body = randomBytes(300_000);
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'smoke/a', Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'smoke/a' }));
    assert.ok(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(body));
    const forger = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    try {
      await assert.rejects(
        forger.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'smoke/a' })),
        (err: Error) => err.name === 'SignatureDoesNotMatch',
      );
    } finally {
      forger.destroy();
    }
    const anonymous = await fetch(`${s3.endpoint}/${s3.bucket}/smoke/a`);
    assert.equal(anonymous.status, 403);
    await anonymous.arrayBuffer();
  });

  it('pushes a large blob in parts, and a corrupt one leaves no object and no parts', async () => {
    const storage = new S3Storage(s3.client(), s3.bucket, 'parts/');
    try {
      const bytes = randomBytes(19 * MiB + 5);
      const digest = sha256(bytes);
      const stored = await storage.putBlob('big/app', digest, Readable.from([bytes]));
      assert.deepEqual(stored, { digest, size: bytes.length });
      const blob = await storage.openBlob('big/app', digest);
      assert.equal(blob?.size, bytes.length);
      const hash = createHash('sha256');
      for await (const piece of await (blob as NonNullable<typeof blob>).read()) hash.update(piece);
      assert.equal(`sha256:${hash.digest('hex')}`, digest);

      const corrupt = Buffer.from(bytes);
      corrupt[17 * MiB] = (corrupt[17 * MiB] as number) ^ 1;
      const wrong = sha256(Buffer.concat([bytes, Buffer.from('x')]));
      await assert.rejects(
        storage.putBlob('big/app', wrong, Readable.from([corrupt])),
        (err: unknown) =>
          isOcipeekError(err, RegistryStorageError.code) &&
          (err as RegistryStorageError).problem === 'digest-invalid',
      );
      assert.equal(await storage.statBlob('big/app', wrong), undefined);
      assert.equal(await storage.objects.head(`blobs/sha256/${wrong.slice(7)}`), undefined);
      const uploads = await client.send(
        new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: 'parts/' }),
      );
      assert.deepEqual(uploads.Uploads ?? [], [], 'the refused upload was aborted');
    } finally {
      await storage.close();
    }
  });

  it('keeps upload state in the bucket: another instance continues and completes it', async () => {
    const one = new S3Storage(s3.client(), s3.bucket, 'state/');
    const two = new S3Storage(s3.client(), s3.bucket, 'state/');
    try {
      // Chunks that straddle parts: 3 MiB pieces, parts of 8 MiB joined from them.
      const bytes = randomBytes(20 * MiB + 77);
      const digest = sha256(bytes);
      const session = await one.startUpload('shared/app');
      const chunk = 3 * MiB;
      for (let at = 0, i = 0; at < bytes.length - chunk; at += chunk, i++) {
        const on = i % 2 === 0 ? one : two;
        const state = await on.appendUpload(
          'shared/app',
          session.id,
          Readable.from([bytes.subarray(at, at + chunk)]),
          { start: at },
        );
        assert.equal(state.offset, at + chunk);
        assert.equal(
          (await (i % 2 === 0 ? two : one).uploadState('shared/app', session.id))?.offset,
          at + chunk,
        );
      }
      const last = Math.floor((bytes.length - 1) / chunk) * chunk;
      await assert.rejects(
        one.appendUpload('shared/app', session.id, Readable.from([Buffer.alloc(10)]), {
          start: last + 10,
        }),
        (err: unknown) => (err as RegistryStorageError).problem === 'range',
      );
      const blob = await two.completeUpload(
        'shared/app',
        session.id,
        digest,
        Readable.from([bytes.subarray(last)]),
        { start: last },
      );
      assert.deepEqual(blob, { digest, size: bytes.length });
      assert.equal(await one.uploadState('shared/app', session.id), undefined);
      assert.equal(await one.statBlob('shared/app', digest), bytes.length);
      // The stored bytes, not just the hash of what came in: parts joined in order.
      const stored = await one.openBlob('shared/app', digest);
      const back = createHash('sha256');
      for await (const piece of await (stored as NonNullable<typeof stored>).read()) {
        back.update(piece);
      }
      assert.equal(`sha256:${back.digest('hex')}`, digest);
      assert.equal(await one.statBlob('other/app', digest), undefined, 'not in another repository');
      const leftovers: string[] = [];
      for await (const o of one.objects.list('uploads/')) leftovers.push(o.key);
      assert.deepEqual(leftovers, [], 'the session left nothing behind');
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('collects what nothing reaches, and expired uploads', async () => {
    // A short fence: nothing else writes to this prefix meanwhile.
    const storage = new S3Storage(s3.client(), s3.bucket, 'gc/', { gcFenceMs: 100 });
    try {
      const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
      const layer = randomBytes(5000);
      const loose = randomBytes(3000);
      for (const b of [config, layer, loose]) {
        await storage.putBlob('gc/app', sha256(b), Readable.from([b]));
      }
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
          layers: [
            { mediaType: MediaType.ociLayerGzip, digest: sha256(layer), size: layer.length },
          ],
        }),
      );
      const descriptor = {
        mediaType: MediaType.ociManifest,
        digest: sha256(manifest),
        size: manifest.length,
      };
      await storage.putManifest('gc/app', {
        bytes: manifest,
        descriptor,
        tags: ['v1'],
        requires: [
          { digest: sha256(config), size: config.length },
          { digest: sha256(layer), size: layer.length },
        ],
      });
      const session = await storage.startUpload('gc/app');
      await storage.appendUpload('gc/app', session.id, Readable.from([randomBytes(100)]));
      const young = await storage.collectGarbage();
      assert.deepEqual(
        young,
        {
          manifestsUnlinked: 0,
          blobsUnlinked: 0,
          blobsRemoved: 0,
          uploadsRemoved: 0,
          bytesFreed: 0,
        },
        'within the grace period nothing goes',
      );
      const old = await storage.collectGarbage({ graceMs: 0, uploadExpiryMs: 0 });
      assert.equal(old.blobsUnlinked, 1);
      assert.equal(old.blobsRemoved, 1);
      assert.equal(old.uploadsRemoved, 1);
      assert.equal(await storage.statBlob('gc/app', sha256(loose)), undefined);
      assert.equal(await storage.objects.head(`blobs/sha256/${sha256(loose).slice(7)}`), undefined);
      assert.equal(await storage.uploadState('gc/app', session.id), undefined);
      assert.equal(await storage.statBlob('gc/app', sha256(layer)), layer.length, 'tagged: kept');
      assert.ok(await storage.getManifest('gc/app', 'v1'));

      assert.equal(await storage.deleteManifest('gc/app', descriptor.digest), true);
      const rest = await storage.collectGarbage({ graceMs: 0 });
      assert.equal(rest.blobsRemoved, 3, 'manifest, config and layer');
      const left: string[] = [];
      for await (const o of storage.objects.list('blobs/')) left.push(o.key);
      assert.deepEqual(left, []);
    } finally {
      await storage.close();
    }
  });

  it('one collector at a time per bucket; a push during a collection waits for it and survives it', async () => {
    const fenceMs = 1500;
    const a = new S3Storage(s3.client(), s3.bucket, 'lease/', { gcFenceMs: fenceMs });
    const b = new S3Storage(s3.client(), s3.bucket, 'lease/', { gcFenceMs: fenceMs });
    try {
      const loose = randomBytes(4000);
      const looseDigest = sha256(loose);
      await a.putBlob('lease/app', looseDigest, Readable.from([loose]));
      const leaseKey = '_gc/lease';
      const events: string[] = [];
      const first = a.collectGarbage({ graceMs: 0 }).then((r) => {
        events.push('gc done');
        return r;
      });
      for (let i = 0; i < 400 && !(await a.objects.head(leaseKey)); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(await a.objects.head(leaseKey), 'the collector holds the lease object');
      // The other instance cannot collect meanwhile: one clear refusal.
      await assert.rejects(
        b.collectGarbage({ graceMs: 0 }),
        (err: unknown) =>
          err instanceof RegistryStorageError &&
          err.problem === 'busy' &&
          /another garbage collection holds the lease on this storage until /.test(err.message),
      );
      // Pushed again on the other instance while the collection runs: the commit waits
      // for the collection (which removes the old copy), then stores the blob afresh.
      const again = b.putBlob('lease/other', looseDigest, Readable.from([loose])).then((r) => {
        events.push('push done');
        return r;
      });
      const mount = b.mountBlob('lease/third', looseDigest, 'lease/app').then((r) => {
        events.push('mount done');
        return r;
      });
      const result = await first;
      assert.equal(result.blobsRemoved, 1, 'the unreferenced old blob went');
      assert.deepEqual(await again, { digest: looseDigest, size: loose.length });
      assert.equal(
        await mount,
        false,
        'nothing to mount: the collection unlinked it from lease/app',
      );
      assert.equal(events[0], 'gc done', `order: ${events.join(', ')}`);
      assert.equal(await b.statBlob('lease/other', looseDigest), loose.length);
      const read = await b.openBlob('lease/other', looseDigest);
      assert.ok(read);
      const chunks: Buffer[] = [];
      for await (const c of await read.read()) chunks.push(c as Buffer);
      assert.equal(sha256(Buffer.concat(chunks)), looseDigest);
      assert.equal(await a.objects.head(leaseKey), undefined, 'the lease was given back');

      // A collector that died leaves a lease that lapses: the next one takes it over.
      await a.objects.putJson(leaseKey, { owner: 'dead', startedMs: 1, expiresMs: Date.now() - 1 });
      const after = await b.collectGarbage();
      assert.equal(after.blobsRemoved, 0);
      assert.equal(await a.objects.head(leaseKey), undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('serve gc --storage s3://... collects, and refuses with one line while another holds the lease', async () => {
    const prefix = 'cli-gc';
    const storage = new S3Storage(s3.client(), s3.bucket, `${prefix}/`, { gcFenceMs: 100 });
    try {
      const loose = randomBytes(2500);
      await storage.putBlob('cli/app', sha256(loose), Readable.from([loose]));
      const url = `s3://${s3.bucket}/${prefix}`;
      const dry = await runCli(['serve', 'gc', '--storage', url, '--grace', '0', '--dry-run'], {
        env: s3.env,
      });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(
        dry.out,
        /1 blob link\(s\) unreferenced, 1 blob\(s\) and 0 stale upload\(s\) removed; would free/,
      );
      assert.equal(await storage.statBlob('cli/app', sha256(loose)), loose.length, 'dry run');

      await storage.objects.putJson('_gc/lease', {
        owner: 'other',
        startedMs: Date.now(),
        expiresMs: Date.now() + 60_000,
      });
      const busy = await runCli(['serve', 'gc', '--storage', url, '--grace', '0'], { env: s3.env });
      assert.notEqual(busy.code, 0);
      assert.match(
        busy.stderr.trim(),
        /^ocipeek: .*another garbage collection holds the lease on this storage until \d{4}-/,
      );
      assert.equal(busy.stderr.trim().split('\n').length, 1, busy.stderr);
      assert.equal(
        await storage.statBlob('cli/app', sha256(loose)),
        loose.length,
        'nothing removed',
      );

      await storage.objects.delete('_gc/lease');
      const run = await runCli(['serve', 'gc', '--storage', url, '--grace', '0', '--json'], {
        env: s3.env,
      });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.out);
      assert.equal(result.blobsUnlinked, 1);
      assert.equal(result.blobsRemoved, 1);
      assert.equal(result.bytesFreed, loose.length);
      assert.equal(await storage.objects.head(`blobs/sha256/${sha256(loose).slice(7)}`), undefined);
    } finally {
      await storage.close();
    }
  });

  it('--s3-redirect sends blob GETs to a presigned URL, after the access check', async () => {
    const server = await startRegistryServer({
      storage: new S3Storage(s3.client(), s3.bucket, 'redirect/', { redirectSeconds: 60 }),
    });
    try {
      const bytes = randomBytes(70_000);
      const digest = sha256(bytes);
      const post = await fetch(`${server.url}/v2/r/app/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        body: bytes,
      });
      assert.equal(post.status, 201);
      const get = await fetch(`${server.url}/v2/r/app/blobs/${digest}`, { redirect: 'manual' });
      assert.equal(get.status, 307);
      const location = get.headers.get('location') as string;
      assert.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/redirect/blobs/sha256/`));
      assert.match(location, /X-Amz-Signature=/);
      const direct = await fetch(location);
      assert.equal(direct.status, 200);
      assert.ok(Buffer.from(await direct.arrayBuffer()).equals(bytes));
      const ranged = await fetch(location, { headers: { Range: 'bytes=10-19' } });
      assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(10, 20)));
      const head = await fetch(`${server.url}/v2/r/app/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200, 'HEAD is answered by the registry');
      assert.equal(head.headers.get('content-length'), String(bytes.length));
      const elsewhere = await fetch(`${server.url}/v2/r/other/blobs/${digest}`, {
        redirect: 'manual',
      });
      assert.equal(elsewhere.status, 404, 'no redirect for a repository without the blob');
      await elsewhere.arrayBuffer();
    } finally {
      await server.close();
    }
  });

  it('two ocipeek serve processes on one bucket: chunks alternate, the other serves it, skopeo pulls it', async (t) => {
    const storage = `s3://${s3.bucket}/two`;
    const a = await startServe(storage, s3.env);
    const b = await startServe(storage, s3.env);
    const layout = await tempDir('s3-pull');
    try {
      const layer = randomBytes(19 * MiB + 321);
      const layerDigest = sha256(layer);
      const start = await fetch(`${a.url}/v2/two/app/blobs/uploads/`, { method: 'POST' });
      assert.equal(start.status, 202);
      let location = start.headers.get('location') as string;
      const chunk = 3 * MiB;
      let i = 0;
      for (let at = 0; at < layer.length; at += chunk, i++) {
        const base = i % 2 === 0 ? a.url : b.url;
        const end = Math.min(layer.length, at + chunk) - 1;
        const res = await fetch(new URL(location, base), {
          method: 'PATCH',
          body: layer.subarray(at, end + 1),
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${at}-${end}` },
        });
        assert.equal(res.status, 202, `chunk ${i} on ${base}`);
        location = res.headers.get('location') as string;
      }
      const put = await fetch(
        new URL(`${location}?digest=${layerDigest}`, i % 2 === 0 ? a.url : b.url),
        {
          method: 'PUT',
        },
      );
      assert.equal(put.status, 201, await put.text());
      const pulled = await fetch(`${b.url}/v2/two/app/blobs/${layerDigest}`);
      assert.equal(sha256(Buffer.from(await pulled.arrayBuffer())), layerDigest);

      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [layerDigest] },
        }),
      );
      const post = await fetch(`${b.url}/v2/two/app/blobs/uploads/?digest=${sha256(config)}`, {
        method: 'POST',
        body: config,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(post.status, 201);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
          layers: [{ mediaType: MediaType.ociLayer, digest: layerDigest, size: layer.length }],
        }),
      );
      const tagged = await fetch(`${a.url}/v2/two/app/manifests/v1`, {
        method: 'PUT',
        body: manifest,
        headers: { 'Content-Type': MediaType.ociManifest },
      });
      assert.equal(tagged.status, 201, await tagged.text());

      const host = new URL(b.url).host;
      await skopeo([
        '--insecure-policy',
        'copy',
        '--quiet',
        '--preserve-digests',
        '--src-tls-verify=false',
        `docker://${host}/two/app:v1`,
        `oci:${layout.path}:v1`,
      ]);
      const index = JSON.parse(await readFile(join(layout.path, 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, sha256(manifest));
      const copied = await readFile(join(layout.path, 'blobs', 'sha256', layerDigest.slice(7)));
      assert.equal(sha256(copied), layerDigest);
      t.diagnostic(
        `serve on S3, peak RSS: ${await a.peakRssKiB()} KiB and ${await b.peakRssKiB()} KiB`,
      );
    } finally {
      await a.stop();
      await b.stop();
      await layout.remove();
    }
  });
});
