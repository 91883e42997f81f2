import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnpackError } from '../../../src/errors/index.js';
import { unpackLayers } from '../../../src/unpack/index.js';
import type { LayerEntry } from '../../harness/layers.js';
import { buildLayers, type Sandbox, sandbox, snapshot } from './helpers.js';

// Enough content that the writer thread gets many batches (1 MiB each) and big files
// arrive in several decompressor chunks (the streaming path), not only whole.
const big = randomBytes(3 * 1024 * 1024 + 17);
const LOWER: LayerEntry[] = [
  { path: 'etc/', type: 'dir' },
  { path: 'etc/hosts', content: '127.0.0.1 localhost\n' },
  { path: 'opt/big.bin', content: big },
  { path: 'opt/exec', content: '#!/bin/sh\n', mode: 0o4755 },
  ...Array.from({ length: 600 }, (_, i) => ({
    path: `lib/mod${i % 7}/file${i}.js`,
    content: `module.exports = ${i};\n`.repeat((i % 13) + 1),
  })),
  { path: 'lib/link', type: 'symlink' as const, linkname: '../etc/hosts' },
  { path: 'lib/hard', type: 'hardlink' as const, linkname: 'opt/exec' },
  { path: 'gone/sub/x', content: 'x' },
  // Paths travel to the writer thread as UTF-8 bytes: multi-byte and odd characters.
  { path: 'i18n/ünïcödé/日本語.txt', content: 'こんにちは\n' },
  { path: 'i18n/emoji-😀/q"uote\\back', content: 'x' },
  { path: 'i18n/ссылка', type: 'symlink' as const, linkname: 'ünïcödé/日本語.txt' },
  { path: 'i18n/жёсткая', type: 'hardlink' as const, linkname: 'i18n/ünïcödé/日本語.txt' },
];
const UPPER: LayerEntry[] = [
  { path: '.wh.gone' },
  { path: 'lib/mod3/.wh..wh..opq' },
  { path: 'lib/mod3/new.js', content: 'new\n' },
  { path: 'etc/hosts', content: '10.0.0.1 replaced\n' },
  { path: 'opt/big.bin', type: 'symlink', linkname: '/etc/hosts' },
];

describe('unpack: the writer thread', () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox();
  });
  after(async () => {
    await box.remove();
  });

  it('writes the same tree as calls made on the calling thread', async () => {
    const layers = await buildLayers([LOWER, UPPER]);
    const threaded = path.join(box.base.path, 'threaded');
    const inline = path.join(box.base.path, 'inline');
    const a = await unpackLayers(layers, threaded, { ownershipFile: false });
    const b = await unpackLayers(layers, inline, { ownershipFile: false, writerThread: false });
    assert.equal(a.files, b.files);
    assert.equal(a.bytes, b.bytes);
    const snapA = snapshot(threaded, true);
    const snapB = snapshot(inline, true);
    // Inode numbers differ between two trees, and so do the times of directories the
    // layers only imply (they get the time they were made); everything else must not.
    const strip = (s: Record<string, { ino: number; type: string; mtime: number }>) =>
      Object.fromEntries(
        Object.entries(s).map(([k, { ino: _ino, mtime, ...rest }]) => [
          k,
          rest.type === 'dir' ? rest : { ...rest, mtime },
        ]),
      );
    assert.deepEqual(strip(snapA), strip(snapB));
    assert.equal(snapA['lib/mod3/new.js']?.type, 'file');
    assert.equal(snapA['lib/mod3/file3.js'], undefined, 'the opaque marker hid mod3');
    assert.equal(snapA.gone, undefined);
    assert.equal(snapA['opt/big.bin']?.type, 'symlink');
    assert.equal(snapA['i18n/ünïcödé/日本語.txt']?.type, 'file');
    assert.equal(snapA['i18n/ссылка']?.type, 'symlink');
    assert.equal(
      readFileSync(path.join(threaded, 'i18n/жёсткая'), 'utf8'),
      'こんにちは\n',
      'the hard link reaches the multi-byte name',
    );
  });

  it('a call the kernel refuses fails the unpack and names the layer', async () => {
    // NAME_MAX is 255: the model accepts the name, the kernel does not (any user, any fs).
    const layers = await buildLayers([
      [{ path: 'ok.txt', content: 'fine' }],
      [{ path: `${'n'.repeat(300)}.txt`, content: 'too long' }],
    ]);
    const dir = path.join(box.base.path, 'refused');
    await assert.rejects(unpackLayers(layers, dir, { ownershipFile: false }), (err) => {
      assert.ok(err instanceof UnpackError, String(err));
      assert.match(err.message, /^unpacking layer 1 \(sha256:[0-9a-f]{64}\) into .* failed: /);
      assert.match(err.message, /ENAMETOOLONG/);
      assert.match(err.message, /\(1 of 2 layers applied\)/);
      return true;
    });
  });
});
