import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { MODULE_WITH_TYPE } from '../unit/wasm/wasm-binaries.js';

// Every function reshaped to "subject first, then one options object holding the
// collaborators" is called here through its subpath entry, imported by the package's own
// name from the built dist/ (as an importer would), against a real registry.
type RegistryApi = typeof import('../../src/api/registry.js');
type StoreApi = typeof import('../../src/api/store.js');
type LazyApi = typeof import('../../src/api/lazy.js');
type WasmApi = typeof import('../../src/api/wasm.js');
type CopyApi = typeof import('../../src/api/copy.js');

/** `import('ocipeek/SUBPATH')`; the specifier is built so tsc does not resolve dist/. */
async function entry<T>(subpath: string): Promise<T> {
  return (await import(`ocipeek/${subpath}`)) as T;
}

describe('one call shape through the subpath entries', () => {
  let registry: RunningRegistry;
  let dir: TempDir;
  let app: BuiltImage;
  let reg: RegistryApi;
  let storeApi: StoreApi;
  let lazy: LazyApi;
  let wasm: WasmApi;
  let copy: CopyApi;
  let client: InstanceType<RegistryApi['RegistryClient']>;
  const ref = (repo: string) => `${registry.host}/${repo}`;

  before(async () => {
    [reg, storeApi, lazy, wasm, copy] = await Promise.all([
      entry<RegistryApi>('registry'),
      entry<StoreApi>('store'),
      entry<LazyApi>('lazy'),
      entry<WasmApi>('wasm'),
      entry<CopyApi>('copy'),
    ]);
    registry = await startRegistry();
    dir = await tempDir('call-shape');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    app = await randomImage(w, { layers: 2, layerSize: 4096, refName: 'app' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'app', registry, 'shape/app:1');
    client = new reg.RegistryClient();
  });

  after(async () => {
    await client?.close();
    await registry?.stop();
    await dir?.remove();
  });

  it('ocipeek/store: pullImage(ref, { client, store }) and storeSource(ref, { store })', async () => {
    const store = await storeApi.Store.open(join(dir.path, 'store-pull'));
    const result = await storeApi.pullImage(ref('shape/app:1'), { client, store });
    assert.equal(result.reference, ref('shape/app:1'));
    assert.equal(result.digest, app.descriptor.digest);
    assert.deepEqual(result.layersFetched.sort(), app.layers.map((l) => l.digest).sort());

    const source = storeApi.storeSource(reg.parseReference(ref('shape/app:1')), { store });
    assert.equal(source.kind, 'store');
    assert.equal((await source.resolve()).digest, app.descriptor.digest);
    assert.ok((await source.root()).bytes.equals(app.manifestBytes));
    await source.close();
  });

  it('ocipeek/registry and ocipeek/copy: new RegistrySource(ref, { client }), new RegistryDestination(ref, { client })', async () => {
    const source = new reg.RegistrySource(reg.parseReference(ref('shape/app:1')), { client });
    assert.equal(source.description, `docker://${ref('shape/app:1')}`);
    assert.ok((await source.root()).bytes.equals(app.manifestBytes));
    const destination = new reg.RegistryDestination(reg.parseReference(ref('shape/copied:1')), {
      client,
      chunkSize: 1024,
    });
    const copied = await copy.copyImage(source, destination);
    assert.equal(copied.digest, app.descriptor.digest);
    const head = await client.headManifest(ref('shape/copied:1'));
    assert.equal(head.digest, app.descriptor.digest);
  });

  it('ocipeek/lazy: peekLayer(repo, layer, { client }) and the range sources', async () => {
    const top = app.layers[1]!;
    const paths: string[] = [];
    let complete = false;
    for await (const ev of lazy.peekLayer(ref('shape/app:1'), top, { client, layer: 1 })) {
      if (ev.kind === 'entry') paths.push(ev.entry.path);
      else complete = ev.summary.complete;
    }
    assert.ok(complete);
    assert.deepEqual(
      paths,
      top.entries.map((e) => `/${e.path.replace(/\/$/, '')}`),
    );

    const remote = lazy.registryRangeSource(ref('shape/app:1'), top, { client });
    assert.ok((await remote.read(0, 64)).equals(top.blob.subarray(0, 64)));
    assert.equal(remote.requests, 1);

    const store = await storeApi.Store.open(join(dir.path, 'store-pull'));
    const local = lazy.storeRangeSource(top, { store, description: 'the top layer' });
    assert.ok((await local.read(10, 300)).equals(top.blob.subarray(10, 300)));
    await assert.rejects(local.read(0, top.size + 1), /the top layer/);
  });

  it('ocipeek/wasm: pushWasm(module, ref, { client }), inspectWasm and pullWasm(ref, { client })', async () => {
    const pushed = await wasm.pushWasm(MODULE_WITH_TYPE, ref('shape/wasm:1'), {
      client,
      title: 'lib.wasm',
    });
    const inspection = await wasm.inspectWasm(ref('shape/wasm:1'), { client });
    assert.equal(inspection.type.kind, 'wasm');
    assert.equal(inspection.manifestDigest, pushed.manifestDigest);
    const pulled = await wasm.pullWasm(ref('shape/wasm:1'), { client });
    assert.ok(pulled.bytes.equals(MODULE_WITH_TYPE));
    assert.equal(pulled.info.moduleName, 'lib.wasm');
  });

  it('every reshaped async call takes options.signal', async () => {
    const signal = AbortSignal.abort();
    const store = await storeApi.Store.open(join(dir.path, 'store-aborted'));
    const aborted = { name: 'AbortError' };
    await assert.rejects(
      storeApi.pullImage(ref('shape/app:1'), { client, store, signal }),
      aborted,
    );
    assert.deepEqual(await store.refs(), []);
    await assert.rejects(wasm.inspectWasm(ref('shape/app:1'), { client, signal }), aborted);
    await assert.rejects(wasm.pullWasm(ref('shape/wasm:1'), { client, signal }), aborted);
    await assert.rejects(
      wasm.pushWasm(MODULE_WITH_TYPE, ref('shape/never:1'), { client, signal }),
      aborted,
    );
    await assert.rejects(client.headManifest(ref('shape/never:1')), { code: 'ERR_NOT_FOUND' });
    const events = lazy.peekLayer(ref('shape/app:1'), app.layers[0]!, { client, signal });
    await assert.rejects(events.next(), aborted);
    const range = lazy.registryRangeSource(ref('shape/app:1'), app.layers[0]!, { client });
    await assert.rejects(range.read(0, 10, { signal }), aborted);
  });

  it('the shape before (collaborators first) is refused with a clear error', async () => {
    const store = await storeApi.Store.open(join(dir.path, 'store-old'));
    const old = storeApi.pullImage as unknown as (...args: unknown[]) => Promise<unknown>;
    await assert.rejects(old(client, store, ref('shape/app:1')), {
      code: 'ERR_INVALID_ARGUMENT',
      message: 'pullImage(ref, { client, store }): options.client is required',
    });
    const oldInspect = wasm.inspectWasm as unknown as (...args: unknown[]) => Promise<unknown>;
    await assert.rejects(oldInspect(client, ref('shape/wasm:1')), {
      code: 'ERR_INVALID_ARGUMENT',
      message: 'inspectWasm(ref, { client }): options.client is required',
    });
    const OldSource = reg.RegistrySource as unknown as new (...args: unknown[]) => unknown;
    assert.throws(() => new OldSource(client, reg.parseReference(ref('shape/app:1'))), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});
