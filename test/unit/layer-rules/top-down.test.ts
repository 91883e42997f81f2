import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isOcipeekError } from '../../../src/errors/index.js';
import { ImageFilesystem } from '../../../src/fs/index.js';
import { TopDownSearch } from '../../../src/layer-rules/index.js';
import { scanTarEntries, type TarEntry } from '../../../src/tar/index.js';
import { allPaths, layerStacks, propertyRuns, stackLayerTar } from '../../harness/layer-stacks.js';
import type { LayerEntry } from '../../harness/layers.js';

/** A layer's entries as the tar reader gives them (real tars, real offsets). */
async function entriesOf(layer: LayerEntry[]): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  await scanTarEntries(Readable.from([await stackLayerTar(layer)]), (e) => out.push(e));
  return out;
}

/** What a lookup answered, comparable across trees. */
function answer(
  fn: () =>
    | { node: { type: string; layer: number; headerOffset: number }; path: string }
    | undefined,
) {
  try {
    const r = fn();
    if (r === undefined) return undefined;
    // For `cat`, a directory found only needs to be one: which layer's entry (or implied
    // directory) stands for it may be decided later than that.
    if (r.node.type === 'dir') return `${r.path} dir`;
    return `${r.path} ${r.node.type} layer ${r.node.layer} @${r.node.headerOffset}`;
  } catch (err) {
    if (isOcipeekError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
}

async function check(stack: LayerEntry[][]): Promise<void> {
  const layers = await Promise.all(stack.map(entriesOf));
  const full = new ImageFilesystem({ efficiency: false });
  for (const [i, entries] of layers.entries()) await full.applyLayer(entries, i, `sha256:${i}`);
  const expected = new Map<string, string>();
  const rootOf = (full as unknown as { rules: { root: never } }).rules.root;
  const { lookup } = await import('../../../src/layer-rules/index.js');
  for (const p of allPaths()) {
    for (const follow of [true, false]) {
      expected.set(`${follow} ${p}`, answer(() => lookup(rootOf, p, follow))!);
    }
  }
  const search = new TopDownSearch(layers.length);
  const pending = new Set(expected.keys());
  for (;;) {
    for (const key of pending) {
      const [follow, p] = key.split(' ') as [string, string];
      const got = answer(() => search.lookup(p, follow === 'true'));
      if (got === undefined) continue;
      assert.equal(
        got,
        expected.get(key),
        `${key} decided with layers ${search.nextLayer + 1}.. of ${layers.length}`,
      );
      pending.delete(key);
    }
    if (search.nextLayer < 0) break;
    search.addLayer(layers[search.nextLayer]!);
  }
  assert.deepEqual([...pending], [], 'every lookup is decided once every layer is read');
}

describe('TopDownSearch: reading layers from the top', () => {
  it('the issue case: lib/added.so lands in usr/lib only once the lower symlink is read', async () => {
    const layers = await Promise.all(
      [
        [
          { path: 'lib', type: 'symlink' as const, linkname: 'usr/lib' },
          { path: 'usr/lib/libc.so', content: 'c' },
        ],
        [{ path: 'lib/added.so', content: 'added' }],
      ].map(entriesOf),
    );
    const search = new TopDownSearch(2);
    search.addLayer(layers[1]!);
    assert.equal(search.lookup('/usr/lib/added.so'), undefined, 'usr is unknown above');
    assert.equal(search.lookup('/lib/added.so'), undefined, 'lib is provisional above');
    search.addLayer(layers[0]!);
    const found = search.lookup('/usr/lib/added.so')!;
    assert.equal(found.path, '/usr/lib/added.so');
    assert.equal(found.node.layer, 1);
    assert.equal(search.lookup('/lib/added.so')!.node, found.node);
  });

  it('a top layer that lists its directories decides its own files alone', async () => {
    const top = await entriesOf([
      { path: 'app/', type: 'dir' },
      { path: 'etc/.wh.motd' },
      { path: 'app/node_modules/ramda/', type: 'dir' },
      { path: 'app/node_modules/ramda/.wh..wh..opq' },
      { path: 'app/VERSION', content: '1.0\n' },
      { path: 'app/VERSION.link', type: 'hardlink', linkname: 'app/VERSION' },
      { path: 'usr/local/bin/', type: 'dir' },
      { path: 'usr/local/bin/app', type: 'symlink', linkname: '/app/server.js' },
    ]);
    const search = new TopDownSearch(3);
    search.addLayer(top);
    assert.equal(search.lookup('/app/VERSION')!.node.layer, 2);
    assert.equal(search.lookup('/app/VERSION.link')!.node.type, 'file');
    // Not decided: what the base has in app/, and where the base sends usr/.
    assert.equal(search.lookup('/app/other'), undefined);
    assert.equal(search.lookup('/usr/local/bin/app', false), undefined);
    assert.equal(search.lookup('/etc/motd'), undefined);
  });

  it('an upper entry written through a lower symlink taints its name', async () => {
    // The base's a -> . sends a/b to /b, after b itself: /b is b's second version.
    const layers = await Promise.all(
      [
        [{ path: 'a', type: 'symlink' as const, linkname: '.' }],
        [
          { path: 'b', content: 'first' },
          { path: 'a/b', content: 'second' },
        ],
      ].map(entriesOf),
    );
    const search = new TopDownSearch(2);
    search.addLayer(layers[1]!);
    assert.equal(search.lookup('/b'), undefined);
    search.addLayer(layers[0]!);
    assert.equal(search.lookup('/b')!.node.headerOffset, layers[1]![1]!.headerOffset);
  });

  it('decided answers always equal the full view (random stacks)', async (t) => {
    const params = propertyRuns(150);
    t.diagnostic(`LAYER_RULES_SEED=${params.seed} replays this run`);
    await fc.assert(fc.asyncProperty(layerStacks, check), params);
  });
});
