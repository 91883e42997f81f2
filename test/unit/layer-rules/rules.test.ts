import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeName } from '../../../src/tar/index.js';
import { build, dir, file, hardlink, opaque, paths, symlink, whiteout } from '../fs/entries.js';

// Each expectation here is what `umoci raw unpack --rootless` (0.4.7) made of the same
// layers (checked by hand once; the differential test in test/integration checks such
// stacks against umoci on every run).

describe('layer rules (as umoci applies them)', () => {
  it('an entry below a lower symlink goes where the link points', async () => {
    const fs = await build([
      [symlink('lib', 'usr/lib'), file('usr/lib/libc.so', 1)],
      [file('lib/added.so', 2)],
    ]);
    assert.deepEqual(paths(fs), [
      '/lib',
      '/usr/',
      '/usr/lib/',
      '/usr/lib/added.so',
      '/usr/lib/libc.so',
    ]);
  });

  it('a dangling parent symlink: the directories it names are made', async () => {
    const fs = await build([[symlink('l', '/no/where')], [file('l/x', 1)]]);
    assert.deepEqual(paths(fs), ['/l', '/no/', '/no/where/', '/no/where/x']);
    assert.equal(fs.stat('/no').implied, true);
  });

  it('a target through a missing name and .. is lexical: nothing is made for the name', async () => {
    const fs = await build([[dir('d'), symlink('l', 'nope/../d')], [file('l/x', 1)]]);
    assert.deepEqual(paths(fs), ['/d/', '/d/x', '/l']);
  });

  it('a target through a file and .. is lexical too (securejoin)', async () => {
    const fs = await build([[file('f', 1), dir('d'), symlink('l', 'f/../d')], [file('l/x', 2)]]);
    assert.equal(fs.stat('/d/x').size, 2);
    assert.deepEqual(fs.warnings(), []);
  });

  it('a lookup does not step out of a file with .. (the kernel says ENOTDIR)', async () => {
    // Writing goes lexically past the file (securejoin), reading does not (the kernel).
    const fs = await build([
      [file('f', 1), hardlink('c', 'f'), symlink('a', 'c/../d')],
      [file('a/x', 2)],
    ]);
    assert.equal(fs.stat('/d/x').size, 2);
    assert.throws(() => fs.stat('/a/x'), /\/a\/x: not a directory/);
  });

  it('a parent that is a symlink to a file refuses the entry', async () => {
    const fs = await build([[file('f', 1), symlink('l', 'f')], [file('l/x', 2)]]);
    assert.deepEqual(fs.warnings(), [
      'layer 1: l/x: parent directory: /f is not a directory; entry skipped',
    ]);
  });

  it('a whiteout after this layer wrote below: the lower dir stays with its own mode', async () => {
    const fs = await build([
      [dir('d', { mode: 0o700 }), file('d/lower', 1)],
      [file('d/upper', 2), whiteout('d')],
    ]);
    assert.deepEqual(paths(fs), ['/d/', '/d/upper']);
    assert.equal(fs.stat('/d').mode, 0o700);
    assert.equal(fs.stat('/d').layer, 0);
  });

  it('whiteouts and opaque markers resolve their directory through symlinks', async () => {
    const fs = await build([
      [
        symlink('lib', '/usr/lib'),
        file('usr/lib/a', 1),
        file('usr/lib/b', 1),
        file('usr/lib/c', 1),
      ],
      [whiteout('lib/a')],
      [opaque('lib'), file('lib/n', 2)],
    ]);
    assert.deepEqual(paths(fs), ['/lib', '/usr/', '/usr/lib/', '/usr/lib/n']);
  });

  it('an opaque marker in a directory no layer made changes nothing, makes nothing', async () => {
    const fs = await build([[file('a', 1)], [opaque('x')]]);
    assert.deepEqual(paths(fs), ['/a']);
  });

  it('a whiteout removes a symlink itself, never what it points to', async () => {
    const fs = await build([[dir('d'), file('d/x', 1), symlink('l', 'd')], [whiteout('l')]]);
    assert.deepEqual(paths(fs), ['/d/', '/d/x']);
  });

  it('a hardlink to a symlink links the symlink; through a symlinked parent it finds the file', async () => {
    const fs = await build([
      [file('f', 3), symlink('s', 'f'), symlink('lib', 'usr/lib'), file('usr/lib/a', 4)],
      [hardlink('h', 's'), hardlink('g', 'lib/a')],
      [whiteout('usr/lib/a')],
    ]);
    assert.equal(fs.linkContent('/h').type, 'symlink');
    assert.equal(fs.stat('/h').path, '/f');
    assert.equal(fs.stat('/g').size, 4, 'the content stays after its first name is whited out');
    assert.throws(() => fs.stat('/usr/lib/a'));
  });

  it('a hardlink over its own target, or to a directory, is refused', async () => {
    const fs = await build([
      [file('h', 1), file('d/f', 2)],
      [hardlink('h', 'h'), hardlink('d', 'd/f'), hardlink('x', 'd')],
    ]);
    assert.deepEqual(fs.warnings(), [
      'layer 1: h: hardlink target h does not exist; entry skipped',
      'layer 1: d: hardlink target d/f does not exist; entry skipped',
      'layer 1: x: hardlink to directory d; entry skipped',
    ]);
    assert.equal(fs.stat('/h').size, 1);
  });

  it('a file, a directory and a file again at one path within one layer', async () => {
    const fs = await build([[file('a', 1), dir('a'), file('a/b', 2), file('a', 3)]]);
    assert.deepEqual(paths(fs), ['/a']);
    assert.equal(fs.stat('/a').size, 3);
  });

  it('refuses a symlink with an empty target, a non-directory at the root, NUL in a name', async () => {
    const fs = await build([[symlink('l', ''), file('', 1), file('a\0b', 1), file('ok', 1)]]);
    assert.deepEqual(paths(fs), ['/ok']);
    assert.deepEqual(fs.warnings(), [
      'layer 0: l: symlink with an empty target; entry skipped',
      'layer 0: : a file cannot replace the root; entry skipped',
      'layer 0: a\\x00b: name holds a NUL byte; entry skipped',
    ]);
  });

  it('names bytes that are not UTF-8 escaped in what it refuses, and keeps them distinct', async () => {
    const e9 = decodeName(Buffer.from('caf\xe9', 'latin1'));
    const e8 = decodeName(Buffer.from('caf\xe8', 'latin1'));
    const fs = await build([[file(e9, 1), file(e8, 2)], [file(`${e9}/x`, 3)]]);
    assert.deepEqual(paths(fs), [`/${e8}`, `/${e9}`]);
    assert.deepEqual(fs.warnings(), [
      'layer 1: caf\\xe9/x: parent directory: /caf\\xe9 is not a directory; entry skipped',
    ]);
    assert.throws(() => fs.stat(`/${e9}/x`), { message: '/caf\\xe9/x: not a directory' });
  });
});
