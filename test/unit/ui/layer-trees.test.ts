import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildFilesystem, scanLayer } from '../../../src/image/index.js';
import { openPlaceImage } from '../../../src/places/index.js';
import type { TarEntry } from '../../../src/tar/index.js';
import { LayerTrees } from '../../../src/ui/tui/layer-trees.js';
import { LayoutWriter, randomImage } from '../../harness/index.js';
import { allNodes } from './tui-fixture.js';

describe('browse: layer trees', () => {
  let dir: string;
  let entries: TarEntry[][];
  let trees: () => LayerTrees;
  let reads: number[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-layer-trees-'));
    const w = new LayoutWriter(join(dir, 'img'));
    await randomImage(w, {
      refName: 'v1',
      layerEntries: [
        [
          { path: 'a/', type: 'dir' },
          { path: 'a/x', content: 'x' },
          { path: 'a/sub/', type: 'dir' },
          { path: 'a/sub/y', content: 'yy' },
          { path: 'keep', content: 'k' },
        ],
        // The directory a becomes a file: its old content is gone.
        [{ path: '.wh.a' }, { path: 'a', content: 'now a file' }],
      ],
    });
    await w.finish();
    const image = await openPlaceImage(`oci:${dir}/img:v1`);
    try {
      const built = await buildFilesystem(image);
      entries = [];
      for (const layer of image.layers) entries.push((await scanLayer(layer)).entries);
      const digests = image.layers.map((l) => l.descriptor.digest);
      trees = () => {
        reads = [0, 0];
        return new LayerTrees(
          entries.map((e, i) => ({
            digest: digests[i]!,
            // Read when a view is built, as the CLI reads them from the listing cache.
            entries: async () => {
              reads[i]!++;
              return e;
            },
          })),
          built.fs,
        );
      };
    } finally {
      await image.close();
    }
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a directory replaced by a file: the file modified, the directory and its content deleted', async () => {
    const t = trees();
    const own = allNodes(await t.tree(1, 'layer')).map(
      (n) => `${n.change ?? '-'} ${n.type} ${n.path} ${n.size}`,
    );
    assert.deepEqual(own, [
      'modified file /a 10',
      'deleted dir /a 3',
      'deleted dir /a/sub 2',
      'deleted file /a/sub/y 2',
      'deleted file /a/x 1',
    ]);
    const merged = allNodes(await t.tree(1, 'aggregated')).map(
      (n) => `${n.change ?? '-'} ${n.path}`,
    );
    assert.deepEqual(merged, ['modified /a', '- /keep']);
    const base = allNodes(await t.tree(0, 'aggregated')).map(
      (n) => `${n.change ?? '-'} ${n.path} ${n.size}`,
    );
    assert.deepEqual(base, [
      'added /a 3',
      'added /a/sub 2',
      'added /a/sub/y 2',
      'added /a/x 1',
      'added /keep 1',
    ]);
  });

  it('reads a layer’s entries only to build a view below the top, and keeps none of them', async () => {
    const t = trees();
    await t.tree(1, 'aggregated');
    // The top tree is the view given; its changes need the view through layer 0.
    assert.deepEqual(reads, [1, 0]);
    await t.tree(0, 'aggregated');
    await t.tree(0, 'layer');
    await t.tree(1, 'layer');
    assert.deepEqual(reads, [1, 0], 'the merged tree through layer 0 is kept, not its view');
  });
});
