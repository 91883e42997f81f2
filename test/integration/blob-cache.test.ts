import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobCache, RegistryClient } from '../../src/registry/index.js';
import { StoreStorage } from '../../src/server/storage/store-storage.js';
import { Store } from '../../src/store/index.js';
import { readCapped } from '../../src/transport/read-capped.js';
import {
  type FaultProxy,
  faults,
  type RunningRegistry,
  startFaultProxyFor,
  startRegistry,
  tempDir,
  times,
  uploadBlob,
} from '../harness/index.js';

// The library's BlobCache (the pull-through cache's tiers without a server) under a
// RegistryClient, against a real docker-registry: what is fetched once is read from the
// cache after, by other clients and by another cache over the same store.

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('BlobCache under RegistryClient', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let registry: RunningRegistry;
  /** A proxy in front of the registry that slows or corrupts blob answers. */
  let proxy: FaultProxy;
  const repo = () => `${registry.host}/cache/blobs`;
  const small = randomBytes(20_000);
  const large = randomBytes(3 * 1024 * 1024 + 11);
  const blobs = [small, large].map((bytes) => ({ bytes, digest: sha256(bytes) }));

  const readAll = async (client: RegistryClient, bytes: Buffer, digest: string, from = repo()) => {
    const stream = await client.openBlob(from, { digest, size: bytes.length });
    const got = await readCapped(stream, bytes.length, digest);
    assert.ok(got.equals(bytes), `the bytes of ${digest}`);
  };

  before(async () => {
    dir = await tempDir('blob-cache');
    registry = await startRegistry();
    for (const b of blobs) await uploadBlob(registry, 'cache/blobs', b.bytes, b.digest);
    proxy = await startFaultProxyFor(registry);
  });
  after(async () => {
    await proxy?.close();
    await registry?.stop();
    await dir?.remove();
  });

  it('fetches each blob once; later clients, and a cache over the same store, read it locally', async () => {
    const storeDir = join(dir.path, 'store');
    const cache = new BlobCache({
      store: await Store.open(storeDir),
      memory: { maxBytes: 1024 * 1024, maxObjectBytes: 64 * 1024 },
    });
    const first = new RegistryClient({ blobCache: cache });
    const second = new RegistryClient({ blobCache: cache });
    try {
      for (const b of blobs) await readAll(first, b.bytes, b.digest);
      await cache.flush(); // a read ends once verified; the blob is stored just after
      assert.equal(first.stats.bytesFetched, small.length + large.length);
      assert.deepEqual(cache.counts, { memory: 0, persistent: 0, network: 2 });
      for (const b of blobs) await readAll(second, b.bytes, b.digest);
      assert.equal(second.stats.bytesFetched, 0, 'nothing from the registry');
      // The small blob from memory, the large one from the store.
      assert.deepEqual(cache.counts, { memory: 1, persistent: 1, network: 2 });
      // readBlob goes through the cache too.
      assert.ok((await second.readBlob(repo(), blobs[0]!)).equals(small));
      assert.equal(second.stats.bytesFetched, 0);
    } finally {
      await first.close();
      await second.close();
    }
    // Another cache (another process, say) over the same store: persistent hits.
    const again = new BlobCache({ store: await Store.open(storeDir), memory: false });
    const third = new RegistryClient({ blobCache: again });
    try {
      for (const b of blobs) await readAll(third, b.bytes, b.digest);
      assert.equal(third.stats.bytesFetched, 0);
      assert.deepEqual(again.counts, { memory: 0, persistent: 2, network: 0 });
    } finally {
      await third.close();
    }
  });

  it('concurrent reads of an uncached blob share one fetch', async () => {
    const cache = new BlobCache({ store: await Store.open(join(dir.path, 'store-2')) });
    const client = new RegistryClient({ blobCache: cache });
    try {
      const { bytes, digest } = blobs[1]!;
      await Promise.all(Array.from({ length: 6 }, () => readAll(client, bytes, digest)));
      assert.equal(client.stats.bytesFetched, bytes.length, 'one fetch of the blob');
      assert.equal(cache.counts.network, 6, 'each reader got the fetched blob');
    } finally {
      await client.close();
    }
  });

  it('without a persistent tier: small blobs stay in memory, large ones pass through', async () => {
    const cache = new BlobCache({ memory: { maxBytes: 1024 * 1024, maxObjectBytes: 64 * 1024 } });
    const client = new RegistryClient({ blobCache: cache });
    try {
      for (let i = 0; i < 2; i++) for (const b of blobs) await readAll(client, b.bytes, b.digest);
      assert.equal(client.stats.bytesFetched, small.length + 2 * large.length);
      assert.deepEqual(cache.counts, { memory: 1, persistent: 0, network: 3 });
    } finally {
      await client.close();
    }
  });

  it('keeps blobs in a registry storage as its persistent tier', async () => {
    const storage = await StoreStorage.open(join(dir.path, 'storage'));
    const cache = new BlobCache({ storage, memory: false });
    const client = new RegistryClient({ blobCache: cache });
    try {
      for (let i = 0; i < 2; i++) {
        for (const b of blobs) await readAll(client, b.bytes, b.digest);
        await cache.flush();
      }
      assert.equal(client.stats.bytesFetched, small.length + large.length);
      assert.deepEqual(cache.counts, { memory: 0, persistent: 2, network: 2 });
      assert.equal(await storage.statBlob('ocipeek/blob-cache', blobs[1]!.digest), large.length);
    } finally {
      await client.close();
    }
  });

  it('a wrong digest from the registry is an error and nothing enters the cache', async () => {
    const storeDir = join(dir.path, 'store-3');
    const store = await Store.open(storeDir);
    const cache = new BlobCache({ store, memory: false });
    const client = new RegistryClient({ blobCache: cache });
    try {
      const { bytes, digest } = blobs[0]!;
      // Asked for with the wrong size: the registry's bytes do not match what was asked.
      await assert.rejects(async () => {
        const stream = await client.openBlob(repo(), { digest, size: bytes.length - 1 });
        await readCapped(stream, bytes.length, digest);
      });
      assert.equal(await store.hasBlob(digest), undefined, 'nothing stored');
    } finally {
      await client.close();
    }
  });
  it('streams a first fetch: bytes reach the reader as they arrive, a reader joining shares the fetch', async () => {
    const store = await Store.open(join(dir.path, 'store-stream'));
    const cache = new BlobCache({ store, memory: false });
    const client = new RegistryClient({ blobCache: cache });
    const { bytes, digest } = blobs[1]!;
    proxy.resetLog();
    proxy.setRule(times(1, (c) => c.method === 'GET' && c.path.endsWith(digest), faults.slow(50)));
    try {
      const target = { digest, size: bytes.length };
      const first = await client.openBlob(`${proxy.host}/cache/blobs`, target);
      const pieces = first[Symbol.asyncIterator]();
      const head = await pieces.next();
      assert.ok(!head.done && (head.value as Buffer).length > 0);
      // The reader has bytes while upstream is still sending, and nothing is stored yet.
      const sent = proxy.log.find((e) => e.method === 'GET')?.bytesSent ?? 0;
      assert.ok(sent < bytes.length, `upstream had sent ${sent} of ${bytes.length} bytes`);
      assert.equal(await store.hasBlob(digest), undefined);
      // A second reader joins the running fetch from byte 0.
      const second = client.openBlob(`${proxy.host}/cache/blobs`, target);
      // The joiner hands its pieces to a sink (as the server does) that takes each one a
      // little later, as a socket does: a reused buffer must not change under it.
      // Both while the fetch runs, so the joiner waits for bytes with a piece in its sink.
      const rest: Buffer[] = [head.value as Buffer];
      const piped: Buffer[] = [];
      await Promise.all([
        (async () => {
          for (let p = await pieces.next(); !p.done; p = await pieces.next()) rest.push(p.value);
        })(),
        (await second).pipeTo(async (piece) => {
          await new Promise((r) => setTimeout(r, 100));
          piped.push(Buffer.from(piece));
        }),
      ]);
      assert.ok(Buffer.concat(rest).equals(bytes));
      assert.ok(Buffer.concat(piped).equals(bytes), 'the piped bytes');
      assert.equal(proxy.log.filter((e) => e.method === 'GET').length, 1, 'one fetch');
      assert.equal(client.stats.bytesFetched, bytes.length);
      assert.equal(cache.counts.network, 2);
      // Stored once verified (just after the readers got their last bytes, at the latest).
      await cache.flush();
      assert.equal(await store.hasBlob(digest), bytes.length);
      await readAll(client, bytes, digest);
      assert.equal(cache.counts.persistent, 1);
    } finally {
      proxy.setRule(undefined);
      await client.close();
      await cache.close();
    }
  });

  it('cuts every reader of a first fetch that fails its digest, keeps nothing, fetches again after', async () => {
    const store = await Store.open(join(dir.path, 'store-corrupt'));
    const cache = new BlobCache({ store, memory: false });
    const client = new RegistryClient({ blobCache: cache });
    const { bytes, digest } = blobs[1]!;
    proxy.resetLog();
    proxy.setRule(
      times(
        1,
        (c) => c.method === 'GET' && c.path.endsWith(digest),
        faults.corruptByteAt(bytes.length - 10, { chunkDelayMs: 20 }),
      ),
    );
    try {
      const target = { digest, size: bytes.length };
      const first = await client.openBlob(`${proxy.host}/cache/blobs`, target);
      const pieces = first[Symbol.asyncIterator]();
      const head = await pieces.next();
      assert.ok(!head.done, 'the first bytes arrive before the end was checked');
      const second = await client.openBlob(`${proxy.host}/cache/blobs`, target);
      const drain = async () => {
        for (let p = await pieces.next(); !p.done; p = await pieces.next());
      };
      await assert.rejects(drain(), 'an error, never a clean end');
      await assert.rejects(readCapped(second, bytes.length, digest));
      assert.equal(proxy.log.filter((e) => e.method === 'GET').length, 1, 'one shared fetch');
      assert.equal(await store.hasBlob(digest), undefined, 'nothing kept');
      // The next reader starts a fresh fetch, which verifies.
      await readAll(client, bytes, digest, `${proxy.host}/cache/blobs`);
      assert.equal(proxy.log.filter((e) => e.method === 'GET').length, 2);
    } finally {
      proxy.setRule(undefined);
      await client.close();
      await cache.close();
    }
  });
});
