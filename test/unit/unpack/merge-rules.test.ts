import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DigestMismatchError,
  InvalidArgumentError,
  UnpackError,
} from '../../../src/errors/index.js';
import { type OwnershipRecord, unpackLayers } from '../../../src/unpack/index.js';
import { readXattr } from '../../harness/xattrs.js';
import {
  buildLayers,
  listPaths,
  type Sandbox,
  sandbox,
  snapshot,
  unpackEntries,
} from './helpers.js';

const isRoot = process.geteuid?.() === 0;
const T = (iso: string) => new Date(iso);

describe('unpack: layer merge rules on disk', () => {
  let box: Sandbox;
  let n = 0;
  before(async () => {
    box = await sandbox();
  });
  after(async () => {
    await box.remove();
  });
  const target = () => path.join(box.base.path, `rootfs${n++}`);

  it('a whiteout deletes a file and a whole directory subtree of lower layers', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'a/b/c', content: '1' },
          { path: 'a/d', content: '2' },
          { path: 'f', content: '3' },
          { path: 'keep', content: '4' },
        ],
        [
          { path: '.wh.a', content: '' },
          { path: '.wh.f', content: '' },
          { path: '.wh.never-existed', content: '' },
        ],
      ],
      dir,
    );
    assert.deepEqual(listPaths(dir), ['keep']);
  });

  for (const markerFirst of [true, false]) {
    it(`an opaque directory keeps only this layer's content (marker ${markerFirst ? 'before' : 'after'} siblings)`, async () => {
      const dir = target();
      const marker = { path: 'etc/.wh..wh..opq', content: '' };
      const upper = [
        { path: 'etc/new', content: 'new' },
        { path: 'etc/sub/upper', content: 'u' },
        { path: 'etc/shared', content: 'upper version' },
      ];
      await unpackEntries(
        [
          [
            { path: 'etc/', type: 'dir' },
            { path: 'etc/old', content: 'old' },
            { path: 'etc/shared', content: 'lower version' },
            { path: 'etc/sub/lower', content: 'l' },
            { path: 'etc/gone/deep/x', content: 'x' },
            { path: 'other', content: 'o' },
          ],
          markerFirst ? [marker, ...upper] : [...upper, marker],
        ],
        dir,
      );
      assert.deepEqual(listPaths(dir), [
        'etc',
        'etc/new',
        'etc/shared',
        'etc/sub',
        'etc/sub/upper',
        'other',
      ]);
      assert.equal(readFileSync(path.join(dir, 'etc/shared'), 'utf8'), 'upper version');
    });
  }

  it('a whiteout in the same layer as the path it names hides only the lower version', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'd/lower', content: 'l' },
          { path: 'f', content: 'lower' },
        ],
        [
          { path: 'd/upper', content: 'u' },
          { path: 'f', content: 'upper' },
          { path: '.wh.d', content: '' },
          { path: '.wh.f', content: '' },
        ],
      ],
      dir,
    );
    assert.deepEqual(listPaths(dir), ['d', 'd/upper', 'f']);
    assert.equal(readFileSync(path.join(dir, 'f'), 'utf8'), 'upper');
  });

  it('a deleted path is re-created by a later layer', async () => {
    const dir = target();
    await unpackEntries(
      [
        [{ path: 'x/old', content: 'old' }],
        [{ path: '.wh.x', content: '' }],
        [
          { path: 'x/', type: 'dir', mode: 0o750 },
          { path: 'x/new', content: 'new' },
        ],
      ],
      dir,
    );
    assert.deepEqual(listPaths(dir), ['x', 'x/new']);
    assert.equal(lstatSync(path.join(dir, 'x')).mode & 0o777, 0o750);
  });

  it('a file replaces a directory subtree and a directory replaces a file', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'was-dir/a/b', content: 'b' },
          { path: 'was-file', content: 'f' },
          { path: 'was-link', type: 'symlink', linkname: 'was-dir' },
        ],
        [
          { path: 'was-dir', content: 'now a file' },
          { path: 'was-file/', type: 'dir' },
          { path: 'was-file/child', content: 'c' },
          { path: 'was-link/', type: 'dir' },
        ],
      ],
      dir,
    );
    assert.deepEqual(listPaths(dir), ['was-dir', 'was-file', 'was-file/child', 'was-link']);
    const s = snapshot(dir);
    assert.equal(s['was-dir']!.type, 'file');
    assert.equal(s['was-dir']!.content, 'now a file');
    assert.equal(s['was-file']!.type, 'dir');
    assert.equal(s['was-link']!.type, 'dir');
  });

  it('entries after their directory was swapped within the same layer follow the new one', async () => {
    // The applier reuses the directory the previous entry went into; a swap of that
    // directory (for a symlink, a file, or a fresh directory) must end the reuse.
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'real/', type: 'dir' },
          { path: 'd/a', content: 'a' },
          { path: 'd/b', content: 'b' },
          { path: 'd', type: 'symlink', linkname: 'real' },
          { path: 'd/c', content: 'c through the link' },
          { path: 'd/e', content: 'e through the link' },
          { path: 'f/x', content: 'x' },
          { path: 'f', content: 'now a file' },
          { path: 'g/y', content: 'y' },
          { path: 'g/.wh..wh..opq', content: '' },
          { path: 'g/z', content: 'z' },
        ],
        [
          { path: 'real/.wh.c', content: '' },
          { path: 'd/e', content: 'e again' },
        ],
      ],
      dir,
    );
    assert.deepEqual(listPaths(dir), ['d', 'f', 'g', 'g/y', 'g/z', 'real', 'real/e']);
    assert.equal(readlinkSync(path.join(dir, 'd')), 'real');
    assert.equal(readFileSync(path.join(dir, 'real/e'), 'utf8'), 'e again');
    assert.equal(readFileSync(path.join(dir, 'f'), 'utf8'), 'now a file');
  });

  it('a directory entry over an existing directory updates its metadata and keeps children', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'd/', type: 'dir', mode: 0o755 },
          { path: 'd/child', content: 'c' },
        ],
        [{ path: 'd/', type: 'dir', mode: 0o711, mtime: T('2020-02-02T00:00:00Z') }],
      ],
      dir,
    );
    const st = lstatSync(path.join(dir, 'd'));
    assert.equal(st.mode & 0o777, 0o711);
    assert.equal(st.mtimeMs, Date.parse('2020-02-02T00:00:00Z'));
    assert.deepEqual(listPaths(dir), ['d', 'd/child']);
  });

  it('hardlinks across layers share an inode; overwriting one name leaves the other', async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [{ path: 'bin/busybox', content: 'BB', mode: 0o755 }],
        [
          { path: 'bin/sh', type: 'hardlink', linkname: 'bin/busybox' },
          { path: 'bin/ls', type: 'hardlink', linkname: 'bin/busybox' },
        ],
        [{ path: 'bin/ls', content: 'real ls' }],
      ],
      dir,
    );
    const s = snapshot(dir);
    assert.equal(s['bin/sh']!.ino, s['bin/busybox']!.ino);
    assert.equal(s['bin/sh']!.nlink, 2);
    assert.notEqual(s['bin/ls']!.ino, s['bin/busybox']!.ino);
    assert.equal(s['bin/ls']!.content, 'real ls');
    assert.equal(s['bin/busybox']!.content, 'BB');
    assert.equal(r.hardlinks, 1);
    assert.equal(r.files, 2);
  });

  it('symlink chains are kept as symlinks, verbatim', async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [
          { path: 'usr/lib/real.so.1', content: 'ELF' },
          { path: 'usr/lib/real.so', type: 'symlink', linkname: 'real.so.1' },
          { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
          { path: 'abs', type: 'symlink', linkname: '/lib/real.so' },
          { path: 'dangling', type: 'symlink', linkname: '/nowhere/at/all' },
        ],
        // Written through `lib` (a relative link): lands in usr/lib.
        [{ path: 'lib/added', content: 'via link' }],
      ],
      dir,
    );
    assert.equal(readlinkSync(path.join(dir, 'lib')), 'usr/lib');
    assert.equal(readlinkSync(path.join(dir, 'abs')), '/lib/real.so');
    assert.equal(readlinkSync(path.join(dir, 'dangling')), '/nowhere/at/all');
    assert.equal(readFileSync(path.join(dir, 'usr/lib/added'), 'utf8'), 'via link');
    assert.equal(r.symlinks, 4);
  });

  it('modes (setuid, setgid, sticky, read-only directories) and mtimes are kept', async () => {
    const dir = target();
    const mtime = T('2019-05-06T07:08:09Z');
    await unpackEntries(
      [
        [
          { path: 'suid', content: 'x', mode: 0o4755, mtime },
          { path: 'sgid', content: 'x', mode: 0o2755, mtime },
          { path: 'tmp/', type: 'dir', mode: 0o1777, mtime },
          { path: 'ro/', type: 'dir', mode: 0o555, mtime },
          { path: 'ro/inner', content: 'in', mode: 0o444, mtime },
          { path: 'none', content: 'read-only', mode: 0o400, mtime },
          { path: 'link', type: 'symlink', linkname: 'suid', mtime },
        ],
      ],
      dir,
    );
    const s = snapshot(dir);
    assert.equal(s.suid!.mode, 0o4755);
    assert.equal(s.sgid!.mode, 0o2755);
    assert.equal(s.tmp!.mode, 0o1777);
    assert.equal(s.ro!.mode, 0o555);
    assert.equal(s['ro/inner']!.mode, 0o444);
    assert.equal(s.none!.mode, 0o400);
    assert.equal(s.none!.content, 'read-only');
    for (const p of ['suid', 'ro/inner', 'link']) assert.equal(s[p]!.mtime, mtime.getTime() / 1000);
    assert.equal(lstatSync(path.join(dir, 'ro')).mtimeMs, mtime.getTime());
    assert.equal(lstatSync(path.join(dir, 'tmp')).mtimeMs, mtime.getTime());
  });

  it('times before 1970 are kept (Node takes a negative number for now)', async () => {
    const dir = target();
    // 1969-07-20T20:17:40.25Z; PAX keeps the fraction and the sign.
    const pax = { mtime: '-14182939.75' };
    await unpackEntries(
      [
        [
          { path: 'old/', type: 'dir', pax },
          { path: 'old/file', content: 'x', pax },
          { path: 'old/link', type: 'symlink', linkname: 'file', pax },
          { path: 'old/fifo', type: 'fifo', pax },
        ],
      ],
      dir,
    );
    for (const p of ['old', 'old/file', 'old/link', 'old/fifo']) {
      assert.equal(lstatSync(path.join(dir, p)).mtimeMs, -14182939750, p);
    }
  });

  it('ownership is applied with lchown when root', { skip: !isRoot }, async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'home/u/', type: 'dir', uid: 1000, gid: 1001 },
          { path: 'home/u/f', content: 'x', uid: 1000, gid: 1001, mode: 0o4750 },
          { path: 'home/u/l', type: 'symlink', linkname: 'f', uid: 1002, gid: 1003 },
        ],
      ],
      dir,
      { rootless: false },
    );
    const s = snapshot(dir);
    assert.deepEqual([s['home/u']!.uid, s['home/u']!.gid], [1000, 1001]);
    assert.deepEqual(
      [s['home/u/f']!.uid, s['home/u/f']!.gid, s['home/u/f']!.mode],
      [1000, 1001, 0o4750],
    );
    assert.deepEqual([s['home/u/l']!.uid, s['home/u/l']!.gid], [1002, 1003]);
  });

  it('rootless: no chown; the intended owners are returned, and written only where asked', async () => {
    const dir = target();
    const layers: Parameters<typeof unpackEntries>[0] = [
      [
        { path: 'home/u/', type: 'dir', uid: 1000, gid: 1001, mode: 0o700 },
        { path: 'home/u/f', content: 'x', uid: 1000, gid: 1001, mode: 0o640 },
        { path: 'gone', content: 'x', uid: 5 },
      ],
      [
        { path: '.wh.gone', content: '' },
        { path: 'home/u/l', type: 'symlink', linkname: 'f', uid: 7 },
      ],
    ];
    // By default nothing is written outside DIR: the record is only returned.
    const quiet = await unpackEntries(layers, `${dir}-quiet`, { rootless: true });
    assert.equal(quiet.ownershipFile, undefined);
    assert.equal(existsSync(`${dir}-quiet.ownership.json`), false);
    assert.equal(quiet.ownership!.entries['/home/u/f']!.uid, 1000);
    const r = await unpackEntries(layers, dir, {
      rootless: true,
      ownershipFile: `${dir}.ownership.json`,
    });
    assert.equal(r.ownershipFile, `${dir}.ownership.json`);
    const record = JSON.parse(readFileSync(`${dir}.ownership.json`, 'utf8')) as OwnershipRecord;
    assert.deepEqual(record, r.ownership);
    assert.deepEqual(record.entries, {
      '/home': { type: 'dir', uid: 0, gid: 0, mode: 0o755 },
      '/home/u': { type: 'dir', uid: 1000, gid: 1001, mode: 0o700 },
      '/home/u/f': { type: 'file', uid: 1000, gid: 1001, mode: 0o640 },
      '/home/u/l': { type: 'symlink', uid: 7, gid: 0, mode: 0o777 },
    });
    const s = snapshot(dir);
    assert.equal(s['home/u/f']!.uid, process.geteuid?.());
    assert.equal(s['home/u/f']!.mode, 0o640);
    assert.deepEqual(listPaths(dir), ['home', 'home/u', 'home/u/f', 'home/u/l']);
  });

  it('rootless: the ownership file is exactly JSON.stringify of the record, odd names included', async () => {
    const dir = target();
    const odd = ['q"uote', 'back\\slash', 'tab\tname', 'ünï cödé', '12', 'sp ace'];
    const r = await unpackEntries(
      [odd.map((name, i) => ({ path: `d/${name}`, content: 'x', uid: i, gid: 2 * i }))],
      dir,
      { rootless: true, ownershipFile: `${dir}.ownership.json` },
    );
    const text = readFileSync(`${dir}.ownership.json`, 'utf8');
    assert.equal(text, `${JSON.stringify(r.ownership)}\n`);
    for (const [i, name] of odd.entries()) {
      assert.deepEqual(r.ownership!.entries[`/d/${name}`], {
        type: 'file',
        uid: i,
        gid: 2 * i,
        mode: 0o644,
      });
    }
  });

  it('rootless: a record larger than one written piece (256 KiB) is still exact JSON', async () => {
    const dir = target();
    const long = 'n'.repeat(90);
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      path: `d${i % 7}/${long}-${i}${i % 500 === 0 ? '-caf\u00e9"q' : ''}`,
      content: '',
      uid: i,
    }));
    const r = await unpackEntries([entries], dir, {
      rootless: true,
      ownershipFile: `${dir}.ownership.json`,
    });
    const text = readFileSync(`${dir}.ownership.json`, 'utf8');
    assert.ok(text.length > 256 * 1024, `${text.length} bytes`);
    assert.equal(text, `${JSON.stringify(r.ownership)}\n`);
    assert.equal(Object.keys(r.ownership!.entries).length, 3000 + 7);
  });

  it('rootless: an ownership file inside DIR is refused', async () => {
    const dir = target();
    await assert.rejects(
      unpackEntries([[{ path: 'a', content: 'b' }]], dir, {
        rootless: true,
        ownershipFile: path.join(dir, 'own.json'),
      }),
      InvalidArgumentError,
    );
  });

  it('fifos are made with mkfifo; device nodes with mknod when root', async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [
          { path: 'run/fifo', type: 'fifo', mode: 0o620 },
          ...(isRoot
            ? [{ path: 'dev/null', type: 'char' as const, devmajor: 1, devminor: 3, mode: 0o666 }]
            : []),
        ],
      ],
      dir,
      { rootless: !isRoot, ownershipFile: false },
    );
    const s = snapshot(dir);
    assert.equal(s['run/fifo']!.type, 'fifo');
    assert.equal(s['run/fifo']!.mode, 0o620);
    assert.equal(r.fifos, 1);
    if (isRoot) {
      assert.equal(s['dev/null']!.type, 'char');
      assert.equal(s['dev/null']!.mode, 0o666);
      assert.equal(lstatSync(path.join(dir, 'dev/null')).rdev, 0x103);
      assert.equal(r.devices, 1);
    }
  });

  it('xattrs are set (user.* rootless; all when root)', async () => {
    const dir = target();
    const r = await unpackEntries(
      [[{ path: 'f', content: 'x', pax: { 'SCHILY.xattr.user.comment': 'hello' } }]],
      dir,
      { ownershipFile: false },
    );
    const got = readXattr(path.join(dir, 'f'), 'user.comment');
    assert.equal(got?.toString(), 'hello', r.warnings.join('\n'));
  });

  it("an xattr with an empty PAX value is set, empty (as moby and containerd set Go's PAXRecords)", async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [
          {
            path: 'f',
            content: 'x',
            pax: { 'SCHILY.xattr.user.empty': '', 'SCHILY.xattr.user.full': 'v' },
          },
        ],
      ],
      dir,
      { ownershipFile: false },
    );
    assert.deepEqual(
      readXattr(path.join(dir, 'f'), 'user.empty'),
      Buffer.alloc(0),
      r.warnings.join('\n'),
    );
    assert.equal(readXattr(path.join(dir, 'f'), 'user.full')?.toString(), 'v');
  });

  it('a wrong diff_id fails naming the layer, after the earlier layers were applied', async () => {
    const dir = target();
    const layers = await buildLayers([
      [{ path: 'a', content: 'a' }],
      [{ path: 'b', content: 'b' }],
    ]);
    const wrong = `sha256:${'0'.repeat(64)}`;
    layers[1] = { ...layers[1]!, diffId: wrong };
    const err = await unpackLayers(layers, dir).catch((e: unknown) => e);
    assert.ok(err instanceof UnpackError, String(err));
    assert.ok(err.cause instanceof DigestMismatchError);
    assert.equal(err.layerIndex, 1);
    assert.equal(err.completedLayers, 1);
    assert.match(err.message, /layer 1 \(sha256:[0-9a-f]{64}\)/);
    assert.match(err.message, new RegExp(`${wrong}`));
    assert.match(err.message, /1 of 2 layers applied/);
  });

  it('verify requires a diff_id for every layer', async () => {
    const layers = await buildLayers([[{ path: 'a', content: 'a' }]]);
    const { diffId: _drop, ...noDiff } = layers[0]!;
    await assert.rejects(unpackLayers([noDiff], target(), { verify: true }), /no diff_id/);
  });

  it('zstd, gzip and uncompressed layers unpack alike', async () => {
    const dir = target();
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    const r = await unpackEntries(
      [
        [{ path: 'z/big', content: big }],
        [{ path: 'g/file', content: 'gzip' }],
        [
          { path: 'n/file', content: 'none' },
          { path: '.wh.z', content: '' },
        ],
      ],
      dir,
      {},
      ['zstd', 'gzip', 'none'],
    );
    assert.equal(r.layers, 3);
    assert.deepEqual(listPaths(dir), ['g', 'g/file', 'n', 'n/file']);

    const dir2 = target();
    await unpackEntries([[{ path: 'z/big', content: big }]], dir2, {}, 'zstd');
    assert.ok(readFileSync(path.join(dir2, 'z/big')).equals(big));
  });

  it('entries with PAX long names unpack to their full path', async () => {
    const dir = target();
    const long = `${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(200)}`;
    await unpackEntries([[{ path: long, content: 'long' }]], dir);
    assert.equal(readFileSync(path.join(dir, long), 'utf8'), 'long');
  });
});
