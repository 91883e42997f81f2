import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage } from '../../../src/copy/index.js';
import { openDestination, openSource } from '../../../src/places/index.js';
import { LayoutWriter, randomImage, type TempDir, tempDir } from '../../harness/index.js';

/** Every blob file of a layout, by name: its inode, mtime and ctime (ns). */
async function blobFiles(dir: string): Promise<Record<string, string>> {
  const folder = join(dir, 'blobs', 'sha256');
  const out: Record<string, string> = {};
  for (const name of await readdir(folder)) {
    const s = await stat(join(folder, name), { bigint: true });
    out[name] = `${s.ino} ${s.mtimeNs} ${s.ctimeNs}`;
  }
  return out;
}

/**
 * A copy into the store (or an `oci:` layout) of blobs it already holds: each is looked
 * up (a stat) before anything is opened, so no blob is read, written, hashed or renamed
 * again; the copy still names the image.
 */
describe('copy into the store of blobs it already has', () => {
  let dir: TempDir;
  let layout: string;
  before(async () => {
    dir = await tempDir('store-destination');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, {
      layerEntries: [[{ path: 'a.txt', content: 'a\n' }], [{ path: 'b.txt', content: 'b\n' }]],
      refName: 'v1',
    });
    await w.finish();
  });
  after(() => dir.remove());

  for (const kind of ['store', 'oci'] as const) {
    it(`${kind}: leaves every blob file as it was, and names the image`, async () => {
      const target = join(dir.path, kind);
      const place = (tag: string) =>
        kind === 'store' ? `store:reg.example/team/app:${tag}` : `oci:${target}:${tag}`;
      const copy = async (tag: string) => {
        const source = await openSource(`oci:${layout}:v1`);
        try {
          return await copyImage(source, await openDestination(place(tag), { storeDir: target }));
        } finally {
          await source.close();
        }
      };
      const first = await copy('1');
      assert.equal(first.blobs.copied, 3);
      const before = await blobFiles(target);
      assert.equal(Object.keys(before).length, 4, 'three blobs and the manifest');
      const again = await copy('2');
      assert.deepEqual(again.blobs, { copied: 0, skipped: 3, mounted: 0 });
      assert.equal(again.digest, first.digest);
      assert.deepEqual(await blobFiles(target), before);
      const index = JSON.parse(await readFile(join(target, 'index.json'), 'utf8'));
      const names = index.manifests.map(
        (d: { annotations?: Record<string, string> }) =>
          d.annotations?.['org.opencontainers.image.ref.name'],
      );
      assert.deepEqual(
        names,
        kind === 'store' ? ['reg.example/team/app:1', 'reg.example/team/app:2'] : ['1', '2'],
      );
    });
  }
});
