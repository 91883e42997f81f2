import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, PathNotFoundError } from '../../../src/errors/index.js';
import { ImageFilesystem } from '../../../src/fs/index.js';
import { build, dir, file, hardlink, opaque, paths, symlink, whiteout } from './entries.js';

describe('ImageFilesystem layer merging', () => {
  it('a whiteout deletes a file', async () => {
    const fs = await build([[file('a/b', 5), file('a/c', 1)], [whiteout('a/b')]]);
    assert.throws(() => fs.stat('/a/b'), PathNotFoundError);
    assert.deepEqual(paths(fs), ['/a/', '/a/c']);
  });

  it('a whiteout deletes a directory with its subtree', async () => {
    const fs = await build([
      [dir('d'), file('d/x', 3), dir('d/sub'), file('d/sub/y', 4), file('keep')],
      [whiteout('d')],
    ]);
    assert.deepEqual(paths(fs), ['/keep']);
    assert.throws(() => fs.stat('/d/sub/y'), PathNotFoundError);
  });

  it('an opaque marker before its siblings hides lower content, keeps the layer’s own', async () => {
    const fs = await build([
      [file('d/old'), file('d/sub/deep'), file('other')],
      [opaque('d'), file('d/new'), file('d/sub/fresh')],
    ]);
    assert.deepEqual(paths(fs), ['/d/', '/d/new', '/d/sub/', '/d/sub/fresh', '/other']);
  });

  it('an opaque marker after its siblings gives the same result', async () => {
    const fs = await build([
      [file('d/old'), file('d/sub/deep'), file('other')],
      [file('d/new'), file('d/sub/fresh'), opaque('d')],
    ]);
    assert.deepEqual(paths(fs), ['/d/', '/d/new', '/d/sub/', '/d/sub/fresh', '/other']);
    // As umoci: the marker's walk keeps what this layer wrote through, so the lower d/sub
    // stays as layer 0 left it (implied there), emptied of layer 0's files.
    assert.equal(fs.stat('/d/sub').layer, 0);
    assert.equal(fs.stat('/d/sub').implied, true);
  });

  it('opaque handling does not depend on entry order within the layer', async () => {
    const lower = [file('d/old'), dir('d/sub', { mode: 0o700 }), file('d/sub/deep')];
    const upper = [opaque('d'), dir('d/sub', { mode: 0o750 }), file('d/sub/n', 2), file('d/top')];
    const permutations = (xs: typeof upper): (typeof upper)[] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x, i) =>
            permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]),
          );
    const results = new Set<string>();
    for (const order of permutations(upper)) {
      const fs = await build([lower, order]);
      results.add(JSON.stringify([paths(fs), fs.stat('/d/sub').mode]));
    }
    assert.deepEqual(
      [...results],
      [JSON.stringify([['/d/', '/d/sub/', '/d/sub/n', '/d/top'], 0o750])],
    );
  });

  it('a whiteout in the same layer as the path does not delete it', async () => {
    const before = await build([[file('x', 1)], [whiteout('x'), file('x', 2)]]);
    const after = await build([[file('x', 1)], [file('x', 2), whiteout('x')]]);
    assert.equal(before.stat('/x').size, 2);
    assert.equal(after.stat('/x').size, 2);
  });

  it('a later layer re-creates a deleted path', async () => {
    const fs = await build([[file('a', 1)], [whiteout('a')], [file('a', 9)]]);
    const a = fs.stat('/a');
    assert.equal(a.size, 9);
    assert.equal(a.layer, 2);
    assert.equal(a.layerDigest, `sha256:${'0'.repeat(63)}2`);
  });

  it('a file over a directory replaces the whole subtree', async () => {
    const fs = await build([[file('x/y/z', 3)], [file('x', 4)]]);
    assert.equal(fs.stat('/x').type, 'file');
    assert.throws(() => fs.stat('/x/y/z'), /not a directory/);
    assert.deepEqual(paths(fs), ['/x']);
  });

  it('a directory over a file replaces the file, and entries then go into it', async () => {
    const fs = await build([[file('x', 4)], [dir('x'), file('x/y', 1)]]);
    assert.equal(fs.stat('/x').type, 'dir');
    assert.deepEqual(
      fs.list('/x').map((e) => e.path),
      ['/x/y'],
    );
  });

  it('a parent that is a file refuses the entry (umoci and containerd stop there)', async () => {
    const fs = await build([[file('x', 4)], [file('x/y', 1), file('z', 2)]]);
    assert.equal(fs.stat('/x').type, 'file');
    assert.equal(fs.stat('/x').size, 4);
    assert.equal(fs.stat('/z').size, 2, 'later entries still apply');
    assert.deepEqual(fs.warnings(), [
      'layer 1: x/y: parent directory: /x is not a directory; entry skipped',
    ]);
  });

  it('a symlinked parent is followed: lib/b over lib -> usr/lib lands in /usr/lib', async () => {
    const fs = await build([[symlink('lib', 'usr/lib'), file('usr/lib/a')], [file('lib/b', 3)]]);
    assert.equal(fs.lstat('/lib').type, 'symlink');
    assert.deepEqual(
      fs.list('/usr/lib').map((e) => [e.path, e.layer]),
      [
        ['/usr/lib/a', 0],
        ['/usr/lib/b', 1],
      ],
    );
    assert.equal(fs.stat('/lib/b').path, '/usr/lib/b');
    assert.deepEqual(fs.warnings(), []);
  });

  it('a directory entry over a symlink replaces the link (no --keep-dirlinks)', async () => {
    const fs = await build([
      [dir('real'), file('real/a'), symlink('link', 'real')],
      [dir('link', { mode: 0o750 })],
    ]);
    assert.equal(fs.lstat('/link').type, 'dir');
    assert.equal(fs.lstat('/link').mode, 0o750);
    assert.deepEqual(fs.list('/link'), []);
    assert.deepEqual(
      fs.list('/real').map((e) => e.path),
      ['/real/a'],
    );
  });

  it('implies parent directories no entry describes', async () => {
    const fs = await build([[file('usr/bin/ls', 10)]]);
    const usr = fs.stat('/usr');
    assert.equal(usr.type, 'dir');
    assert.equal(usr.mode, 0o755);
    assert.equal(usr.implied, true);
    assert.equal(usr.dataOffset, -1);
    assert.equal(fs.stat('/usr/bin/ls').implied, undefined);
  });

  it('a directory entry over a directory updates metadata and keeps children', async () => {
    const fs = await build([
      [dir('etc', { mode: 0o755 }), file('etc/passwd', 7)],
      [dir('etc', { mode: 0o700, uid: 5, gid: 6, mtime: 42 })],
    ]);
    const etc = fs.stat('/etc');
    assert.deepEqual([etc.mode, etc.uid, etc.gid, etc.mtime, etc.layer], [0o700, 5, 6, 42, 1]);
    assert.equal(fs.stat('/etc/passwd').layer, 0);
  });

  it('keeps root metadata from a ./ entry and confines .. in entry paths', async () => {
    const fs = await build([
      [dir('', { mode: 0o700 }), file('../../escape', 1), file('a/../b', 2)],
    ]);
    assert.equal(fs.stat('/').mode, 0o700);
    assert.deepEqual(paths(fs), ['/b', '/escape']);
  });

  it('hardlinks across layers keep their target path and read the content linked', async () => {
    const fs = await build([
      [file('bin/busybox', 100)],
      [hardlink('bin/sh', 'bin/busybox')],
      [file('bin/busybox', 200)],
    ]);
    const link = fs.lstat('/bin/sh');
    assert.equal(link.type, 'hardlink');
    assert.equal(link.linkname, '/bin/busybox');
    const content = fs.stat('/bin/sh');
    assert.equal(content.type, 'file');
    assert.equal(content.size, 100, 'the inode linked, not the later overwrite');
    assert.equal(content.layer, 0);
    assert.equal(fs.stat('/bin/busybox').size, 200);
  });

  it('a hardlink to a missing target is refused and listed', async () => {
    const fs = await build([[hardlink('bin/sh', 'bin/nothing'), file('bin/ok')]]);
    assert.throws(() => fs.lstat('/bin/sh'), PathNotFoundError);
    assert.equal(fs.stat('/bin/ok').type, 'file');
    assert.deepEqual(fs.warnings(), [
      'layer 0: bin/sh: hardlink target bin/nothing does not exist; entry skipped',
    ]);
  });

  it('applyLayerBatches builds what applyLayer builds, batch boundaries anywhere', async () => {
    const layers = [
      [dir('etc'), file('etc/a', 1), file('etc/b', 2), symlink('lib', 'usr/lib'), file('x/y/z', 3)],
      [whiteout('etc/a'), opaque('x'), file('x/new', 4), hardlink('etc/h', 'etc/b'), dir('x/y')],
    ];
    const whole = await build(layers);
    for (const size of [1, 2, 3, 100]) {
      const fs = new ImageFilesystem();
      for (let i = 0; i < layers.length; i++) {
        const entries = layers[i]!;
        async function* batches() {
          for (let j = 0; j < entries.length; j += size) yield entries.slice(j, j + size);
        }
        const stats = await fs.applyLayerBatches(batches(), i, `sha256:${'0'.repeat(63)}${i}`);
        assert.deepEqual(stats, whole.layerStats()[i], `stats of layer ${i} in batches of ${size}`);
      }
      assert.deepEqual([...fs.walk('/')], [...whole.walk('/')], `batches of ${size}`);
    }
  });

  it('refuses layers out of order', async () => {
    const fs = new ImageFilesystem();
    await assert.rejects(fs.applyLayer([], 1, 'sha256:x'), InvalidArgumentError);
  });

  it('accepts readTar records and async iterables, and honours the signal', async () => {
    const fs = new ImageFilesystem();
    async function* records() {
      yield { entry: file('a', 1), readBody: async function* () {} };
    }
    await fs.applyLayer(records(), 0, 'sha256:a');
    assert.equal(fs.stat('/a').size, 1);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(fs.applyLayer([file('b')], 1, 'sha256:b', { signal: ac.signal }), {
      name: 'AbortError',
    });
  });
});
