import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NotFoundError } from '../../src/errors/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { pullImage, Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type FaultProxy,
  type FaultRule,
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

const LAYERS = 6;
const STALL_AFTER = 64 * 1024;

/**
 * A pull is one batch: when one blob fails for good, the downloads in flight are
 * aborted (not left to finish or time out), no other download starts, and the store is
 * left as a later pull can use it.
 */
describe('pull: the first failed blob stops the others', () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let dir: TempDir;
  let image: BuiltImage;

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxyFor(registry);
    dir = await tempDir('pull-first-failure');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    image = await randomImage(w, { layers: LAYERS, layerSize: 512 * 1024, refName: 'v1' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'v1', registry, 'faults/six:v1');
  });
  after(async () => {
    await proxy?.close();
    await registry?.stop();
    await dir?.remove();
  });

  it('the second blob failing aborts the running downloads and leaves the store consistent', async () => {
    // Blob GET 2 is refused for good; every other layer sends 64 KiB and then nothing, so
    // it is still downloading when the refusal lands (the config is smaller: it ends).
    const stalledClosed: Array<Promise<void>> = [];
    let blobGets = 0;
    // The refusal waits until a stalled layer has sent its bytes, so a download is surely
    // under way (and has something in its partial file) when the pull fails.
    const oneStalled = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const stalled = proxy.log.some((e) => e.fault === 'stall' && e.bytesSent === STALL_AFTER);
        if (stalled) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const rule: FaultRule = (ctx, req) => {
      if (!ctx.isBlob || ctx.method !== 'GET') return undefined;
      blobGets++;
      if (blobGets === 2) {
        return {
          ...faults.status(
            404,
            {},
            JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }),
          ),
          after: oneStalled,
        };
      }
      if (ctx.path.endsWith(image.configDescriptor.digest)) return undefined;
      stalledClosed.push(new Promise((resolve) => req.socket.once('close', () => resolve())));
      return faults.stallAfterBytes(STALL_AFTER);
    };
    proxy.resetLog();
    proxy.setRule(rule);
    // A stall is never given up on by itself here: only the pull's abort ends those
    // downloads (without it this test would hang until the runner's timeout).
    const client = new RegistryClient({ bodyTimeoutMs: 30 * 60_000 });
    const storeDir = join(dir.path, 'store');
    const store = await Store.open(storeDir);
    const ref = `${proxy.host}/faults/six:v1`;
    try {
      await assert.rejects(pullImage(ref, { client, store, concurrency: 3 }), (err: unknown) => {
        assert.ok(err instanceof NotFoundError, String(err));
        assert.match((err as Error).message, /blob unknown/);
        return true;
      });
      // Every download in flight was aborted by the pull: its connection is closed.
      await Promise.all(stalledClosed);
      const gets = proxy.log.filter((e) => e.method === 'GET' && e.url.includes('/blobs/'));
      // Three at once; only the config can finish and free a slot before the refusal.
      assert.ok(gets.length <= 4, `${gets.length} blob downloads started, at most 4 expected`);
      assert.ok(gets.length < LAYERS + 1, 'downloads stopped starting after the failure');
      const stalled = gets.filter((e) => e.fault === 'stall');
      assert.ok(stalled.length > 0, 'a layer was downloading when the refusal came');
      for (const e of stalled) assert.ok(!e.completed, 'a stalled download never finished');
    } finally {
      proxy.setRule(undefined);
    }

    // The store: nothing named, nothing broken, no pin or temp file left but what resumes.
    assert.equal(await store.resolve(ref), undefined);
    assert.deepEqual(await store.validate(), []);
    assert.deepEqual(await readdir(store.pinsDir), []);
    const temps = await readdir(store.tmpDir);
    assert.ok(
      temps.every((t) => t.endsWith('.partial')),
      `only resumable .partial files may stay: ${temps.join(', ')}`,
    );

    // A pull without faults completes from there, resuming what the stalled ones wrote.
    proxy.resetLog();
    try {
      const result = await pullImage(ref, { client, store, concurrency: 3 });
      assert.equal(result.digest, image.descriptor.digest);
      assert.equal(result.layersFetched.length + result.layersReused.length, LAYERS);
      assert.deepEqual(await store.validate(), []);
      const resumed = proxy.log.filter((e) => /^bytes=[1-9]\d*-$/.test(e.range ?? ''));
      assert.ok(resumed.length > 0, 'a stalled download was resumed from its partial file');
    } finally {
      await client.close();
    }
  });
});
