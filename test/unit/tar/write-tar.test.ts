import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { extract } from 'tar-stream';
import { SizeMismatchError, UnsupportedError } from '../../../src/errors/index.js';
import {
  decodeName,
  encodeName,
  encodeTarHeader,
  packTar,
  packTarBuffer,
  readTar,
  readTarEntries,
  type TarEntry,
  type TarHeaderFields,
  type TarWriteEntry,
  TYPE_LETTERS,
} from '../../../src/tar/index.js';
import { TAR_STREAM_TYPES } from '../../harness/layers.js';
import { chunked } from './raw-tar.js';

const name = (...parts: Array<string | number[]>) =>
  decodeName(
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))),
  );

const E9 = name('caf', [0xe9]); // Latin-1 "café": not UTF-8
const E8 = name('caf', [0xe8]);
const HFF = name('h', [0xff]);
const SPLIT = `deep/${'d'.repeat(120)}/${'n'.repeat(90)}.txt`; // > 100: ustar prefix + name
const LONG = `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(100)}.txt`; // > 255: PAX path
const LONG_TARGET = `../${'t'.repeat(150)}/target`;
const BINARY_XATTR = Buffer.from([0, 0xff, 1, 0x80]).toString('latin1');

const base = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 1700000000, size: 0 };

/** Every kind of member, with every field that needs more than a plain ustar header. */
const ENTRIES: TarWriteEntry[] = [
  { header: { ...base, path: 'dir', type: 'dir', mode: 0o750 } },
  {
    header: {
      ...base,
      path: 'dir/a.txt',
      type: 'file',
      mode: 0o640,
      size: 5,
      mtime: 1700000001.25,
    },
    body: Buffer.from('hello'),
  },
  {
    header: { ...base, path: SPLIT, type: 'file', mode: 0o644, size: 5 },
    body: Buffer.from('split'),
  },
  {
    header: { ...base, path: LONG, type: 'file', mode: 0o600, size: 4 },
    body: Buffer.from('long'),
  },
  {
    header: { ...base, path: 'ünïcödé.txt', type: 'file', mode: 0o644, size: 4 },
    body: Buffer.from('utf8'),
  },
  { header: { ...base, path: E9, type: 'file', mode: 0o644, size: 2 }, body: Buffer.from('e9') },
  { header: { ...base, path: E8, type: 'file', mode: 0o644, size: 2 }, body: Buffer.from('e8') },
  { header: { ...base, path: 'sym', type: 'symlink', mode: 0o777, linkname: E8 } },
  { header: { ...base, path: 'longlink', type: 'symlink', mode: 0o777, linkname: LONG_TARGET } },
  { header: { ...base, path: HFF, type: 'hardlink', mode: 0o644, linkname: E9 } },
  {
    header: {
      ...base,
      path: 'owned',
      type: 'file',
      mode: 0o4755,
      size: 3,
      uid: 3_000_000,
      gid: 4_000_000,
      uname: 'u'.repeat(40),
      gname: 'gröup',
      mtime: -2, // before 1970: PAX (GNU tar 1.34 lists negative fractions wrong)
      xattrs: { 'user.bin': BINARY_XATTR, 'user.text': 'hello' },
    },
    body: Buffer.from('own'),
  },
  { header: { ...base, path: 'fifo', type: 'fifo', mode: 0o600 } },
  { header: { ...base, path: 'null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 } },
  { header: { ...base, path: 'loop0', type: 'block', mode: 0o660, devmajor: 7, devminor: 0 } },
];

/** What a reader should report for an entry written from `h`. */
function expectedOf(h: TarHeaderFields) {
  return {
    path: h.path,
    type: h.type,
    mode: h.mode,
    size: h.type === 'file' ? h.size : 0,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    linkname: h.linkname,
    devmajor: h.type === 'char' || h.type === 'block' ? h.devmajor : undefined,
    devminor: h.type === 'char' || h.type === 'block' ? h.devminor : undefined,
  };
}

/** One line of `tar -tv --full-time --numeric-owner --quoting-style=literal`, bytes kept. */
interface Listed {
  mode: string;
  owner: string;
  size: string;
  time: string;
  name: Buffer;
  target?: Buffer;
}

function gnuList(tarFile: string): Listed[] {
  const out = execFileSync(
    'tar',
    ['-tvf', tarFile, '--full-time', '--numeric-owner', '--quoting-style=literal'],
    { maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } },
  );
  // latin1 maps each byte to one character and back: names keep their exact bytes.
  return out
    .toString('latin1')
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^(\S{10}) (\d+\/\d+)\s+(\S+) (\S+ \S+)\s+(.*)$/.exec(line);
      assert.ok(m, line);
      const [, mode, owner, size, time, rest] = m as unknown as string[];
      const arrow = rest!.match(/^(.*?) (?:->|link to) (.*)$/);
      const bytes = (s: string) => Buffer.from(s, 'latin1');
      return {
        mode: mode!,
        owner: owner!,
        size: size!,
        time: time!,
        name: bytes(arrow ? arrow[1]! : rest!),
        ...(arrow ? { target: bytes(arrow[2]!) } : {}),
      };
    });
}

describe('packTar output read by GNU tar, tar-stream and ocipeek', () => {
  let dir: string;
  let tar: Buffer;
  let tarFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-write-tar-'));
    tar = await packTarBuffer(ENTRIES);
    tarFile = join(dir, 'out.tar');
    await pipeline(packTar(ENTRIES), createWriteStream(tarFile));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the same bytes streamed or buffered, ending with the end-of-archive marker', async () => {
    assert.deepEqual(await readFile(tarFile), tar);
    assert.equal(tar.length % 512, 0);
    assert.ok(tar.subarray(-1024).every((b) => b === 0));
  });

  it('reads back every field in ocipeek, whatever the chunking', async () => {
    for (const size of [1, 511, 4096, tar.length]) {
      const got: TarEntry[] = [];
      const bodies: string[] = [];
      for await (const r of readTar(chunked(tar, size))) {
        got.push(r.entry);
        const parts: Buffer[] = [];
        for await (const c of r.readBody()) parts.push(Buffer.from(c));
        bodies.push(Buffer.concat(parts).toString('latin1'));
      }
      assert.deepEqual(
        got.map((e) => ({ ...expectedOf(e), uname: e.uname, gname: e.gname, xattrs: e.xattrs })),
        ENTRIES.map(({ header: h }) => ({
          ...expectedOf(h),
          linkname: h.linkname,
          uname: h.uname,
          gname: h.gname,
          xattrs: h.xattrs,
        })),
      );
      assert.deepEqual(
        bodies,
        ENTRIES.map((e) => (e.body ? Buffer.from(e.body as Uint8Array).toString('latin1') : '')),
      );
    }
  });

  it('is listed by GNU tar with exact names, modes, owners, sizes, mtimes and link targets', () => {
    const listed = gnuList(tarFile);
    const want = ENTRIES.map(({ header: h }) => {
      return {
        type: TYPE_LETTERS[h.type],
        owner: `${h.uid}/${h.gid}`,
        size:
          h.type === 'char' || h.type === 'block'
            ? `${h.devmajor},${h.devminor}`
            : String(h.type === 'file' ? h.size : 0),
        time: h.mtime,
        name: encodeName(h.type === 'dir' ? `${h.path}/` : h.path),
        target: h.linkname === undefined ? undefined : encodeName(h.linkname),
      };
    });
    assert.deepEqual(
      listed.map((l) => ({
        type: l.mode[0],
        owner: l.owner,
        size: l.size,
        // GNU tar prints UTC (TZ=UTC below) with the fraction the archive holds.
        time: Date.parse(`${l.time.replace(' ', 'T')}Z`) / 1000,
        name: l.name,
        target: l.target,
      })),
      want,
    );
    assert.deepEqual(
      listed.map((l) => l.mode.slice(1)),
      [
        'rwxr-x---',
        'rw-r-----',
        'rw-r--r--',
        'rw-------',
        'rw-r--r--',
        'rw-r--r--',
        'rw-r--r--',
        'rwxrwxrwx',
        'rwxrwxrwx',
        'rw-r--r--',
        'rwsr-xr-x',
        'rw-------',
        'rw-rw-rw-',
        'rw-rw----',
      ],
    );
  });

  it('is extracted by GNU tar (--xattrs) to the exact bytes, modes, mtimes, links and xattrs', async () => {
    const out = join(dir, 'extracted');
    await mkdir(out);
    const root = process.getuid?.() === 0;
    // Device nodes need root and say nothing more than the listing does: left out.
    execFileSync('tar', [
      '--xattrs',
      '--xattrs-include=user.*',
      '-xf',
      tarFile,
      '-C',
      out,
      '--exclude=null',
      '--exclude=loop0',
    ]);
    const at = (p: string) => Buffer.concat([Buffer.from(`${out}/`), encodeName(p)]);
    const top = (await readdir(out, { encoding: 'buffer' }))
      .map((b) => b.toString('latin1'))
      .sort();
    assert.deepEqual(
      top,
      [
        'a'.repeat(100),
        'deep',
        'dir',
        'fifo',
        'longlink',
        'owned',
        'sym',
        'ünïcödé.txt',
        E9,
        E8,
        HFF,
      ]
        .map((p) => encodeName(p).toString('latin1'))
        .sort(),
    );
    for (const { header: h, body } of ENTRIES) {
      if (h.type === 'char' || h.type === 'block') continue;
      const st = await lstat(at(h.path));
      assert.equal(st.mtimeMs, h.mtime * 1000, h.path);
      if (h.type === 'symlink') {
        assert.deepEqual(
          await readlink(at(h.path), { encoding: 'buffer' }),
          encodeName(h.linkname!),
        );
        continue;
      }
      if (root || !(h.mode & 0o7000))
        assert.equal(st.mode & 0o7777, h.mode & ~(root ? 0 : process.umask()), h.path);
      if (root) assert.deepEqual([st.uid, st.gid], [h.uid, h.gid], h.path);
      if (h.type === 'fifo') assert.ok(st.isFIFO());
      if (h.type === 'hardlink') assert.equal(st.ino, (await lstat(at(h.linkname!))).ino);
      if (h.type === 'file')
        assert.deepEqual(await readFile(at(h.path)), Buffer.from(body as Uint8Array));
    }
    // The xattrs as the file system holds them: archived again by GNU tar from disk.
    const again = execFileSync('tar', [
      '--xattrs',
      '--xattrs-include=user.*',
      '-cf',
      '-',
      '-C',
      out,
      'owned',
    ]);
    const [owned] = await collectEntries(again);
    assert.deepEqual(owned!.xattrs, { 'user.bin': BINARY_XATTR, 'user.text': 'hello' });
  });

  it('is read by tar-stream with the same names, types, ids, sizes, links and devices', async () => {
    const ex = extract();
    ex.end(tar);
    const got: unknown[] = [];
    for await (const entry of ex) {
      const h = entry.header;
      entry.resume();
      got.push({
        name: h.name,
        type: h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        size: h.size,
        mtime: h.mtime?.getTime(),
        linkname: h.linkname ?? undefined,
        devmajor: h.devmajor,
        devminor: h.devminor,
      });
    }
    const want = ENTRIES.map(({ header: h }) => ({
      // tar-stream decodes names as UTF-8: bytes that are not UTF-8 become U+FFFD there.
      name: encodeName(h.type === 'dir' ? `${h.path}/` : h.path).toString('utf8'),
      type: TAR_STREAM_TYPES[h.type],
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      size: h.type === 'file' ? h.size : 0,
      // tar-stream reads the ustar field, not the PAX mtime: whole seconds, never negative.
      mtime: Math.max(0, Math.floor(h.mtime)) * 1000,
      linkname: h.linkname === undefined ? undefined : encodeName(h.linkname).toString('utf8'),
      devmajor: h.devmajor ?? 0,
      devminor: h.devminor ?? 0,
    }));
    assert.deepEqual(
      got.map((g) => ({
        ...(g as object),
        mtime: Math.floor((g as { mtime: number }).mtime / 1000) * 1000,
      })),
      want,
    );
  });
});

async function collectEntries(tar: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTarEntries(chunked(tar, 4096))) out.push(e);
  return out;
}

describe('packTar sizes, streaming and refusals', () => {
  it('writes a size over 8 GiB in a PAX record (and base-256) that GNU tar and ocipeek read', async () => {
    const size = 9 * 1024 ** 3 + 7;
    const header = encodeTarHeader({ ...base, path: 'big.bin', type: 'file', mode: 0o644, size });
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-big-tar-'));
    try {
      // A sparse file: the header, a hole for the body, then the end marker.
      const file = join(dir, 'big.tar');
      const fh = await open(file, 'w');
      await fh.write(header, 0, header.length, 0);
      await fh.truncate(header.length + size + (512 - (size % 512)) + 1024);
      await fh.close();
      const [listed] = gnuList(file);
      assert.equal(listed!.size, String(size));
      let seen: TarEntry | undefined;
      // ocipeek from the header alone (the body would be 9 GiB of zeros).
      for await (const r of readTar(chunked(header, 512), { allowMissingEnd: true })) {
        seen = r.entry;
        break;
      }
      assert.equal(seen!.size, size);
      assert.equal(seen!.path, 'big.bin');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pulls a streamed body one chunk at a time as the archive is read', async () => {
    let made = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const count = 256; // 16 MiB in all
    async function* body() {
      for (let i = 0; i < count; i++) {
        made++;
        yield chunk;
      }
    }
    const header: TarHeaderFields = {
      ...base,
      path: 'stream.bin',
      type: 'file',
      mode: 0o644,
      size: chunk.length * count,
    };
    let taken = 0;
    let bytes = 0;
    for await (const piece of packTar([{ header, body: body() }])) {
      taken++;
      bytes += piece.length;
      // The header came first; after that every body chunk is made only when asked for.
      assert.ok(made <= taken, `made ${made} chunks after ${taken} were taken`);
    }
    assert.equal(made, count);
    assert.equal(bytes, 512 + chunk.length * count + 1024);
  });

  it('refuses a body shorter or longer than its header says, and sparse entries', async () => {
    const header: TarHeaderFields = { ...base, path: 'f', type: 'file', mode: 0o644, size: 4 };
    await assert.rejects(packTarBuffer([{ header, body: Buffer.from('abc') }]), SizeMismatchError);
    await assert.rejects(
      packTarBuffer([{ header, body: [Buffer.from('abc'), Buffer.from('de')] }]),
      SizeMismatchError,
    );
    await assert.rejects(
      packTarBuffer([{ header, body: [Buffer.from('ab')] }]),
      (e: unknown) => e instanceof SizeMismatchError && /tar entry f/.test((e as Error).message),
    );
    assert.throws(() => encodeTarHeader({ ...header, sparse: true }), UnsupportedError);
  });

  it('adds a PAX header only where ustar cannot hold a field', () => {
    const plain = { ...base, type: 'file' as const, mode: 0o644 };
    assert.equal(encodeTarHeader({ ...plain, path: 'etc/passwd' }).length, 512);
    assert.equal(encodeTarHeader({ ...plain, path: SPLIT }).length, 512, 'prefix split');
    assert.ok(encodeTarHeader({ ...plain, path: LONG }).length > 512);
    assert.ok(encodeTarHeader({ ...plain, path: E9 }).length > 512, 'name not ASCII');
    assert.ok(encodeTarHeader({ ...plain, path: 'x', mtime: 1.5 }).length > 512);
  });

  it('keeps negative and fractional mtimes exactly', async () => {
    const times = [-1.5, -2.25, 0.000001, 1.5e-7, 1700000000.123456, 8 ** 11 + 0.5];
    const tar = await packTarBuffer(
      times.map((mtime, i) => ({
        header: { ...base, path: `t${i}`, type: 'file', mode: 0o644, mtime },
      })),
    );
    assert.deepEqual(
      (await collectEntries(tar)).map((e) => e.mtime),
      times,
    );
  });
});
