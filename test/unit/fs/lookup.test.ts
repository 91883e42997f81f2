import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PathNotFoundError, SymlinkLoopError } from '../../../src/errors/index.js';
import { MAX_SYMLINK_HOPS, toEntryJson } from '../../../src/fs/index.js';
import { build, dir, file, hardlink, symlink, whiteout } from './entries.js';

describe('ImageFilesystem lookups', () => {
  it('follows symlink chains, lstat does not', async () => {
    const fs = await build([
      [file('real/file', 12), symlink('a', 'b'), symlink('b', 'c'), symlink('c', '/real/file')],
    ]);
    const s = fs.stat('/a');
    assert.equal(s.path, '/real/file');
    assert.equal(s.size, 12);
    const l = fs.lstat('/a');
    assert.equal(l.type, 'symlink');
    assert.equal(l.linkname, 'b');
    assert.equal(fs.stat('/a', { follow: false }).type, 'symlink');
  });

  it('follows symlinks in the middle of a path (relative and absolute)', async () => {
    const fs = await build([
      [
        file('usr/lib/x.so', 3),
        symlink('lib', 'usr/lib'),
        symlink('etc/alt', '/usr/lib'),
        dir('etc'),
      ],
    ]);
    assert.equal(fs.resolve('/lib/x.so').path, '/usr/lib/x.so');
    assert.equal(fs.resolve('etc/alt/x.so').path, '/usr/lib/x.so');
    assert.deepEqual(
      fs.list('/lib').map((e) => e.path),
      ['/usr/lib/x.so'],
    );
  });

  it('an absolute symlink target is relative to the image root', async () => {
    const fs = await build([
      [file('usr/share/target', 5), symlink('etc/alternatives/t', '/usr/share/target')],
    ]);
    assert.equal(fs.resolve('/etc/alternatives/t').path, '/usr/share/target');
  });

  it('.. cannot climb above the image root', async () => {
    const fs = await build([
      [file('etc/passwd', 7), symlink('a/b/up', '../../../../../../etc/passwd')],
    ]);
    assert.equal(fs.resolve('/a/b/up').path, '/etc/passwd');
    assert.equal(fs.resolve('/../../../etc/passwd').path, '/etc/passwd');
    assert.equal(fs.resolve('/a/b/../../etc/./passwd').path, '/etc/passwd');
  });

  it('detects symlink loops with a clear error', async () => {
    const fs = await build([
      [symlink('a', 'b'), symlink('b', 'a'), symlink('self', 'self'), symlink('d/x', '../d/x/y')],
    ]);
    for (const p of ['/a', '/self', '/d/x']) {
      assert.throws(
        () => fs.stat(p),
        (err: unknown) => {
          assert.ok(err instanceof SymlinkLoopError);
          assert.equal(err.code, 'ERR_SYMLINK_LOOP');
          assert.equal(err.message, `${p}: too many levels of symbolic links (40)`);
          return true;
        },
      );
    }
    assert.equal(fs.lstat('/a').type, 'symlink', 'lstat does not follow');
  });

  it('allows 40 links in a chain and refuses 41', async () => {
    const chain = (n: number) => {
      const entries = [file('end', 1)];
      for (let i = 0; i < n; i++) entries.push(symlink(`l${i}`, i === n - 1 ? 'end' : `l${i + 1}`));
      return entries;
    };
    assert.equal(MAX_SYMLINK_HOPS, 40);
    assert.equal((await build([chain(40)])).stat('/l0').path, '/end');
    const fs41 = await build([chain(41)]);
    assert.throws(() => fs41.stat('/l0'), SymlinkLoopError);
  });

  it('a missing path is a one-line PathNotFoundError naming it', async () => {
    const fs = await build([[file('etc/os-release', 3)]]);
    assert.throws(
      () => fs.stat('/etc/nope'),
      (err: unknown) => {
        assert.ok(err instanceof PathNotFoundError);
        assert.equal(err.code, 'ERR_PATH_NOT_FOUND');
        assert.equal(err.message, '/etc/nope: no such file or directory');
        return true;
      },
    );
    assert.throws(() => fs.stat('/etc/os-release/x'), /\/etc\/os-release\/x: not a directory/);
    assert.throws(() => fs.list('/etc/os-release'), /not a directory/);
    assert.equal(fs.exists('/etc/os-release'), true);
    assert.equal(fs.exists('/etc/nope'), false);
  });

  it('lists and walks sorted by name, depth first', async () => {
    const fs = await build([
      [file('b/z'), file('b/a'), dir('a'), file('c'), file('a/y/x'), symlink('s', 'b')],
    ]);
    assert.deepEqual(
      fs.list('/').map((e) => e.path),
      ['/a', '/b', '/c', '/s'],
    );
    assert.deepEqual(
      [...fs.walk('/')].map((e) => e.path),
      ['/a', '/a/y', '/a/y/x', '/b', '/b/a', '/b/z', '/c', '/s'],
    );
    assert.deepEqual(
      [...fs.walk('/a', { includeRoot: true })].map((e) => e.path),
      ['/a', '/a/y', '/a/y/x'],
    );
    assert.deepEqual(
      [...fs.walk('/', { maxDepth: 1 })].map((e) => e.path),
      ['/a', '/b', '/c', '/s'],
    );
  });

  it('forEachEntry shows exactly what walk yields, field for field, through one view', async () => {
    const fs = await build([
      [dir('a', { uname: 'root', gname: 'root' }), file('a/y/x', 3), file('b/z', 7, { mtime: 9 })],
      [
        file('a/y/x', 5, { uid: 1000 }),
        hardlink('b/h', 'a/y/x'),
        symlink('s', 'b'),
        file('dev', 0, { type: 'char', devmajor: 1, devminor: 3 }),
        file('attr', 1, { xattrs: { 'user.k': 'v' } }),
      ],
    ]);
    for (const [dirPath, options] of [
      ['/', {}],
      ['/a', { includeRoot: true }],
      ['/', { maxDepth: 1 }],
      ['/b', {}],
    ] as const) {
      const seen: object[] = [];
      const views = new Set<object>();
      fs.forEachEntry(
        dirPath,
        (e) => {
          views.add(e);
          // Copy the defined fields: the view is reused for the next entry.
          seen.push(
            Object.fromEntries(
              Object.entries(e).filter(
                ([k, v]) => v !== undefined && k !== 'layers' && k !== 'links',
              ),
            ),
          );
        },
        options,
      );
      assert.deepEqual(
        seen,
        [...fs.walk(dirPath, options)],
        `${dirPath} ${JSON.stringify(options)}`,
      );
      assert.ok(views.size <= 1, 'one view object for every entry');
    }
    assert.throws(() => fs.forEachEntry('/b/z', () => {}), /not a directory/);
  });

  it('shows a hardlink as the file it names, with link counts as stat gives them', async () => {
    const fs = await build([
      [
        file('bin/tool', 20, { mode: 0o755, uid: 3 }),
        hardlink('bin/h1', 'bin/tool'),
        file('bin/other', 4),
        file('dev/null', 0, { type: 'char', devmajor: 1, devminor: 3 }),
        hardlink('dev/null2', 'dev/null'),
        dir('etc/sub'),
        dir('etc/sub2'),
      ],
      // The target's path whited out: the link keeps its content and its count drops.
      [whiteout('bin/tool'), hardlink('bin/h2', 'bin/h1')],
    ]);
    const h1 = fs.lstat('/bin/h1');
    assert.deepEqual(
      [h1.type, h1.contentType, h1.size, h1.mode, h1.uid, h1.nlink, h1.linkname, h1.layer],
      ['hardlink', 'file', 20, 0o755, 3, 2, '/bin/tool', 0],
    );
    assert.deepEqual([fs.lstat('/bin/h2').size, fs.lstat('/bin/h2').nlink], [20, 2]);
    assert.equal(fs.lstat('/bin/other').nlink, 1);
    const dev = fs.lstat('/dev/null2');
    assert.deepEqual([dev.contentType, dev.devmajor, dev.devminor, dev.nlink], ['char', 1, 3, 2]);
    assert.deepEqual(toEntryJson(dev), {
      path: '/dev/null2',
      type: 'hardlink',
      contentType: 'char',
      size: 0,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      layer: 0,
      linkname: '/dev/null',
      nlink: 2,
      devMajor: 1,
      devMinor: 3,
    });
    // Directories: 2 plus their subdirectories; the root counts bin, dev and etc.
    assert.equal(fs.stat('/etc').nlink, 4);
    assert.equal(fs.stat('/etc/sub').nlink, 2);
    assert.equal(fs.stat('/').nlink, 5);
    const viewed = new Map<string, number>();
    fs.forEachEntry('/', (e) => viewed.set(e.path, e.nlink));
    assert.deepEqual(
      [...viewed].filter(([p]) => p.startsWith('/bin/')),
      [
        ['/bin/h1', 2],
        ['/bin/h2', 2],
        ['/bin/other', 1],
      ],
    );
  });

  it('reports entries in the CLI JSON shape', async () => {
    const fs = await build([
      [
        file('etc/os-release', 12, { mode: 0o640, uid: 1, gid: 2, mtime: 99, uname: 'u' }),
        symlink('l', 'etc/os-release'),
      ],
    ]);
    assert.deepEqual(toEntryJson(fs.stat('/etc/os-release')), {
      path: '/etc/os-release',
      type: 'file',
      size: 12,
      mode: 0o640,
      uid: 1,
      gid: 2,
      mtime: 99,
      layer: 0,
    });
    assert.deepEqual(toEntryJson(fs.lstat('/l')), {
      path: '/l',
      type: 'symlink',
      size: 0,
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 0,
      linkname: 'etc/os-release',
      layer: 0,
    });
  });
});
