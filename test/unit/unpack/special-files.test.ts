import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as Koffi from 'koffi';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import { bindLibc, makedev } from '../../../src/native/libc.js';
import { makeDevice, makeFifo, setXattrs } from '../../../src/unpack/special-files.js';
import { type TempDir, tempDir } from '../../harness/temp-dir.js';
import { readXattr } from '../../harness/xattrs.js';

const isRoot = process.geteuid?.() === 0;

describe('special files through libc (no helper processes)', () => {
  let tmp: TempDir;
  let n = 0;
  /** A fresh empty directory for one test. */
  const fresh = () => {
    const d = join(tmp.path, `t${n++}`);
    mkdirSync(d);
    return d;
  };
  before(async () => {
    tmp = await tempDir('special-files');
  });
  after(() => tmp.remove());

  it('sets binary, empty and non-ASCII xattr values on files and directories', () => {
    const d = fresh();
    const file = join(d, 'a file ✓');
    const dir = join(d, 'sub dir');
    writeFileSync(file, 'x');
    mkdirSync(dir);
    const raw = Buffer.from([0, 0xff, 0x80, 0x20]);
    const messages = setXattrs([
      { abs: file, name: 'user.rootlesscontainers', value: '\x10\x2a' },
      { abs: file, name: 'user.empty', value: '' },
      { abs: file, name: 'user.bytes', value: raw.toString('latin1') },
      { abs: dir, name: 'user.dir', value: 'on a directory' },
    ]);
    assert.deepEqual(messages, []);
    assert.deepEqual(readXattr(file, 'user.rootlesscontainers'), Buffer.from([0x10, 0x2a]));
    assert.deepEqual(readXattr(file, 'user.empty'), Buffer.alloc(0));
    assert.deepEqual(readXattr(file, 'user.bytes'), raw);
    assert.equal(readXattr(dir, 'user.dir')?.toString(), 'on a directory');
    assert.equal(readXattr(file, 'user.dir'), null);
  });

  it('takes paths as bytes: a name that is not UTF-8', () => {
    const d = fresh();
    const name = Buffer.concat([Buffer.from(`${d}/caf`), Buffer.from([0xe9])]);
    writeFileSync(name, 'latin1 name');
    assert.deepEqual(setXattrs([{ abs: name, name: 'user.x', value: 'bytes' }]), []);
    assert.equal(readXattr(name, 'user.x')?.toString(), 'bytes');
    makeFifo(Buffer.concat([name, Buffer.from('.fifo')]), 0o600);
    assert.ok(lstatSync(Buffer.concat([name, Buffer.from('.fifo')])).isFIFO());
  });

  it('reports each attribute it could not set with its errno, and sets the rest', () => {
    const d = fresh();
    const ok = join(d, 'ok');
    writeFileSync(ok, 'z');
    const missing = join(d, 'no such file');
    const messages = setXattrs([
      { abs: missing, name: 'user.a', value: 'v' },
      { abs: ok, name: 'user.b', value: 'w' },
      { abs: ok, name: 'nonamespace', value: 'w' },
    ]);
    assert.equal(messages.length, 2);
    assert.equal(
      messages[0],
      `${missing}: xattr user.a not set: ENOENT: No such file or directory`,
    );
    assert.match(messages[1]!, /ok: xattr nonamespace not set: ENOTSUP: Operation not supported$/);
    assert.equal(readXattr(ok, 'user.b')?.toString(), 'w');
  });

  it('refuses a NUL byte in a path or an attribute name, which C would cut short', () => {
    const d = fresh();
    writeFileSync(join(d, 'f'), '');
    assert.throws(() => makeFifo(`${d}/p\0ipe`, 0o600), InvalidArgumentError);
    const messages = setXattrs([{ abs: join(d, 'f'), name: 'user.a\0b', value: 'v' }]);
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /xattr user\.a\0b not set: "user\.a\\u0000b" holds a NUL byte/);
    assert.equal(readXattr(join(d, 'f'), 'user.a'), null);
  });

  it('never follows a symlink: user.* on a link fails, the target is left alone', () => {
    const d = fresh();
    const target = join(d, 'target');
    const link = join(d, 'link');
    writeFileSync(target, 't');
    symlinkSync(target, link);
    const messages = setXattrs([{ abs: link, name: 'user.x', value: 'v' }]);
    // Linux allows user.* attributes on regular files and directories only.
    assert.deepEqual(messages, [`${link}: xattr user.x not set: EPERM: Operation not permitted`]);
    assert.equal(readXattr(target, 'user.x'), null);
  });

  it('as root: trusted.* and security.* land on the path itself, a symlink’s own included', {
    skip: !isRoot,
  }, () => {
    const d = fresh();
    const target = join(d, 'target');
    const link = join(d, 'link');
    const dir = join(d, 'dir');
    writeFileSync(target, 't');
    mkdirSync(dir);
    symlinkSync(target, link);
    const messages = setXattrs([
      { abs: link, name: 'trusted.on-link', value: 'link' },
      { abs: target, name: 'security.ocipeek', value: 'file' },
      { abs: dir, name: 'trusted.ocipeek', value: 'dir' },
    ]);
    assert.deepEqual(messages, []);
    assert.equal(readXattr(link, 'trusted.on-link')?.toString(), 'link');
    assert.equal(readXattr(target, 'trusted.on-link'), null);
    assert.equal(readXattr(target, 'security.ocipeek')?.toString(), 'file');
    assert.equal(readXattr(dir, 'trusted.ocipeek')?.toString(), 'dir');
  });

  it('makes fifos with exactly the mode asked for, whatever the umask', () => {
    const d = fresh();
    const old = process.umask(0o077);
    try {
      makeFifo(join(d, 'p1'), 0o666);
      makeFifo(join(d, 'p2'), 0o1620);
    } finally {
      process.umask(old);
    }
    assert.ok(lstatSync(join(d, 'p1')).isFIFO());
    assert.equal(lstatSync(join(d, 'p1')).mode & 0o7777, 0o666);
    assert.equal(lstatSync(join(d, 'p2')).mode & 0o7777, 0o1620);
  });

  it('fails like fs does, with the errno: EEXIST on an existing path', () => {
    const d = fresh();
    writeFileSync(join(d, 'taken'), '');
    assert.throws(
      () => makeFifo(join(d, 'taken'), 0o600),
      (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, 'EEXIST');
        assert.equal(err.errno, -17);
        assert.equal(err.syscall, 'mkfifo');
        assert.equal(err.message, `EEXIST: File exists, mkfifo '${join(d, 'taken')}'`);
        return true;
      },
    );
  });

  it('encodes device numbers as the C library does (glibc makedev)', () => {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    const glibc = koffi
      .load(null)
      .func('uint64_t gnu_dev_makedev(unsigned int maj, unsigned int min)');
    for (const [major, minor] of [
      [1, 3],
      [8, 16],
      [259, 70_000],
      [0x12345, 0xabcdef],
      [0xffffffff, 0xffffffff],
    ] as const) {
      assert.equal(makedev(major, minor), BigInt(glibc(major, minor)), `${major}:${minor}`);
    }
    assert.equal(makedev(259, 70_000), 0x11110370n);
  });

  it('as root: makes char and block devices with their mode and numbers', { skip: !isRoot }, () => {
    const d = fresh();
    const old = process.umask(0o022);
    try {
      makeDevice(join(d, 'null'), 'char', 0o666, 1, 3);
      makeDevice(join(d, 'sda1'), 'block', 0o660, 8, 1);
      makeDevice(join(d, 'big'), 'char', 0o600, 4000, 1_000_000);
    } finally {
      process.umask(old);
    }
    const nul = lstatSync(join(d, 'null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.mode & 0o7777, 0o666);
    assert.equal(nul.rdev, 0x103);
    const sda = lstatSync(join(d, 'sda1'));
    assert.ok(sda.isBlockDevice());
    assert.equal(sda.mode & 0o7777, 0o660);
    assert.equal(sda.rdev, 0x801);
    assert.equal(BigInt(lstatSync(join(d, 'big')).rdev), makedev(4000, 1_000_000));
  });

  it('as root: old glibc’s __xmknod gives the same device', {
    skip: !isRoot || process.arch !== 'x64',
  }, () => {
    const d = fresh();
    const legacy = bindLibc(true);
    const path = Buffer.from(`${join(d, 'tty')}\0`);
    assert.equal(legacy.mknod(path, 0o020620, makedev(4, 64)), 0);
    const st = lstatSync(join(d, 'tty'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0x440);
  });
});
