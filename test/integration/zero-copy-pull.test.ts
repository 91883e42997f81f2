import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DigestMismatchError, RegistryClient } from '../../src/index.js';
import { pullImage, Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type FaultProxy,
  faults,
  LayoutWriter,
  match,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  type TempDir,
  tempDir,
  times,
} from '../harness/index.js';

/**
 * Blobs from a plain-HTTP registry reach a sink as views of the connection's few read
 * buffers (no copy per chunk): these tests show that the views really are shared memory,
 * and that the bytes are still exact, resumed and verified on that path.
 */
describe('zero-copy blob transfer from the real registry', () => {
  let dir: TempDir;
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  let img: BuiltImage;
  const clients: RegistryClient[] = [];
  const newClient = () => {
    const c = new RegistryClient();
    clients.push(c);
    return c;
  };
  const layer = () => img.layers[0]!;

  before(async () => {
    dir = await tempDir('zero-copy');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    // Random bytes: the gzip layer is as big as its content, ~6 MB, many socket reads.
    img = await randomImage(w, { layers: 1, layerSize: 6 * 1024 * 1024, refName: 'big' });
    await w.finish();
    registry = await startRegistry();
    await pushLayout(join(dir.path, 'layout'), 'big', registry, 'zc/big:1');
    proxy = await startFaultProxyFor(registry);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await proxy?.close();
    await registry?.stop();
    await dir?.remove();
  });

  /** pipeTo a blob, keeping copies of the pieces and the memory each piece lies in. */
  async function pipeBlob(client: RegistryClient, host: string) {
    const stream = await client.openBlob(`${host}/zc/big`, {
      digest: layer().digest,
      size: layer().size,
    });
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    await stream.pipeTo((piece) => {
      copies.push(Buffer.from(piece));
      memory.add(piece.buffer);
      return undefined;
    });
    return { bytes: Buffer.concat(copies), pieces: copies.length, memory };
  }

  it('hands the blob over as views of a few reused buffers, byte for byte', async () => {
    const client = newClient();
    const { bytes, pieces, memory } = await pipeBlob(client, registry.host);
    assert.ok(bytes.equals(layer().blob), 'the bytes are exactly the blob');
    assert.ok(pieces > 10, `many pieces (${pieces})`);
    // The first read after the head is copied once (nobody was reading yet); every other
    // piece is a view of the connection's one read slab.
    assert.ok(memory.size <= 2, `pieces came from ${memory.size} memory regions`);
    assert.equal(client.stats.bytesFetched, layer().size, 'every body byte counted once');
  });

  it('resumes a dropped connection with Range on the zero-copy path', async () => {
    proxy.resetLog();
    proxy.setRule(times(1, match.blobGet, faults.dropAfterBytes(2_500_000)));
    try {
      const { bytes } = await pipeBlob(newClient(), proxy.host);
      assert.ok(bytes.equals(layer().blob));
    } finally {
      proxy.setRule(undefined);
    }
    const gets = proxy.log.filter((e) => e.method === 'GET' && e.url.includes('/blobs/'));
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.fault, 'drop');
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 2_500_000, `resumed at ${resumedAt}`);
    assert.equal(gets[1]!.bytesSent, layer().size - resumedAt, 'only the rest was fetched');
  });

  it('a pull stores the exact bytes, resuming a dropped layer download', async () => {
    const d = await tempDir('zc-store');
    try {
      const store = await Store.open(join(d.path, 'store'));
      proxy.setRule(times(1, match.blobGet, faults.dropAfterBytes(3_000_000)));
      try {
        await pullImage(`${proxy.host}/zc/big:1`, { client: newClient(), store });
      } finally {
        proxy.setRule(undefined);
      }
      const stored = await readFile(store.blobPath(layer().digest));
      assert.ok(stored.equals(layer().blob), 'the stored file is the blob');
      assert.deepEqual(await readdir(store.tmpDir), []);
      assert.deepEqual(await store.validate(), []);
    } finally {
      await d.remove();
    }
  });

  it('a corrupted byte deep in the blob fails the pull; nothing becomes visible', async () => {
    const d = await tempDir('zc-corrupt');
    try {
      const store = await Store.open(join(d.path, 'store'));
      proxy.setRule((ctx) =>
        match.blobGet(ctx) && ctx.path.endsWith(layer().digest)
          ? faults.corruptByteAt(5_000_000)
          : undefined,
      );
      try {
        await assert.rejects(
          pullImage(`${proxy.host}/zc/big:1`, { client: newClient(), store }),
          (err) => {
            assert.ok(err instanceof DigestMismatchError, String(err));
            assert.match(err.message, new RegExp(layer().digest));
            return true;
          },
        );
      } finally {
        proxy.setRule(undefined);
      }
      assert.equal(await store.hasBlob(layer().digest), undefined);
      assert.deepEqual(await store.refs(), []);
      const leftovers = await readdir(store.tmpDir);
      assert.ok(!leftovers.some((n) => n.includes(layer().digest.slice(7))), leftovers.join());
      assert.deepEqual(await store.validate(), []);
    } finally {
      await d.remove();
    }
  });
});
