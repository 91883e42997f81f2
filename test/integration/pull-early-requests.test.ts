import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryClient } from '../../src/registry/index.js';
import { pullImage, Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type FaultProxy,
  faults,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';

/** Resolves once `ready()` holds, polled every 5 ms; rejects after `ms`. */
async function waitFor(ready: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The entries of `dir`, none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/**
 * A pull asks for its blobs as soon as it knows them, before its pin, the blob locks and
 * the `.partial` files exist (store/early-blob-requests.ts), and still writes nothing
 * before those: here the store's index lock is held, so the pin waits, while the
 * registry already sees the blob requests.
 */
describe('pull: blob requests go out before the pin, bytes land after it', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let dir: TempDir;
  let image: BuiltImage;
  const ref = () => `${proxy.host}/early/app:v1`;
  const blobGets = () => proxy.log.filter((e) => e.method === 'GET' && e.url.includes('/blobs/'));

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxyFor(registry);
    dir = await tempDir('pull-early');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    image = await randomImage(w, { layers: 2, layerSize: 256 * 1024, refName: 'v1' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'v1', registry, 'early/app:v1');
  });
  after(async () => {
    await proxy?.close();
    await registry?.stop();
    await dir?.remove();
  });

  /** Hold the index lock of `store` until the returned function is called. */
  async function holdIndexLock(store: Store): Promise<() => Promise<void>> {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const done = store.updateIndex(async () => {
      held();
      await gate;
      return false;
    });
    await holding;
    return async () => {
      release();
      await done;
    };
  }

  it('sends every blob GET while the pin waits, and writes nothing until it has it', async () => {
    const store = await Store.open(join(dir.path, 'store-a'));
    await using client = new RegistryClient();
    proxy.resetLog();
    const release = await holdIndexLock(store);
    const pulling = pullImage(ref(), { client, store });
    pulling.catch(() => {}); // awaited below
    const blobs = [image.configDescriptor, ...image.layers];
    try {
      // The old order asked for no blob before the pin: this would time out.
      await waitFor(() => blobGets().length === blobs.length, 10_000, 'the blob requests');
      // Still no pin (the lock is held), so nothing of the image may be in the store.
      assert.deepEqual(await entries(store.pinsDir), []);
      assert.deepEqual(await entries(store.tmpDir), []);
      assert.deepEqual(await entries(join(store.dir, 'blobs', 'sha256')), []);
      assert.deepEqual(
        (await entries(store.locksDir)).filter((n) => n.startsWith('blob-')),
        [],
        'no blob lock is taken before the pin',
      );
    } finally {
      await release();
    }
    const result = await pulling;
    assert.equal(result.digest, image.descriptor.digest);
    assert.deepEqual(result.layersFetched.sort(), image.layers.map((l) => l.digest).sort());
    assert.deepEqual(await store.validate(), []);
    // Each blob asked for once, and its bytes are what the pull counts.
    assert.deepEqual(
      blobGets()
        .map((e) => e.url.split('/').pop())
        .sort(),
      blobs.map((b) => b.digest).sort(),
    );
    const blobBytes = blobs.reduce((n, b) => n + b.size, 0);
    assert.equal(result.bytesFetched, blobBytes + image.manifestBytes.length);
  });

  it('drops the early response of a blob another process stored meanwhile', async () => {
    const store = await Store.open(join(dir.path, 'store-b'));
    await using client = new RegistryClient({ bodyTimeoutMs: 30 * 60_000 });
    const taken = image.layers[1]!;
    // That layer's response sends 16 KiB and then nothing: only closing it ends it.
    let closed: Promise<void> | undefined;
    proxy.setRule((ctx, req) => {
      if (ctx.method !== 'GET' || !ctx.path.endsWith(taken.digest)) return undefined;
      closed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      return faults.stallAfterBytes(16 * 1024);
    });
    proxy.resetLog();
    try {
      const release = await holdIndexLock(store);
      const pulling = pullImage(ref(), { client, store });
      pulling.catch(() => {});
      try {
        await waitFor(() => closed !== undefined, 10_000, "the layer's request");
        // Another writer stores the layer while this pull waits for its pin.
        const other = await store.writeBlob(taken, Readable.from([taken.blob]));
        assert.equal(other.written, true);
      } finally {
        await release();
      }
      const result = await pulling;
      assert.equal(result.digest, image.descriptor.digest);
      assert.deepEqual(result.layersFetched, [image.layers[0]!.digest]);
      assert.deepEqual(result.layersReused, [taken.digest]);
      // Its response was closed (a stalled one never ends by itself), not read on.
      await closed;
      const gets = blobGets().filter((e) => e.url.endsWith(taken.digest));
      assert.equal(gets.length, 1);
      assert.equal(gets[0]!.completed, false);
      // Counted: what the pull stored (the other blobs) and the manifest; the dropped
      // response's bytes are only in the client's transfer stats.
      const stored = image.configDescriptor.size + image.layers[0]!.size;
      assert.equal(result.bytesFetched, stored + image.manifestBytes.length);
      assert.ok(client.stats.bytesFetched >= result.bytesFetched);
      assert.deepEqual(await store.validate(), []);
      assert.deepEqual(await entries(store.tmpDir), []);
    } finally {
      proxy.setRule(undefined);
    }
  });
});
