import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unpackLayers } from '../../../src/unpack/index.js';
import { layerFromBlob, type Sandbox, sandbox, snapshot } from './helpers.js';

/**
 * A layer GNU tar wrote in its posix format with a global PAX header ahead of every entry,
 * one that would change every file's owner and time if applied. Go's archive/tar returns
 * such a header as its own and containers/storage and moby skip it (umoci 0.4.7 refuses the
 * layer: "unknown typeflag '\x67'"): the files are what their own headers say.
 */
describe('unpacking a layer with a global PAX header', () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox();
  });
  after(() => box.remove());

  it("unpacks the files as their own headers say, and no file for the 'g' header", async () => {
    const src = path.join(box.base.path, 'src');
    mkdirSync(path.join(src, 'd'), { recursive: true });
    writeFileSync(path.join(src, 'd', 'a.txt'), 'hello\n');
    writeFileSync(path.join(src, 'b.txt'), 'world\n');
    const tarFile = path.join(box.base.path, 'layer.tar');
    execFileSync('tar', [
      '--format=posix',
      '--pax-option=mtime=1000000000,comment=global',
      '--mtime=@1500000000',
      '--sort=name',
      '-cf',
      tarFile,
      '-C',
      src,
      '.',
    ]);
    const blob = readFileSync(tarFile);
    assert.equal(blob[156], 0x67, 'GNU tar wrote a global header first');
    await unpackLayers([layerFromBlob(0, blob, 'application/vnd.oci.image.layer.v1.tar')], box.dir);
    const snap = snapshot(box.dir, true);
    assert.deepEqual(Object.keys(snap).sort(), ['b.txt', 'd', 'd/a.txt']);
    assert.equal(snap['d/a.txt']?.content, 'hello\n');
    for (const p of ['b.txt', 'd', 'd/a.txt'])
      assert.equal(snap[p]?.mtime, 1500000000, `${p}: its own mtime, not the global one`);
  });
});
