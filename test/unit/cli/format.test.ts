import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printList, printTable, TablePrinter, table } from '../../../src/cli/format.js';
import { LongListing, longLine } from '../../../src/cli/fs-format.js';
import { LineWriter } from '../../../src/cli/line-writer.js';
import type { EntryView } from '../../../src/fs/index.js';

/** A sink that keeps every write, decoded, one string per write. */
function collect(writes: string[]) {
  return { write: (b: Uint8Array) => writes.push(Buffer.from(b).toString('utf8')) };
}

describe('CLI output formatting', () => {
  it('table pads every column but the last to its widest cell and trims line ends', () => {
    const rows = [
      ['-rw-r--r--', '0/0', '12', 'a'],
      ['drwxr-xr-x', '1000/1000', '4096', 'dir'],
      ['x', 'y'],
      ['only', '', ''],
    ];
    assert.equal(
      table(rows),
      [
        '-rw-r--r--  0/0        12    a',
        'drwxr-xr-x  1000/1000  4096  dir',
        'x           y',
        'only',
      ].join('\n'),
    );
    assert.equal(table([]), '');
  });

  it('printList writes a list far longer than a call can spread, line for line, in batches', () => {
    const lines = Array.from({ length: 300_000 }, (_, i) => `/f/${i}`);
    assert.throws(() => ((...a: string[]) => a.length)(...lines), RangeError);
    const writes: string[] = [];
    printList(lines, collect(writes));
    assert.ok(writes.length > 1, 'more than one write');
    assert.deepEqual(writes.join('').split('\n'), [...lines, '']);
  });

  it('printTable lays rows out as table does, in batches, keeping a name that ends in a space', () => {
    const rows = [
      ['-rw-r--r--', '0/0', '12', 'a'],
      ['drwxr-xr-x', '1000/1000', '4096', 'dir'],
      ['x', 'y'],
      ['a', 'longer cell than the others'],
      ['only', '', ''],
    ];
    const writes: string[] = [];
    printTable(rows, collect(writes));
    assert.equal(writes.join(''), `${table(rows)}\n`);
    const spaced: string[] = [];
    printTable([['-rw-r--r--', 'name ends in a space ']], collect(spaced));
    assert.equal(spaced.join(''), '-rw-r--r--  name ends in a space \n');
    const many = Array.from({ length: 100_000 }, (_, i) => ['m', String(i), `/f/${i}`]);
    const batches: string[] = [];
    printTable(many, collect(batches));
    assert.ok(batches.length > 1, 'more than one write');
    assert.equal(batches.join(''), `${table(many)}\n`);
  });

  it('TablePrinter prints rows produced twice (measured, then printed) as printTable does', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ['-rw-r--r--', `${i % 7}/0`, `f${i}`]);
    const direct: string[] = [];
    const twice = new TablePrinter(collect(direct));
    for (const row of rows) twice.measure([...row]);
    for (const row of rows) twice.print([...row]);
    twice.end();
    assert.equal(direct.join(''), `${table(rows)}\n`);
  });
});

describe('LineWriter', () => {
  it('writes UTF-8 lines in 1 MiB batches, never splitting a line or a character', () => {
    const lines = Array.from({ length: 60_000 }, (_, i) => `/données/日本語/ファイル-${i}-é🙂`);
    const chunks: Buffer[] = [];
    const writer = new LineWriter({ write: (b: Uint8Array) => chunks.push(Buffer.from(b)) });
    for (const line of lines) writer.line(line);
    writer.end();
    assert.ok(chunks.length > 1, 'more than one write');
    for (const c of chunks) {
      assert.ok(c.length <= 1024 * 1024);
      assert.equal(c[c.length - 1], 0x0a, 'every write ends at a line end');
      assert.equal(c.toString('utf8').includes('\ufffd'), false, 'no character cut in two');
    }
    assert.deepEqual(Buffer.concat(chunks).toString('utf8').split('\n'), [...lines, '']);
  });

  it('a line longer than a batch goes out whole, in order, and buffers are not reused', () => {
    const long = 'x'.repeat(600_000);
    const kept: Uint8Array[] = [];
    const writer = new LineWriter({ write: (b: Uint8Array) => kept.push(b) });
    writer.line('before');
    writer.line(long);
    writer.line('after');
    writer.end();
    const text = kept.map((b) => Buffer.from(b).toString('utf8')).join('');
    assert.equal(text, `before\n${long}\nafter\n`);
    assert.equal(new Set(kept.map((b) => b.buffer)).size, kept.length, 'each write its own memory');
  });

  it('writes nothing for no lines', () => {
    const writes: Uint8Array[] = [];
    new LineWriter({ write: (b: Uint8Array) => writes.push(b) }).end();
    assert.equal(writes.length, 0);
  });
});

describe('LongListing', () => {
  it('lays entries out exactly as printTable(longLine) does, whatever the column widths', () => {
    const base = {
      type: 'file' as const,
      size: 0,
      nlink: 1,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      layer: 0,
      layerDigest: '',
      headerOffset: 0,
      dataOffset: 0,
    };
    const entries: EntryView[] = [
      { ...base, path: '/a', size: 12 },
      { ...base, path: '/dir', type: 'dir', mode: 0o4755, uid: 1000, gid: 100000, nlink: 12 },
      { ...base, path: '/dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { ...base, path: '/dev/sda', type: 'block', devmajor: 8 },
      { ...base, path: '/l', type: 'symlink', linkname: '../target with space', layer: 12 },
      {
        ...base,
        path: '/h',
        type: 'hardlink',
        contentType: 'file',
        linkname: '/a',
        size: 12,
        nlink: 2,
        mtime: 1.5e9,
      },
      { ...base, path: '/big', size: 123_456_789_012, mode: 0o1777, mtime: 4e9 },
      { ...base, path: '/sticky', type: 'dir', mode: 0o1770, mtime: -86_400 },
      { ...base, path: '/名前 é', mode: 0o2755, uid: 4_294_967_294 },
      { ...base, path: '/caf\udce9', type: 'symlink', linkname: 'new\nline\\' },
    ];
    const want: string[] = [];
    printTable(
      entries.map((e) => longLine(e, e.path)),
      collect(want),
    );
    const got: string[] = [];
    const listing = new LongListing(collect(got));
    for (const e of entries) listing.measure(e);
    for (const e of entries) listing.print(e, e.path);
    listing.end();
    assert.equal(got.join(''), want.join(''));
    assert.match(got.join(''), /crw-rw-rw- {2}1 {3}0\/0 +1,3 /);
    // A hardlink is the file it names: `-`, never `h`, with the group's link count.
    assert.match(got.join(''), /^-rw-r--r-- {2}2 {3}0\/0 +12 .* \/h => \/a$/m);
    assert.match(got.join(''), /^drwsr-xr-x {2}12 {2}1000\/100000 /m);
    // Names print escaped: a byte that is not UTF-8 as \xNN, a newline cannot break a line.
    assert.match(got.join(''), / \/caf\\xe9 -> new\\x0aline\\\\\n$/);
    assert.equal(got.join('').split('\n').length, entries.length + 1);
  });
});

describe('ls -h sizes', () => {
  it('are what GNU ls -lh prints for the same sizes', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync, truncateSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { humanSize } = await import('../../../src/cli/fs-format.js');
    const sizes = [
      0, 1, 1023, 1024, 1025, 1536, 9215, 9216, 10239, 10240, 10241, 102399, 1048575, 1048576,
      3_800_000, 10_485_759, 1_073_741_823, 1_073_741_824, 1_181_116_006, 1_099_511_627_776,
    ];
    const dir = mkdtempSync(join(tmpdir(), 'ocipeek-lsh-'));
    try {
      for (const size of sizes) {
        const file = join(dir, String(size));
        writeFileSync(file, '');
        truncateSync(file, size); // sparse: no disk used
      }
      const gnu = new Map(
        execFileSync('ls', ['-lh', '--time-style=+', dir], {
          encoding: 'utf8',
          env: { LC_ALL: 'C' },
        })
          .trim()
          .split('\n')
          .slice(1)
          .map((line) => line.split(/\s+/))
          .map((cols) => [Number(cols.at(-1)), cols[4]] as const),
      );
      for (const size of sizes) assert.equal(humanSize(size), gnu.get(size), `${size} bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replace the size column in long lines and listings', () => {
    const e = {
      path: '/big',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 3_800_000,
      nlink: 1,
      mtime: 0,
      layer: 1,
    } as unknown as EntryView;
    assert.equal(longLine(e, 'big', { human: true })[3], '3.7M');
    assert.equal(longLine(e, 'big')[3], '3800000');
    const writes: string[] = [];
    const listing = new LongListing(collect(writes), { human: true });
    listing.measure(e);
    listing.print(e, 'big');
    listing.end();
    assert.match(
      writes.join(''),
      /^-rw-r--r-- {2}1 {2}0\/0 {2}3\.7M {2}1970-01-01 00:00 {2}L1 {2}big\n$/,
    );
  });
});
