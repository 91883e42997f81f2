import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FsEntry } from '../../../src/fs/index.js';
import { buildFilesystem, type DiffSide, diffImages } from '../../../src/image/index.js';
import { openPlaceImage } from '../../../src/places/index.js';
import type { OpenedImage } from '../../../src/source/index.js';
import { viewDiffSide } from '../../../src/ui/web/diff-side.js';
import { LayoutWriter, randomImage, type TempDir, tempDir } from '../../harness/index.js';

const BASE = [{ path: 'base.txt', content: 'shared base\n' }];

describe('diffImages: contents by one rule', () => {
  let dir: TempDir;
  const opened: OpenedImage[] = [];
  /** An image's side as the web explorer makes it, recording what it was asked to read. */
  const side = async (tag: string, asked: string[]): Promise<DiffSide> => {
    const image = await openPlaceImage(`oci:${join(dir.path, 'layout')}:${tag}`);
    opened.push(image);
    const inner = viewDiffSide(image, { fs: (await buildFilesystem(image)).fs }, undefined);
    return {
      fs: inner.fs,
      hashFiles: (entries: FsEntry[], signal?: AbortSignal) => {
        asked.push(...entries.map((e) => `${tag}${e.path}`));
        return inner.hashFiles!(entries, signal);
      },
    };
  };

  before(async () => {
    dir = await tempDir('image-diff');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    const top = (config: string, readme: string) => [
      { path: 'config', content: config },
      { path: 'README', content: readme },
      { path: 'empty', content: '' },
    ];
    await randomImage(w, { refName: 'a', layerEntries: [BASE, top('blue\n', 'same\n')] });
    await randomImage(w, { refName: 'b', layerEntries: [BASE, top('gray\n', 'same\n')] });
    await w.finish();
  });
  after(async () => {
    for (const image of opened) await image.close();
    await dir?.remove();
  });

  it('reads only what the layers cannot decide, and finds a same-size change', async () => {
    const asked: string[] = [];
    const d = await diffImages(await side('a', asked), await side('b', asked));
    assert.deepEqual(
      d.changed.map((c) => [c.path, c.fields]),
      [['/config', ['content']]],
    );
    assert.deepEqual(d.unknownContent, []);
    // base.txt is the same entry of the same blob, empty is empty: neither is read.
    assert.deepEqual(asked.sort(), ['a/README', 'a/config', 'b/README', 'b/config']);
  });

  it('leaves a pair uncompared when a side will not read it', async () => {
    const asked: string[] = [];
    const a = await side('a', asked);
    const d = await diffImages(a, { fs: (await side('b', asked)).fs });
    assert.deepEqual(d.changed, []);
    assert.deepEqual(
      d.unknownContent.map((p) => p.path),
      ['/README', '/config'],
    );
  });
});
