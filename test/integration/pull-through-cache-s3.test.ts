// The pull-through cache with S3 as its persistent tier (`ocipeek serve --upstream ...
// --storage s3://BUCKET/PREFIX`): a real Ceph RADOS Gateway (test/harness/ceph-s3.ts), a
// Debian docker-registry upstream behind a counting proxy, skopeo and ocipeek pulling
// through it, and a restart in between: what the cache fetched once is served from S3.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Storage } from '../../src/server/storage/s3/s3-storage.js';
import { type RunningS3, startCephS3 } from '../harness/ceph-s3.js';
import {
  type BuiltImage,
  type FaultProxy,
  LayoutWriter,
  pullFromHost,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { type ServeProcess, startServe } from '../harness/serve-process.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('pull-through cache on S3', () => {
  let s3: RunningS3;
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let image: BuiltImage;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess | undefined;
  const bucketUrl = () => `s3://${s3.bucket}/cache`;
  const startCache = async () => {
    server = await startServe(bucketUrl(), s3.env, ['--upstream', `up=http://${proxy.host}`]);
    return new URL(server.url).host;
  };
  /** Every blob request upstream saw, as `METHOD URL`. */
  const upstreamBlobRequests = () =>
    proxy.log.filter((e) => e.url.includes('/blobs/')).map((e) => `${e.method} ${e.url}`);

  before(async () => {
    dir = await tempDir('pull-through-s3');
    [s3, registry] = await Promise.all([startCephS3(), startRegistry()]);
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    // One layer past the memory tier's 1 MiB objects, so it is read from S3 after a restart.
    image = await randomImage(w, { layers: 2, layerSize: 2_500_000, refName: 'app' });
    await w.finish();
    await pushLayout(layout, 'app', registry, 'team/app:v1');
    proxy = await startFaultProxyFor(registry);
  });

  after(async () => {
    await server?.stop();
    await proxy?.close();
    await registry?.stop();
    await s3?.stop();
    await dir?.remove();
  });

  it('skopeo pulls through it; restarted, it serves ocipeek from S3 with no blob upstream', async () => {
    const objects = [image.configDescriptor, ...image.layers];
    let host = await startCache();
    const out = join(dir.path, 'skopeo-out');
    await pullFromHost(host, 'up/team/app:v1', out, 'v1');
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, image.descriptor.digest);
    for (const d of objects) {
      const bytes = await readFile(join(out, 'blobs', 'sha256', d.digest.slice(7)));
      assert.equal(sha256(bytes), d.digest);
    }
    // Each blob came from upstream once.
    const fetched = proxy.log
      .filter((e) => e.method === 'GET' && e.url.includes('/blobs/'))
      .reduce((n, e) => n + e.bytesSent, 0);
    assert.equal(
      fetched,
      objects.reduce((n, d) => n + d.size, 0),
    );

    // The blobs are in the bucket, verified, under the cache's repository name.
    const bucket = new S3Storage(s3.client(), s3.bucket, 'cache/');
    try {
      for (const d of objects) {
        // Stored once verified, which may finish just after skopeo got its last byte.
        await waitFor(async () => (await bucket.statBlob('up/team/app', d.digest)) === d.size);
      }
    } finally {
      await bucket.close();
    }

    await server?.stop(); // a restart: the memory tier and the spool are gone
    host = await startCache();
    proxy.resetLog();
    const store = join(dir.path, 'ocipeek-store');
    const pulled = await runCli(['pull', `${host}/up/team/app:v1`, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    for (const d of objects) {
      const bytes = await readFile(join(store, 'blobs', 'sha256', d.digest.slice(7)));
      assert.equal(sha256(bytes), d.digest);
    }
    assert.deepEqual(upstreamBlobRequests(), [], 'every blob came from S3');
    // The tag cost one HEAD upstream (when it was confirmed is not kept over a restart).
    assert.deepEqual(
      proxy.log.filter((e) => e.url.includes('/manifests/')).map((e) => e.method),
      ['HEAD'],
    );
    const metrics = await (await fetch(new URL('/metrics', server?.url))).text();
    assert.match(metrics, /ocipeek_cache_requests_total\{kind="blob",result="hit"\} 3/);
    assert.match(metrics, /ocipeek_cache_bytes_saved_total\{tier="storage"\} [1-9]/);
  });

  it('cache ls and evict --storage s3://...: the uses survived the restart, eviction empties the bucket', async () => {
    await server?.stop(); // saves when the tag was last pulled, into the bucket
    server = undefined;
    const env = s3.env;
    const ls = await runCli(['cache', 'ls', '--json', '--storage', bucketUrl()], { env });
    assert.equal(ls.code, 0, ls.stderr);
    const [entry, ...rest] = JSON.parse(ls.out);
    assert.deepEqual(rest, []);
    assert.equal(entry.repository, 'up/team/app');
    assert.equal(entry.tag, 'v1');
    assert.equal(entry.digest, image.descriptor.digest);
    const total =
      image.manifestBytes.length +
      [image.configDescriptor, ...image.layers].reduce((n, d) => n + d.size, 0);
    assert.equal(entry.bytes, total);
    assert.ok(Date.now() - Date.parse(entry.lastUsed) < 600_000, entry.lastUsed);
    const evicted = await runCli(
      ['cache', 'evict', 'up/team/app:v1', '--grace', '0', '--json', '--storage', bucketUrl()],
      { env },
    );
    assert.equal(evicted.code, 0, evicted.stderr);
    const result = JSON.parse(evicted.out);
    assert.equal(result.evicted.length, 1);
    assert.equal(result.bytesFreed, total);
    const bucket = new S3Storage(s3.client(), s3.bucket, 'cache/');
    try {
      for (const d of image.layers) {
        assert.equal(await bucket.statBlob('up/team/app', d.digest), undefined);
      }
    } finally {
      await bucket.close();
    }
    const empty = await runCli(['cache', 'stats', '--json', '--storage', bucketUrl()], { env });
    assert.deepEqual(JSON.parse(empty.out), { repositories: 0, images: 0, objects: 0, bytes: 0 });
  });
});

/** Poll `check` until it holds (the test runner's timeout bounds it). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}
