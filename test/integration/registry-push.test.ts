import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaType } from '../../src/media/index.js';
import {
  type RunningRegistryServer,
  type StartRegistryServerOptions,
  startRegistryServer,
} from '../../src/server/registry/index.js';
import { S3Storage } from '../../src/server/storage/s3/s3-storage.js';
import { type RunningS3, startCephS3 } from '../harness/ceph-s3.js';
import { type TempDir, tempDir } from '../harness/index.js';

// The distribution-spec conformance workflows (push, pull, content discovery, content
// management), written as checks against `ocipeek serve --storage`, run on each storage
// backend: the ocipeek store, and S3 (a real Ceph RADOS Gateway on loopback).

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sha512 = (b: Uint8Array) => `sha512:${createHash('sha512').update(b).digest('hex')}`;

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** A storage the suite runs on. */
interface SuiteBackend {
  name: string;
  start(): Promise<void>;
  /** Server options naming the storage: each call is one more instance on the same data. */
  storage(): Pick<StartRegistryServerOptions, 'storageDir' | 'storage'>;
  stop(): Promise<void>;
}

function storeBackend(): SuiteBackend {
  let dir: TempDir | undefined;
  return {
    name: 'DIR (the ocipeek store)',
    start: async () => {
      dir = await tempDir('registry-push');
    },
    storage: () => ({ storageDir: join((dir as TempDir).path, 'store') }),
    stop: async () => dir?.remove(),
  };
}

function s3Backend(): SuiteBackend {
  let s3: RunningS3 | undefined;
  return {
    name: 's3://BUCKET/PREFIX (Ceph RADOS Gateway)',
    start: async () => {
      s3 = await startCephS3();
    },
    storage: () => {
      const running = s3 as RunningS3;
      return { storage: new S3Storage(running.client(), running.bucket, 'registry/') };
    },
    stop: async () => s3?.stop(),
  };
}

for (const backend of [storeBackend(), s3Backend()]) {
  describe(`ocipeek serve --storage ${backend.name}: the distribution API, read-write`, () => {
    let server: RunningRegistryServer;

    const call = async (
      method: string,
      path: string,
      init: { body?: Uint8Array; headers?: Record<string, string> } = {},
    ): Promise<Answer> => {
      const res = await fetch(new URL(path, server.url), {
        method,
        body: init.body,
        headers: init.headers,
      });
      return {
        status: res.status,
        headers: res.headers,
        body: Buffer.from(await res.arrayBuffer()),
      };
    };
    const codeOf = (a: Answer) =>
      (JSON.parse(a.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code;
    const octet = { 'Content-Type': 'application/octet-stream' };

    /** POST then PUT a blob whole. */
    const pushBlob = async (repo: string, bytes: Buffer, digest = sha256(bytes)) => {
      const start = await call('POST', `/v2/${repo}/blobs/uploads/`);
      assert.equal(start.status, 202);
      const put = await call('PUT', `${start.headers.get('location')}?digest=${digest}`, {
        body: bytes,
        headers: octet,
      });
      assert.equal(put.status, 201, put.body.toString());
      return digest;
    };

    const headBlob = (repo: string, digest: string) => call('HEAD', `/v2/${repo}/blobs/${digest}`);

    before(async () => {
      await backend.start();
      server = await startRegistryServer(backend.storage());
    });
    after(async () => {
      await server?.close();
      await backend.stop();
    });

    it('answers an empty repository: tags 404, referrers an empty index', async () => {
      const tags = await call('GET', '/v2/conf/empty/tags/list');
      assert.equal(tags.status, 404);
      assert.equal(codeOf(tags), 'NAME_UNKNOWN');
      const referrers = await call('GET', `/v2/conf/empty/referrers/${sha256(randomBytes(8))}`);
      assert.equal(referrers.status, 200);
      assert.equal(referrers.headers.get('content-type'), MediaType.ociIndex);
      assert.deepEqual(JSON.parse(referrers.body.toString()), {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [],
      });
    });

    it('takes a blob in a single POST, and in POST then PUT', async () => {
      const bytes = randomBytes(512);
      const digest = sha256(bytes);
      const post = await call('POST', `/v2/conf/app/blobs/uploads/?digest=${digest}`, {
        body: bytes,
        headers: octet,
      });
      assert.equal(post.status, 201);
      assert.equal(post.headers.get('location'), `/v2/conf/app/blobs/${digest}`);
      assert.equal(post.headers.get('docker-content-digest'), digest);
      const got = await call('GET', post.headers.get('location') as string);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(bytes));
      const other = randomBytes(700);
      await pushBlob('conf/app', other);
      const head = await headBlob('conf/app', sha256(other));
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), '700');
      assert.equal(head.headers.get('docker-content-digest'), sha256(other));
    });

    it('takes chunks in order, refuses an out-of-order chunk with 416, resumes after GET', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const digest = sha256(bytes);
      const start = await call('POST', '/v2/conf/app/blobs/uploads/');
      assert.equal(start.status, 202);
      let location = start.headers.get('location') as string;
      assert.match(location, /^\/v2\/conf\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
      const chunk = 1024 * 1024;
      const send = (from: number, to: number, method = 'PATCH', query = '') =>
        call(method, `${location}${query}`, {
          body: bytes.subarray(from, to + 1),
          headers: { ...octet, 'Content-Range': `${from}-${to}` },
        });
      let patch = await send(0, chunk - 1);
      assert.equal(patch.status, 202);
      assert.equal(patch.headers.get('range'), `0-${chunk - 1}`);
      location = patch.headers.get('location') as string;
      const gap = await send(2 * chunk, 3 * chunk - 1);
      assert.equal(gap.status, 416);
      const status = await call('GET', location);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${chunk - 1}`);
      assert.equal(status.headers.get('location'), location);
      patch = await send(chunk, 2 * chunk - 1);
      assert.equal(patch.status, 202);
      patch = await send(2 * chunk, 3 * chunk - 1);
      assert.equal(patch.status, 202);
      // The last chunk comes with the closing PUT.
      const put = await send(3 * chunk, bytes.length - 1, 'PUT', `?digest=${digest}`);
      assert.equal(put.status, 201, put.body.toString());
      const got = await call('GET', `/v2/conf/app/blobs/${digest}`);
      assert.ok(got.body.equals(bytes));
    });

    it('takes a streamed PATCH without Content-Range', async () => {
      const bytes = randomBytes(200_000);
      const start = await call('POST', '/v2/conf/app/blobs/uploads/');
      const patch = await call('PATCH', start.headers.get('location') as string, {
        body: bytes,
        headers: octet,
      });
      assert.equal(patch.status, 202);
      assert.equal(patch.headers.get('range'), `0-${bytes.length - 1}`);
      const put = await call('PUT', `${patch.headers.get('location')}?digest=${sha256(bytes)}`);
      assert.equal(put.status, 201);
      assert.equal((await headBlob('conf/app', sha256(bytes))).status, 200);
    });

    it('refuses a corrupted chunk: 400 DIGEST_INVALID, no blob, no session', async () => {
      const bytes = randomBytes(100_000);
      const digest = sha256(bytes);
      const corrupted = Buffer.from(bytes);
      corrupted[50_000] = (corrupted[50_000] as number) ^ 1;
      const start = await call('POST', '/v2/conf/app/blobs/uploads/');
      const location = start.headers.get('location') as string;
      await call('PATCH', location, {
        body: corrupted.subarray(0, 60_000),
        headers: { ...octet, 'Content-Range': '0-59999' },
      });
      const put = await call('PUT', `${location}?digest=${digest}`, {
        body: corrupted.subarray(60_000),
        headers: { ...octet, 'Content-Range': `60000-${bytes.length - 1}` },
      });
      assert.equal(put.status, 400);
      assert.equal(codeOf(put), 'DIGEST_INVALID');
      assert.equal((await headBlob('conf/app', digest)).status, 404);
      assert.equal((await call('GET', location)).status, 404);
      // A monolithic push of wrong bytes is refused too.
      const post = await call('POST', `/v2/conf/app/blobs/uploads/?digest=${digest}`, {
        body: corrupted,
        headers: octet,
      });
      assert.equal(post.status, 400);
      assert.equal((await headBlob('conf/app', digest)).status, 404);
    });

    it('cancels an upload', async () => {
      const start = await call('POST', '/v2/conf/app/blobs/uploads/');
      const location = start.headers.get('location') as string;
      const del = await call('DELETE', location);
      assert.equal(del.status, 204);
      const gone = await call('GET', location);
      assert.equal(gone.status, 404);
      assert.equal(codeOf(gone), 'BLOB_UPLOAD_UNKNOWN');
    });

    it('mounts across repositories: 201 from a holder, 202 upload otherwise', async () => {
      const bytes = randomBytes(1024);
      const digest = await pushBlob('conf/source', bytes);
      const missing = await call(
        'POST',
        `/v2/conf/target/blobs/uploads/?mount=${sha256(randomBytes(4))}&from=conf/source`,
      );
      assert.equal(missing.status, 202);
      assert.ok(missing.headers.get('location'));
      const wrongFrom = await call(
        'POST',
        `/v2/conf/target/blobs/uploads/?mount=${digest}&from=conf/nothing`,
      );
      assert.equal(wrongFrom.status, 202);
      assert.equal((await headBlob('conf/target', digest)).status, 404);
      const mounted = await call(
        'POST',
        `/v2/conf/target/blobs/uploads/?mount=${digest}&from=conf/source`,
      );
      assert.equal(mounted.status, 201);
      assert.equal(mounted.headers.get('location'), `/v2/conf/target/blobs/${digest}`);
      assert.ok((await call('GET', `/v2/conf/target/blobs/${digest}`)).body.equals(bytes));
      const anonymous = await call('POST', `/v2/conf/third/blobs/uploads/?mount=${digest}`);
      assert.equal(anonymous.status, 201);
    });

    it('serves ranges of pushed blobs', async () => {
      const bytes = randomBytes(2048);
      const digest = await pushBlob('conf/app', bytes);
      const range = await call('GET', `/v2/conf/app/blobs/${digest}`, {
        headers: { Range: 'bytes=500-1499' },
      });
      assert.equal(range.status, 206);
      assert.equal(range.headers.get('content-range'), 'bytes 500-1499/2048');
      assert.ok(range.body.equals(bytes.subarray(500, 1500)));
      const tail = await call('GET', `/v2/conf/app/blobs/${digest}`, {
        headers: { Range: 'bytes=-500' },
      });
      assert.ok(tail.body.equals(bytes.subarray(1548)));
      const bad = await call('GET', `/v2/conf/app/blobs/${digest}`, {
        headers: { Range: 'bytes=5000-10000' },
      });
      assert.equal(bad.status, 416);
    });

    it('takes sha512 blobs', async () => {
      const bytes = randomBytes(4096);
      const digest = sha512(bytes);
      const start = await call('POST', '/v2/conf/app/blobs/uploads/?digest-algorithm=sha512');
      const location = start.headers.get('location') as string;
      await call('PATCH', location, {
        body: bytes.subarray(0, 1000),
        headers: { ...octet, 'Content-Range': '0-999' },
      });
      const put = await call('PUT', `${location}?digest=${digest}`, {
        body: bytes.subarray(1000),
        headers: { ...octet, 'Content-Range': `1000-${bytes.length - 1}` },
      });
      assert.equal(put.status, 201, put.body.toString());
      assert.equal(put.headers.get('docker-content-digest'), digest);
      const got = await call('GET', `/v2/conf/app/blobs/${digest}`);
      assert.equal(got.headers.get('docker-content-digest'), digest);
      assert.ok(got.body.equals(bytes));
    });

    it('leaves one verified blob when ten clients push the same blob at once', async () => {
      const bytes = randomBytes(1_500_000);
      const digest = sha256(bytes);
      const answers = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const repo = `conf/concurrent${i}`;
          const start = await call('POST', `/v2/${repo}/blobs/uploads/`);
          let location = start.headers.get('location') as string;
          for (let at = 0; at < bytes.length; at += 400_000) {
            const end = Math.min(bytes.length, at + 400_000) - 1;
            const patch = await call('PATCH', location, {
              body: bytes.subarray(at, end + 1),
              headers: { ...octet, 'Content-Range': `${at}-${end}` },
            });
            assert.equal(patch.status, 202);
            location = patch.headers.get('location') as string;
          }
          return call('PUT', `${location}?digest=${digest}`);
        }),
      );
      for (const a of answers) assert.equal(a.status, 201, a.body.toString());
      for (let i = 0; i < 10; i++) {
        const got = await call('GET', `/v2/conf/concurrent${i}/blobs/${digest}`);
        assert.equal(sha256(got.body), digest);
      }
    });

    describe('manifests', () => {
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          rootfs: { type: 'layers', diff_ids: [] },
        }),
      );
      const layer = randomBytes(10_000);
      const manifestOf = (extra: Record<string, unknown> = {}) =>
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.ociManifest,
            config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
            layers: [
              { mediaType: MediaType.ociLayerGzip, digest: sha256(layer), size: layer.length },
            ],
            ...extra,
          }),
        );
      const putManifest = (
        repo: string,
        ref: string,
        bytes: Buffer,
        type: string = MediaType.ociManifest,
      ) =>
        call('PUT', `/v2/${repo}/manifests/${ref}`, {
          body: bytes,
          headers: { 'Content-Type': type },
        });

      it('refuses a manifest whose blobs the repository lacks', async () => {
        const res = await putManifest('conf/img', 'v1', manifestOf());
        assert.equal(res.status, 400);
        assert.equal(codeOf(res), 'MANIFEST_BLOB_UNKNOWN');
        // Blobs that are in another repository do not count.
        await pushBlob('conf/elsewhere', config);
        await pushBlob('conf/elsewhere', layer);
        assert.equal(
          codeOf(await putManifest('conf/img', 'v1', manifestOf())),
          'MANIFEST_BLOB_UNKNOWN',
        );
      });

      it('stores by tag and by digest, checks the media type, answers with its digest', async () => {
        await pushBlob('conf/img', config);
        await pushBlob('conf/img', layer);
        const bytes = manifestOf();
        const mismatch = await putManifest('conf/img', 'v1', bytes, MediaType.dockerManifest);
        assert.equal(mismatch.status, 400);
        assert.equal(codeOf(mismatch), 'MANIFEST_INVALID');
        const notJson = await putManifest('conf/img', 'v1', Buffer.from('nope'));
        assert.equal(codeOf(notJson), 'MANIFEST_INVALID');
        const wrongDigest = await putManifest('conf/img', sha256(Buffer.from('other')), bytes);
        assert.equal(wrongDigest.status, 400);
        assert.equal(codeOf(wrongDigest), 'DIGEST_INVALID');
        const put = await putManifest('conf/img', 'v1', bytes);
        assert.equal(put.status, 201, put.body.toString());
        assert.equal(put.headers.get('docker-content-digest'), sha256(bytes));
        assert.equal(put.headers.get('location'), `/v2/conf/img/manifests/${sha256(bytes)}`);
        for (const ref of ['v1', sha256(bytes)]) {
          const got = await call('GET', `/v2/conf/img/manifests/${ref}`);
          assert.equal(got.status, 200);
          assert.equal(got.headers.get('content-type'), MediaType.ociManifest);
          assert.ok(got.body.equals(bytes), 'exact bytes');
        }
        const byDigest = await call(
          'PUT',
          `/v2/conf/img/manifests/${sha256(bytes)}?tag=a&tag=b&tag=c`,
          { body: bytes, headers: { 'Content-Type': MediaType.ociManifest } },
        );
        assert.equal(byDigest.status, 201);
        assert.equal(byDigest.headers.get('oci-tag'), 'a, b, c');
        const tags = JSON.parse((await call('GET', '/v2/conf/img/tags/list')).body.toString());
        assert.deepEqual(tags, { name: 'conf/img', tags: ['a', 'b', 'c', 'v1'] });
        const page = await call('GET', '/v2/conf/img/tags/list?n=2&last=a');
        assert.deepEqual(JSON.parse(page.body.toString()).tags, ['b', 'c']);
        assert.match(page.headers.get('link') ?? '', /last=c&n=2>; rel="next"/);
      });

      it('stores an index after its children, and Docker media types', async () => {
        const docker = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.dockerManifest,
            config: {
              mediaType: MediaType.dockerConfig,
              digest: sha256(config),
              size: config.length,
            },
            layers: [
              { mediaType: MediaType.dockerLayerGzip, digest: sha256(layer), size: layer.length },
            ],
          }),
        );
        const child = manifestOf({ annotations: { n: '1' } });
        const index = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.ociIndex,
            manifests: [
              {
                mediaType: MediaType.ociManifest,
                digest: sha256(child),
                size: child.length,
                platform: { os: 'linux', architecture: 'amd64' },
              },
            ],
          }),
        );
        assert.equal(
          codeOf(await putManifest('conf/img', 'multi', index, MediaType.ociIndex)),
          'MANIFEST_BLOB_UNKNOWN',
        );
        assert.equal((await putManifest('conf/img', sha256(child), child)).status, 201);
        assert.equal(
          (await putManifest('conf/img', 'multi', index, MediaType.ociIndex)).status,
          201,
        );
        assert.equal(
          (await putManifest('conf/img', 'docker', docker, MediaType.dockerManifest)).status,
          201,
        );
        const got = await call('GET', '/v2/conf/img/manifests/docker');
        assert.equal(got.headers.get('content-type'), MediaType.dockerManifest);
        assert.ok(got.body.equals(docker));
      });

      it('records subjects: OCI-Subject, the referrers API with its filter', async () => {
        const subject = manifestOf();
        const empty = Buffer.from('{}');
        await pushBlob('conf/img', empty);
        const referrer = (artifactType: string) =>
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaType.ociManifest,
              artifactType,
              config: { mediaType: MediaType.ociEmpty, digest: sha256(empty), size: 2 },
              layers: [{ mediaType: MediaType.ociEmpty, digest: sha256(empty), size: 2 }],
              subject: {
                mediaType: MediaType.ociManifest,
                digest: sha256(subject),
                size: subject.length,
              },
              annotations: { 'org.example': artifactType },
            }),
          );
        const sig = referrer('application/vnd.example.sig');
        const sbom = referrer('application/spdx+json');
        for (const r of [sig, sbom]) {
          const put = await putManifest('conf/img', sha256(r), r);
          assert.equal(put.status, 201);
          assert.equal(put.headers.get('oci-subject'), sha256(subject));
        }
        const all = await call('GET', `/v2/conf/img/referrers/${sha256(subject)}`);
        const listed = JSON.parse(all.body.toString()).manifests as Array<Record<string, unknown>>;
        assert.deepEqual(listed.map((d) => d.digest).sort(), [sha256(sig), sha256(sbom)].sort());
        const one = listed.find((d) => d.digest === sha256(sbom));
        assert.deepEqual(one, {
          mediaType: MediaType.ociManifest,
          digest: sha256(sbom),
          size: sbom.length,
          artifactType: 'application/spdx+json',
          annotations: { 'org.example': 'application/spdx+json' },
        });
        const filtered = await call(
          'GET',
          `/v2/conf/img/referrers/${sha256(subject)}?artifactType=application/spdx%2Bjson`,
        );
        assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
        assert.deepEqual(
          JSON.parse(filtered.body.toString()).manifests.map((d: { digest: string }) => d.digest),
          [sha256(sbom)],
        );
      });

      it('accepts a manifest near 4 MiB and refuses a larger one with 413', async () => {
        const annotations: Record<string, string> = {};
        for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = 'A'.repeat(10_000);
        const large = manifestOf({ annotations });
        assert.equal((await putManifest('conf/img', 'large', large)).status, 201);
        annotations.more = 'A'.repeat(400_000);
        const tooLarge = await putManifest('conf/img', 'larger', manifestOf({ annotations }));
        assert.equal(tooLarge.status, 413);
      });

      it('deletes tags, manifests and blobs', async () => {
        const bytes = manifestOf();
        const digest = sha256(bytes);
        assert.equal((await call('DELETE', '/v2/conf/img/manifests/a')).status, 202);
        assert.equal((await call('HEAD', '/v2/conf/img/manifests/a')).status, 404);
        assert.equal(
          (await call('HEAD', `/v2/conf/img/manifests/${digest}`)).status,
          200,
          'kept by digest',
        );
        assert.equal((await call('DELETE', `/v2/conf/img/manifests/${digest}`)).status, 202);
        assert.equal((await call('HEAD', `/v2/conf/img/manifests/${digest}`)).status, 404);
        assert.equal(
          (await call('HEAD', '/v2/conf/img/manifests/v1')).status,
          404,
          'its tags went too',
        );
        assert.equal((await call('DELETE', `/v2/conf/img/manifests/${digest}`)).status, 404);
        // A layer that tagged images still use cannot go; an unused blob can.
        const used = await call('DELETE', `/v2/conf/img/blobs/${sha256(layer)}`);
        assert.equal(used.status, 409);
        assert.equal((await headBlob('conf/img', sha256(layer))).status, 200);
        const unused = await pushBlob('conf/img', randomBytes(300));
        assert.equal((await call('DELETE', `/v2/conf/img/blobs/${unused}`)).status, 202);
        assert.equal((await headBlob('conf/img', unused)).status, 404);
        const again = await call('DELETE', `/v2/conf/img/blobs/${unused}`);
        assert.equal(again.status, 404);
        assert.equal(codeOf(again), 'BLOB_UNKNOWN');
      });
    });

    it('lists pushed repositories in the catalog', async () => {
      const catalog = JSON.parse((await call('GET', '/v2/_catalog')).body.toString());
      for (const repo of ['conf/app', 'conf/img', 'conf/source', 'conf/target']) {
        assert.ok(catalog.repositories.includes(repo), repo);
      }
    });

    it("refuses pushes to the names of other registries' images in the store", async () => {
      const res = await call('POST', '/v2/docker.io/library/alpine/blobs/uploads/');
      assert.equal(res.status, 403);
      assert.equal(codeOf(res), 'DENIED');
    });

    it('refuses writes with 405 when read-only', async () => {
      const ro = await startRegistryServer({ ...backend.storage(), readOnly: true });
      try {
        const res = await fetch(`${ro.url}/v2/conf/app/blobs/uploads/`, { method: 'POST' });
        assert.equal(res.status, 405);
        assert.equal(res.headers.get('allow'), 'GET, HEAD');
        const tags = await fetch(`${ro.url}/v2/conf/img/tags/list`);
        assert.equal(tags.status, 200);
      } finally {
        await ro.close();
      }
    });

    it('collects garbage online without touching fresh pushes', async () => {
      const lines: string[] = [];
      const gcServer = await startRegistryServer({
        ...backend.storage(),
        gcIntervalMs: 30,
        log: (l) => lines.push(l),
      });
      try {
        const bytes = randomBytes(4000);
        const start = await fetch(
          `${gcServer.url}/v2/conf/online/blobs/uploads/?digest=${sha256(bytes)}`,
          {
            method: 'POST',
            body: bytes,
          },
        );
        assert.equal(start.status, 201);
        while (lines.filter((l) => l.startsWith('gc: ')).length < 2) {
          const failed = lines.find((l) => l.startsWith('gc failed'));
          assert.equal(failed, undefined, 'online collection runs without errors');
          await new Promise((r) => setTimeout(r, 20));
        }
        const head = await fetch(`${gcServer.url}/v2/conf/online/blobs/${sha256(bytes)}`, {
          method: 'HEAD',
        });
        assert.equal(head.status, 200, 'within the grace period');
      } finally {
        await gcServer.close();
      }
    });

    it('continues a chunked upload across two servers on one storage, and serves it from either', async () => {
      const other = await startRegistryServer(backend.storage());
      try {
        const bytes = randomBytes(5 * 300_000);
        const digest = sha256(bytes);
        const start = await call('POST', '/v2/conf/shared/blobs/uploads/');
        let location = start.headers.get('location') as string;
        for (let i = 0, at = 0; at < bytes.length; i++, at += 300_000) {
          const base = i % 2 === 0 ? server.url : other.url;
          const res = await fetch(new URL(location, base), {
            method: 'PATCH',
            body: bytes.subarray(at, at + 300_000),
            headers: { ...octet, 'Content-Range': `${at}-${at + 299_999}` },
          });
          assert.equal(res.status, 202, `chunk ${i} on ${base}`);
          location = res.headers.get('location') as string;
        }
        const put = await fetch(new URL(`${location}?digest=${digest}`, other.url), {
          method: 'PUT',
        });
        assert.equal(put.status, 201);
        for (const base of [server.url, other.url]) {
          const got = await fetch(`${base}/v2/conf/shared/blobs/${digest}`);
          assert.equal(sha256(Buffer.from(await got.arrayBuffer())), digest);
        }
      } finally {
        await other.close();
      }
    });
  });
}
