import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pack } from 'tar-stream';
import { InvalidTarError } from '../../../src/errors/index.js';
import {
  encodeName,
  readTar,
  readTarEntries,
  scanTarEntries,
  scanTarRecords,
  type TarEntry,
} from '../../../src/tar/index.js';
import { body, chunked, collect, END, file, header, pax } from './raw-tar.js';

async function entriesOf(buf: Buffer, chunk = 64 * 1024): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTarEntries(chunked(buf, chunk))) out.push(e);
  return out;
}

/** Build a tar with tar-stream (PAX for long names). */
async function tarStream(build: (p: ReturnType<typeof pack>) => void): Promise<Buffer> {
  const p = pack();
  build(p);
  p.finalize();
  return collect(p as unknown as AsyncIterable<Buffer>);
}

interface Listed {
  type: string;
  size: number;
  path: string;
  link?: string;
}

/** Parse `tar -tv --numeric-owner --quoting-style=literal` output. */
function gnuList(tarFile: string): Listed[] {
  const out = execFileSync(
    'tar',
    ['-tvf', tarFile, '--numeric-owner', '--quoting-style=literal', '--full-time'],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^(\S)\S+ +\S+ +(\d+)(?:,\s*\d+)? +\S+ +\S+ +(.*)$/.exec(line);
      assert.ok(m, `unparsed tar -tv line: ${line}`);
      const kind = m[1]!;
      let rest = m[3]!;
      let linkTarget: string | undefined;
      if (kind === 'l') [rest, linkTarget] = rest.split(' -> ') as [string, string];
      const hard = / link to (.*)$/.exec(rest);
      if (hard) {
        linkTarget = hard[1];
        rest = rest.slice(0, hard.index);
      }
      const type = hard
        ? 'hardlink'
        : (
            { '-': 'file', d: 'dir', l: 'symlink', c: 'char', b: 'block', p: 'fifo' } as Record<
              string,
              string
            >
          )[kind]!;
      const path = rest.replace(/^\.\//, '').replace(/\/$/, '');
      return { type, size: Number(m[2]), path, link: linkTarget };
    });
}

describe('readTar with GNU tar archives', () => {
  let dir: string;
  const longDir = `d${'x'.repeat(120)}/${'y'.repeat(110)}`; // > 100 and with a > 255 file path
  const longFile = `${longDir}/${'z'.repeat(60)}.txt`;
  const longTarget = `../${'t'.repeat(150)}/target`;
  const contents = new Map<string, Buffer>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-tar-'));
    const root = join(dir, 'root');
    await mkdir(join(root, longDir), { recursive: true });
    await mkdir(join(root, 'etc'), { recursive: true });
    const put = async (rel: string, data: Buffer) => {
      await writeFile(join(root, rel), data);
      contents.set(rel, data);
    };
    await put('etc/os-release', Buffer.from('ID=test\n'));
    await put(longFile, Buffer.from('long name content'));
    await put('big.bin', Buffer.alloc(70_000, 7));
    await put('empty', Buffer.alloc(0));
    await put('ünïcödé.txt', Buffer.from('utf8 name'));
    await symlink('os-release', join(root, 'etc/link'));
    await symlink(longTarget, join(root, 'longlink'));
    await link(join(root, 'etc/os-release'), join(root, 'etc/hard'));
    assert.ok(longFile.length > 255);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const format of ['gnu', 'pax', 'ustar', 'v7'] as const) {
    it(`matches tar -tv for --format=${format}`, async (t) => {
      const tarFile = join(dir, `${format}.tar`);
      try {
        execFileSync('tar', [`--format=${format}`, '-cf', tarFile, '-C', join(dir, 'root'), '.'], {
          stdio: 'pipe',
        });
      } catch (err) {
        // ustar and v7 cannot store the long names: then compare what they could write.
        if (format === 'gnu' || format === 'pax') throw err;
        const names = ['etc', 'big.bin', 'empty', 'ünïcödé.txt'];
        execFileSync('tar', [
          `--format=${format}`,
          '-cf',
          tarFile,
          '-C',
          join(dir, 'root'),
          ...names,
        ]);
        t.diagnostic(`${format}: short names only`);
      }
      const raw = await readFile(tarFile);
      const expected = gnuList(tarFile);
      const entries = await entriesOf(raw, 1000); // odd chunk size: headers split across chunks
      assert.deepEqual(
        entries.map((e) => ({
          type: e.type,
          size: e.type === 'dir' ? 0 : e.size,
          path: e.path,
          link: e.linkname,
        })),
        expected.map((l) => ({
          type: l.type,
          size: l.type === 'dir' ? 0 : l.size,
          path: l.path === '.' ? '' : l.path,
          link: l.type === 'hardlink' ? l.link?.replace(/^\.\//, '') : l.link,
        })),
      );
      // Content at dataOffset is the file's content.
      for (const e of entries) {
        const want = contents.get(e.path);
        if (want === undefined || e.type !== 'file') continue;
        assert.deepEqual(raw.subarray(e.dataOffset, e.dataOffset + e.size), want, e.path);
        assert.equal(e.dataOffset % 512, 0);
        assert.ok(e.headerOffset < e.dataOffset);
      }
      assert.ok(entries.some((e) => e.path === 'etc/os-release' && e.mode === 0o644));
    });
  }

  it('scanTarEntries hands over exactly the entries readTar yields, whatever the chunking', async () => {
    for (const format of ['gnu', 'pax'] as const) {
      const tarFile = join(dir, `scan-${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', tarFile, '-C', join(dir, 'root'), '.']);
      const raw = await readFile(tarFile);
      const expected = await entriesOf(raw);
      assert.ok(expected.length >= 9);
      for (const size of [1, 7, 511, 513, 65536]) {
        const scanned: TarEntry[] = [];
        await scanTarEntries(chunked(raw, size), (e) => scanned.push(e));
        assert.deepEqual(scanned, expected, `${format} @${size}`);
      }
    }
  });

  it('reads bodies on demand and skips unread ones, even in tiny chunks', async () => {
    const tarFile = join(dir, 'bodies.tar');
    execFileSync('tar', ['--format=pax', '-cf', tarFile, '-C', join(dir, 'root'), '.']);
    const raw = await readFile(tarFile);
    for (const size of [1, 7, 511, 513, 65536]) {
      const seen = new Map<string, Buffer>();
      let i = 0;
      for await (const rec of readTar(chunked(raw, size))) {
        // Read every other file body, and only half of big.bin.
        if (rec.entry.type !== 'file' || i++ % 2 === 1) continue;
        if (rec.entry.path === 'big.bin') {
          const it = rec.readBody()[Symbol.asyncIterator]();
          await it.next();
          continue;
        }
        seen.set(rec.entry.path, await collect(rec.readBody()));
      }
      assert.ok(seen.size >= 2);
      for (const [path, data] of seen)
        assert.deepEqual(data, contents.get(path), `${path} @${size}`);
    }
  });
});

describe('scanTarRecords', () => {
  let dir: string;
  const contents = new Map<string, Buffer>([
    ['a.txt', Buffer.from('alpha\n')],
    ['big.bin', Buffer.alloc(200_000, 7)],
    ['c.txt', Buffer.from('gamma\n')],
  ]);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-scan-records-'));
    await mkdir(join(dir, 'root'));
    for (const [name, data] of contents) await writeFile(join(dir, 'root', name), data);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("hands over readTar's records in order; bodies read whole, streamed across an awaited promise, or skipped", async () => {
    const tarFile = join(dir, 'records.tar');
    execFileSync('tar', ['--format=pax', '-cf', tarFile, '-C', join(dir, 'root'), '.']);
    const raw = await readFile(tarFile);
    const expected = await entriesOf(raw);
    for (const size of [1, 511, 513, 65536, raw.length]) {
      const entries: TarEntry[] = [];
      const seen = new Map<string, Buffer>();
      await scanTarRecords(chunked(raw, size), (rec) => {
        entries.push(rec.entry);
        if (rec.entry.type !== 'file' || rec.entry.path === 'c.txt') return undefined; // skipped
        const whole = rec.bufferedBody?.();
        if (whole) {
          seen.set(rec.entry.path, Buffer.from(whole));
          return undefined;
        }
        return collect(rec.readBody()).then((data) => {
          seen.set(rec.entry.path, data);
        });
      });
      assert.deepEqual(entries, expected, `@${size}`);
      assert.deepEqual([...seen.keys()].sort(), ['a.txt', 'big.bin'], `@${size}`);
      for (const [path, data] of seen)
        assert.deepEqual(data, contents.get(path), `${path} @${size}`);
    }
  });

  it("rejects with the handler's error and stops the source", async () => {
    const tarFile = join(dir, 'fail.tar');
    execFileSync('tar', ['--format=pax', '-cf', tarFile, '-C', join(dir, 'root'), '.']);
    const source = Readable.from(chunked(await readFile(tarFile), 512));
    let calls = 0;
    await assert.rejects(
      scanTarRecords(source, () => {
        calls++;
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal(calls, 1);
    assert.ok(source.destroyed);
  });
});

describe('readTar with tar-stream archives', () => {
  it('reports every entry type with its metadata', async () => {
    const raw = await tarStream((p) => {
      p.entry({
        name: 'dir/',
        type: 'directory',
        mode: 0o4755,
        uid: 1000,
        gid: 1001,
        uname: 'u',
        gname: 'g',
        mtime: new Date(1_700_000_000_000),
      });
      p.entry({ name: 'dir/file', mode: 0o600 }, 'hello');
      p.entry({ name: 'dir/sym', type: 'symlink', linkname: '../elsewhere' });
      p.entry({ name: 'dir/hard', type: 'link', linkname: 'dir/file' });
      p.entry({
        name: 'dev/null',
        type: 'character-device',
        devmajor: 1,
        devminor: 3,
        mode: 0o666,
      });
      p.entry({ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 });
      p.entry({ name: 'pipe', type: 'fifo' });
      p.entry({ name: `${'n'.repeat(300)}/f`, mode: 0o644 }, 'pax path');
    });
    const e = await entriesOf(raw);
    assert.deepEqual(
      e.map((x) => [x.path, x.type]),
      [
        ['dir', 'dir'],
        ['dir/file', 'file'],
        ['dir/sym', 'symlink'],
        ['dir/hard', 'hardlink'],
        ['dev/null', 'char'],
        ['dev/sda', 'block'],
        ['pipe', 'fifo'],
        [`${'n'.repeat(300)}/f`, 'file'],
      ],
    );
    assert.equal(e[0]!.mode, 0o4755);
    assert.equal(e[0]!.uid, 1000);
    assert.equal(e[0]!.gid, 1001);
    assert.equal(e[0]!.uname, 'u');
    assert.equal(e[0]!.gname, 'g');
    assert.equal(e[0]!.mtime, 1_700_000_000);
    assert.equal(e[1]!.size, 5);
    assert.equal(e[1]!.mode, 0o600);
    assert.equal(e[2]!.linkname, '../elsewhere');
    assert.equal(e[3]!.linkname, 'dir/file');
    assert.equal(e[4]!.devmajor, 1);
    assert.equal(e[4]!.devminor, 3);
    assert.equal(e[5]!.devmajor, 8);
    assert.equal(raw.subarray(e[7]!.dataOffset, e[7]!.dataOffset + 8).toString(), 'pax path');
    assert.ok(e[7]!.headerOffset < e[7]!.dataOffset - 512, 'headerOffset points at the PAX header');
  });
});

describe('readTar extension headers', () => {
  it('reads owner names right when they change from one header to the next', async () => {
    const names = ['root', 'root', 'rootx', 'roo', 'ünï', '', 'root', 'a'.repeat(32)];
    const raw = Buffer.concat([
      ...names.map((n, i) => file(`f${i}`, 'x', { uname: n, gname: `${n}g`.slice(0, 32) })),
      END,
    ]);
    const e = await entriesOf(raw);
    assert.deepEqual(
      e.map((x) => [x.uname, x.gname]),
      names.map((n) => [n === '' ? undefined : n, `${n}g`.slice(0, 32)]),
    );
  });

  it('reads access and change times from PAX records (their text kept) and GNU headers', async () => {
    const raw = Buffer.concat([
      pax({ mtime: '1700000000.123456789', atime: '1700000001.5', ctime: '1700000002' }),
      file('posix', 'a'),
      file('gnu', 'b', { magic: 'gnu', atime: 1600000000, ctime: 1600000001 }),
      file('gnu-none', 'c', { magic: 'gnu' }),
      file('plain', 'd'),
      END,
    ]);
    const [p, g, none, plain] = await entriesOf(raw);
    assert.deepEqual([p!.atime, p!.ctime], [1700000001.5, 1700000002]);
    assert.deepEqual(p!.paxTimes, {
      mtime: '1700000000.123456789',
      atime: '1700000001.5',
      ctime: '1700000002',
    });
    assert.deepEqual([g!.atime, g!.ctime, g!.paxTimes], [1600000000, 1600000001, undefined]);
    for (const e of [none!, plain!]) {
      assert.deepEqual([e.atime, e.ctime, e.paxTimes], [undefined, undefined, undefined]);
    }
  });

  it('applies PAX records: path, linkpath, fractional mtime, ids, names, xattrs', async () => {
    const binary = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x80]);
    const raw = Buffer.concat([
      pax({
        path: 'very/long/pax/path.txt',
        mtime: '1700000000.123456789',
        uid: '3000000',
        gid: '4000000',
        uname: 'ünï',
        gname: 'grp',
        'SCHILY.xattr.user.comment': 'hello=world',
        'SCHILY.xattr.security.capability': binary,
      }),
      file('short', 'abc'),
      pax({ linkpath: `/${'l'.repeat(200)}` }),
      header({ name: 'sym', type: '2', linkname: 'ignored' }),
      END,
    ]);
    const [f, s] = await entriesOf(raw);
    assert.equal(f!.path, 'very/long/pax/path.txt');
    assert.equal(f!.mtime, Number('1700000000.123456789'));
    assert.equal(f!.uid, 3000000);
    assert.equal(f!.gid, 4000000);
    assert.equal(f!.uname, 'ünï');
    assert.equal(f!.gname, 'grp');
    assert.equal(f!.xattrs?.['user.comment'], 'hello=world');
    assert.deepEqual(Buffer.from(f!.xattrs!['security.capability']!, 'latin1'), binary);
    assert.equal(f!.headerOffset, 0);
    assert.equal(f!.dataOffset, 1536);
    assert.equal(s!.linkname, `/${'l'.repeat(200)}`);
    assert.equal(s!.type, 'symlink');
  });

  it("keeps an xattr whose PAX value is empty, as Go's PAXRecords (and moby, containerd) do", async () => {
    // `28 SCHILY.xattr.user.empty=\n`: the record Go's archive/tar writes for an empty
    // value (Go keeps it in PAXRecords; only its deprecated Xattrs map drops it).
    const raw = Buffer.concat([
      pax({
        'SCHILY.xattr.user.empty': '',
        'SCHILY.xattr.user.full': 'v',
        'LIBARCHIVE.xattr.user.la': '',
        mtime: '', // an empty header field is absent: the header's own mtime stands
      }),
      file('f', 'hi\n', { mtime: 1500000000 }),
      END,
    ]);
    assert.ok(raw.includes('28 SCHILY.xattr.user.empty=\n'));
    const want = { 'user.empty': '', 'user.full': 'v', 'user.la': '' };
    for (const chunk of [64 * 1024, 100]) {
      const [f] = await entriesOf(raw, chunk);
      assert.deepEqual(f!.xattrs, want);
      assert.equal(f!.mtime, 1500000000);
      const scanned: TarEntry[] = [];
      await scanTarEntries(chunked(raw, chunk), (e) => scanned.push(e));
      assert.deepEqual(scanned[0]!.xattrs, want);
      const recorded: TarEntry[] = [];
      await scanTarRecords(chunked(raw, chunk), (rec) => {
        recorded.push(rec.entry);
        return undefined;
      });
      assert.deepEqual(recorded[0]!.xattrs, want);
    }
  });

  it("reads a global PAX header (g) but applies it to no entry and yields none, as Go's archive/tar", async () => {
    const raw = Buffer.concat([
      pax(
        {
          uname: 'global',
          uid: '4242',
          mtime: '1000000000',
          path: 'elsewhere',
          'SCHILY.xattr.user.a': '1',
        },
        'g',
      ),
      file('a', 'x', { uid: 7, uname: 'own', mtime: 1500000000 }),
      pax({ uname: 'local' }),
      file('b', 'y'),
      END,
    ]);
    for (const chunk of [64 * 1024, 100]) {
      const entries = await entriesOf(raw, chunk);
      assert.deepEqual(
        entries.map((e) => e.path),
        ['a', 'b'],
      );
      const [a, b] = entries;
      assert.equal(a!.uid, 7);
      assert.equal(a!.uname, 'own');
      assert.equal(a!.mtime, 1500000000);
      assert.equal(a!.xattrs, undefined);
      assert.equal(a!.headerOffset, 1024, 'the global header is not part of the entry');
      assert.equal(b!.uname, 'local');
      assert.equal(b!.uid, 0);
      const scanned: TarEntry[] = [];
      await scanTarEntries(chunked(raw, chunk), (e) => scanned.push(e));
      assert.deepEqual(scanned, entries);
    }
  });

  it('rejects a malformed global PAX header, as Go does', async () => {
    const bad = Buffer.from('garbage\n');
    const raw = Buffer.concat([
      header({ name: 'GlobalHead', type: 'g', size: bad.length }),
      body(bad),
      file('a', 'x'),
      END,
    ]);
    await assert.rejects(entriesOf(raw), InvalidTarError);
  });

  it('reads a layer GNU tar wrote with a global header (--format=posix) as Go reads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-tar-global-'));
    try {
      const root = join(dir, 'root');
      await mkdir(join(root, 'd'), { recursive: true });
      await writeFile(join(root, 'd', 'a.txt'), 'hello\n');
      await writeFile(join(root, 'b.txt'), 'world\n');
      const tarFile = join(dir, 'layer.tar');
      // `keyword=value` pax options go into one global header ahead of every entry.
      execFileSync('tar', [
        '--format=posix',
        '--pax-option=uid=4242,uname=global,mtime=1000000000',
        '--mtime=@1500000000',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '--sort=name',
        '-cf',
        tarFile,
        '-C',
        root,
        '.',
      ]);
      const raw = await readFile(tarFile);
      assert.equal(raw[156], 0x67, 'GNU tar wrote a global header first');
      const entries = await entriesOf(raw);
      // What Go's archive/tar gives after the 'g' header (go1.x, this very command):
      // "./" "./b.txt" "./d/" "./d/a.txt", each uid 0, mtime 1500000000.
      assert.deepEqual(
        entries.map((e) => [e.path, e.type, e.uid, e.mtime, e.uname]),
        [
          ['', 'dir', 0, 1500000000, undefined],
          ['b.txt', 'file', 0, 1500000000, undefined],
          ['d', 'dir', 0, 1500000000, undefined],
          ['d/a.txt', 'file', 0, 1500000000, undefined],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads GNU long names and long link names (L/K)', async () => {
    const name = `${'a'.repeat(150)}/file`;
    const target = `${'b'.repeat(180)}/target`;
    const longHeader = (type: string, value: string) => {
      const data = Buffer.from(`${value}\0`);
      return Buffer.concat([
        header({ name: '././@LongLink', type, size: data.length, magic: 'gnu' }),
        body(data),
      ]);
    };
    const raw = Buffer.concat([
      longHeader('L', name),
      longHeader('K', target),
      header({ name: name.slice(0, 99), type: '2', linkname: target.slice(0, 99), magic: 'gnu' }),
      END,
    ]);
    const [e] = await entriesOf(raw, 100);
    assert.equal(e!.path, name);
    assert.equal(e!.linkname, target);
  });

  it('joins the ustar prefix field, but not in GNU headers', async () => {
    const raw = Buffer.concat([
      file('name.txt', 'p', { prefix: 'some/prefix' }),
      file('gnu.txt', 'g', { prefix: 'notaprefix', magic: 'gnu' }),
      END,
    ]);
    const [a, b] = await entriesOf(raw);
    assert.equal(a!.path, 'some/prefix/name.txt');
    assert.equal(b!.path, 'gnu.txt');
  });

  it('reads v7 headers, directories marked by a trailing slash', async () => {
    const raw = Buffer.concat([
      header({ name: 'olddir/', type: '\0', magic: 'v7', mode: 0o755 }),
      file('olddir/f', 'v7', { type: '\0', magic: 'v7' }),
      END,
    ]);
    const e = await entriesOf(raw);
    assert.deepEqual(
      e.map((x) => [x.path, x.type, x.size]),
      [
        ['olddir', 'dir', 0],
        ['olddir/f', 'file', 2],
      ],
    );
    assert.equal(e[0]!.uname, undefined);
  });

  it('reads base-256 sizes', async () => {
    const raw = Buffer.concat([
      header({ name: 'b256', size: 700, base256Size: true }),
      body(Buffer.alloc(700, 1)),
      file('after', 'ok'),
      END,
    ]);
    const e = await entriesOf(raw);
    assert.deepEqual(
      e.map((x) => [x.path, x.size]),
      [
        ['b256', 700],
        ['after', 2],
      ],
    );
  });

  it('skips a body over 8 GiB declared by PAX size and base-256 without copying it', async () => {
    const size = 8 * 1024 ** 3 + 1000; // not representable in the 11 octal digits of ustar
    const zeros = Buffer.alloc(4 << 20);
    async function* source() {
      yield pax({ size: String(size) });
      yield header({ name: 'huge', size: 0 });
      let left = size + ((512 - (size % 512)) % 512);
      while (left > 0) {
        const n = Math.min(left, zeros.length);
        yield zeros.subarray(0, n);
        left -= n;
      }
      yield header({ name: 'huge256', size: 5, base256Size: true });
      yield body('12345');
      yield file('tail', 'end');
      yield END;
    }
    const e: TarEntry[] = [];
    for await (const x of readTarEntries(source())) e.push(x);
    assert.deepEqual(
      e.map((x) => [x.path, x.size]),
      [
        ['huge', size],
        ['huge256', 5],
        ['tail', 3],
      ],
    );
    assert.equal(e[1]!.headerOffset, 1024 + 512 + size + 24);
  });

  it('marks GNU sparse files and keeps reading after them', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-sparse-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const root = join(dir, 'r');
    await mkdir(root);
    execFileSync('truncate', ['-s', '10M', join(root, 'sparse')]);
    await writeFile(join(root, 'sparse'), 'x', { flag: 'r+' });
    await writeFile(join(root, 'z-after'), 'after');
    for (const format of ['gnu', 'pax']) {
      const tarFile = join(dir, `${format}.tar`);
      execFileSync('tar', [
        `--format=${format}`,
        '-S',
        '-cf',
        tarFile,
        '-C',
        root,
        'sparse',
        'z-after',
      ]);
      const raw = await readFile(tarFile);
      assert.ok(raw.length < 1 << 20, 'archive is sparse');
      const e = await entriesOf(raw, 333);
      assert.deepEqual(
        e.map((x) => [x.path, x.type, x.size, x.sparse]),
        [
          ['sparse', 'file', 10 << 20, true],
          ['z-after', 'file', 5, undefined],
        ],
      );
      assert.equal(raw.subarray(e[1]!.dataOffset, e[1]!.dataOffset + 5).toString(), 'after');
    }
  });
});

describe('readTar names are bytes', () => {
  const e9 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "caf\xe9", Latin-1
  const e8 = Buffer.from([0x63, 0x61, 0x66, 0xe8]);
  const bytesOf = (name: string) => encodeName(name);

  it('keeps names that are not UTF-8 distinct and exact: ustar, prefix, PAX, GNU L/K', async () => {
    const longDir = Buffer.concat([Buffer.from('d'.repeat(150)), Buffer.from([0xff])]);
    const paxPath = Buffer.concat([Buffer.from('pax/'), e9, Buffer.from('/x'.repeat(60))]);
    const gnuLong = Buffer.concat([longDir, Buffer.from('/'), e8]);
    const gnuTarget = Buffer.concat([Buffer.from('t'.repeat(120)), Buffer.from([0xfe])]);
    const withNul = (b: Buffer) => Buffer.concat([b, Buffer.from([0])]);
    const raw = Buffer.concat([
      file(e9, 'latin1 e-acute'),
      file(e8, 'latin1 e-grave'),
      file(Buffer.from([0x6e, 0xc3, 0xa9]), 'utf8 n-e-acute'),
      file(e8, 'prefixed', { prefix: Buffer.concat([Buffer.from('pre/'), e9]) }),
      header({ name: 'sym', type: '2', linkname: e8 }),
      header({ name: Buffer.from([0x68, 0xff]), type: '1', linkname: e9 }),
      pax({ path: paxPath, linkpath: Buffer.concat([e8, Buffer.from('/')]) }),
      header({ name: 'ignored', type: '2', linkname: 'ignored' }),
      header({ name: '././@LongLink', type: 'L', size: gnuLong.length + 1, magic: 'gnu' }),
      body(withNul(gnuLong)),
      header({ name: '././@LongLink', type: 'K', size: gnuTarget.length + 1, magic: 'gnu' }),
      body(withNul(gnuTarget)),
      header({ name: 'short', type: '2', linkname: 'short', magic: 'gnu' }),
      END,
    ]);
    for (const size of [7, 512, 64 * 1024]) {
      const entries = await entriesOf(raw, size);
      const got = entries.map((e) => ({
        path: bytesOf(e.path),
        link: e.linkname === undefined ? undefined : bytesOf(e.linkname),
      }));
      assert.deepEqual(got, [
        { path: e9, link: undefined },
        { path: e8, link: undefined },
        { path: Buffer.from('né'), link: undefined },
        { path: Buffer.concat([Buffer.from('pre/'), e9, Buffer.from('/'), e8]), link: undefined },
        { path: Buffer.from('sym'), link: e8 },
        { path: Buffer.from([0x68, 0xff]), link: e9 },
        { path: paxPath, link: Buffer.concat([e8, Buffer.from('/')]) },
        { path: gnuLong, link: gnuTarget },
      ]);
      assert.notEqual(entries[0]!.path, entries[1]!.path);
      assert.equal(entries[2]!.path, 'né', 'valid UTF-8 reads as itself');
      assert.equal(entries[0]!.path, 'caf\udce9');
    }
  });

  it('reads them as GNU tar wrote them from a directory with such names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-tar-bytes-'));
    try {
      const root = join(dir, 'root');
      await mkdir(root);
      const at = (name: Buffer) => Buffer.concat([Buffer.from(`${root}/`), name]);
      await writeFile(at(e9), 'e9');
      await writeFile(at(e8), 'e8');
      await symlink(e8, at(Buffer.from('sym')));
      await link(at(e9), at(Buffer.from([0x68, 0xff])));
      for (const format of ['gnu', 'posix'] as const) {
        const tarFile = join(dir, `${format}.tar`);
        execFileSync('tar', [`--format=${format}`, '--sort=name', '-cf', tarFile, '-C', root, '.']);
        const entries = await entriesOf(await readFile(tarFile), 100);
        assert.deepEqual(
          entries.map((e) => [bytesOf(e.path), e.type, e.linkname && bytesOf(e.linkname)]),
          [
            [Buffer.from(''), 'dir', undefined],
            [e8, 'file', undefined],
            [e9, 'file', undefined],
            [Buffer.from([0x68, 0xff]), 'hardlink', e9],
            [Buffer.from('sym'), 'symlink', e8],
          ],
          format,
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('readTar errors and ends', () => {
  it('rejects a bad header checksum', async () => {
    const raw = Buffer.concat([file('ok', 'a'), file('bad', 'b', { badChecksum: true }), END]);
    await assert.rejects(entriesOf(raw), (err: unknown) => {
      assert.ok(err instanceof InvalidTarError);
      assert.equal(err.code, 'ERR_INVALID_TAR');
      assert.equal(err.offset, 1024);
      assert.match(err.message, /checksum/);
      return true;
    });
  });

  it('accepts a checksum summed over signed bytes (old Sun tars)', async () => {
    const name = 'ñandú/€.txt';
    const raw = Buffer.concat([file(name, 'signed', { signedChecksum: true }), END]);
    assert.notDeepEqual(raw.subarray(148, 156), file(name, 'signed').subarray(148, 156));
    assert.deepEqual(
      (await entriesOf(raw)).map((e) => e.path),
      [name],
    );
  });

  it('rejects archives truncated in a body, in a header, or before the end marker', async () => {
    const whole = Buffer.concat([file('a', 'x'.repeat(2000)), file('b', 'y'), END]);
    for (const [cut, pattern] of [
      [1000, /truncated in file content/],
      [2560 + 100, /truncated in a header/],
      [2560 + 1024, /end-of-archive marker/],
    ] as const) {
      await assert.rejects(entriesOf(whole.subarray(0, cut)), pattern);
    }
    // A single zero block then a clean end is accepted (GNU tar and Go do too).
    assert.equal((await entriesOf(whole.subarray(0, whole.length - 512))).length, 2);
    // An extension header with nothing after it.
    await assert.rejects(entriesOf(pax({ path: 'x' })), /after an extension header/);
  });

  it('scanTarEntries fails as readTar does: truncated bodies and bad checksums', async () => {
    const whole = Buffer.concat([file('a', 'x'.repeat(2000)), file('b', 'y'), END]);
    const seen: string[] = [];
    await assert.rejects(
      scanTarEntries(chunked(whole.subarray(0, 1500), 100), (e) => seen.push(e.path)),
      (err: unknown) =>
        err instanceof InvalidTarError && /truncated in file content/.test(err.message),
    );
    assert.deepEqual(seen, ['a']);
    const bad = Buffer.concat([file('ok', 'a'), file('bad', 'b', { badChecksum: true }), END]);
    await assert.rejects(
      scanTarEntries(chunked(bad, 64), () => {}),
      /checksum/,
    );
  });

  it('treats an empty stream as an empty archive and can allow a missing end marker', async () => {
    assert.deepEqual(await entriesOf(Buffer.alloc(0)), []);
    const noEnd = file('a', 'x');
    const e: TarEntry[] = [];
    for await (const x of readTarEntries(chunked(noEnd, 512), { allowMissingEnd: true })) e.push(x);
    assert.equal(e.length, 1);
  });

  it('rejects a malformed octal field and a malformed PAX record', async () => {
    const bad = header({ name: 'x' });
    bad.write('9', 124, 'latin1'); // size field not octal
    bad.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of bad) sum += x;
    bad.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
    await assert.rejects(entriesOf(Buffer.concat([bad, END])), /size field is not an octal/);
    const badPax = Buffer.from('99 path=x\n');
    const raw = Buffer.concat([
      header({ name: 'p', type: 'x', size: badPax.length }),
      body(badPax),
      file('a', ''),
      END,
    ]);
    await assert.rejects(entriesOf(raw), /malformed PAX record/);
  });

  it('drains trailing padding so a verifying source sees every byte, and stops the source on break', async () => {
    const raw = Buffer.concat([file('a', 'x'), file('b', 'y'), END, Buffer.alloc(8192)]);
    const source = Readable.from(chunked(raw, 1000));
    let bytes = 0;
    source.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    source.pause();
    for await (const _ of readTarEntries(source)) {
      /* list only */
    }
    assert.equal(bytes, raw.length);

    const stopped = Readable.from(chunked(raw, 512));
    for await (const _ of readTarEntries(stopped)) break;
    assert.equal(stopped.destroyed, true);
  });

  it('refuses a body read after the iteration moved on', async () => {
    const raw = Buffer.concat([file('a', 'x'.repeat(3000)), file('b', 'y'), END]);
    const it = readTar(chunked(raw, 512));
    const first = await it.next();
    assert.ok(!first.done);
    const bodyIt = first.value.readBody()[Symbol.asyncIterator]();
    await bodyIt.next();
    const second = await it.next();
    assert.equal(!second.done && second.value.entry.path, 'b');
    await assert.rejects(bodyIt.next(), /moved to the next entry/);
    await it.return(undefined);
  });

  it('stops when the signal aborts', async () => {
    const raw = Buffer.concat([file('a', 'x'), file('b', 'y'), END]);
    const ac = new AbortController();
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const e of readTarEntries(chunked(raw, 512), { signal: ac.signal })) {
        seen.push(e.path);
        ac.abort();
      }
    }, /abort/i);
    assert.deepEqual(seen, ['a']);
  });
});
