import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import {
  DEFAULT_MAX_ARCHIVE_ENTRIES,
  defaultMaxExtractedBytes,
  extractArchive,
  packDirectory,
} from '../../../src/archive/index.js';
import { InvalidTarError, TooLargeError } from '../../../src/index.js';
import { encodeName } from '../../../src/tar/index.js';

type TarItem =
  | { name: string; body: Buffer }
  | { name: string; link: string; type: 'link' | 'symlink' };

/** Write a tar (gzipped when the name ends in .gz) of `items` with tar-stream. */
async function writeTar(file: string, items: TarItem[]): Promise<void> {
  const p = pack();
  const done = pipeline(
    p,
    ...((file.endsWith('.gz') ? [createGzip({ level: 9 })] : []) as []),
    createWriteStream(file),
  );
  for (const item of items) {
    if ('body' in item) p.entry({ name: item.name }, item.body);
    else p.entry({ name: item.name, type: item.type, linkname: item.link });
  }
  p.finalize();
  await done;
}

async function withTemp(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'ocipeek-extract-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('packDirectory / extractArchive', () => {
  it('round-trips a folder, leaves out excluded names, and is reproducible', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ocipeek-pack-'));
    try {
      const src = join(root, 'src');
      await mkdir(join(src, 'blobs', 'sha256'), { recursive: true });
      await mkdir(join(src, '.ocipeek'), { recursive: true });
      await writeFile(join(src, 'index.json'), '{"a":1}');
      await writeFile(join(src, 'blobs', 'sha256', 'x'), Buffer.alloc(70_000, 7));
      await writeFile(join(src, '.ocipeek', 'lock'), 'no');
      await packDirectory(src, join(root, 'a.tar'), { exclude: ['.ocipeek'] });
      await packDirectory(src, join(root, 'b.tar'), { exclude: ['.ocipeek'] });
      assert.deepEqual(await readFile(join(root, 'a.tar')), await readFile(join(root, 'b.tar')));
      const out = join(root, 'out');
      await mkdir(out);
      const { files } = await extractArchive(join(root, 'a.tar'), out);
      assert.deepEqual(files.sort(), ['blobs/sha256/x', 'index.json']);
      assert.deepEqual(await readFile(join(out, 'blobs', 'sha256', 'x')), Buffer.alloc(70_000, 7));
      await assert.rejects(readFile(join(out, '.ocipeek', 'lock')), { code: 'ENOENT' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('turns links inside the archive into files (docker save dedups layers with them)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ocipeek-pack-'));
    try {
      const { execFile } = await import('node:child_process');
      const { promisify } = await import('node:util');
      const src = join(root, 'src');
      await mkdir(join(src, 'a'), { recursive: true });
      await mkdir(join(src, 'b'), { recursive: true });
      await writeFile(join(src, 'a', 'layer.tar'), 'layer bytes');
      await symlink('../a/layer.tar', join(src, 'b', 'layer.tar'));
      await promisify(execFile)('tar', ['-cf', join(root, 'l.tar'), '-C', src, 'a', 'b']);
      const out = join(root, 'out');
      await mkdir(out);
      await extractArchive(join(root, 'l.tar'), out);
      assert.equal(await readFile(join(out, 'b', 'layer.tar'), 'utf8'), 'layer bytes');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a gzip bomb is refused by its declared size before its bytes are written', () =>
    withTemp(async (root) => {
      // 64 MiB of zeros gzip to ~64 KiB: a 1000:1 archive.
      const bomb = join(root, 'bomb.tar.gz');
      await writeTar(bomb, [
        { name: 'index.json', body: Buffer.from('{}') },
        { name: 'blobs/sha256/zeros', body: Buffer.alloc(64 * 1024 * 1024) },
      ]);
      assert.ok((await stat(bomb)).size < 1024 * 1024);
      const out = join(root, 'out');
      await mkdir(out);
      await assert.rejects(extractArchive(bomb, out, { maxBytes: 8 * 1024 * 1024 }), (e) => {
        assert.ok(e instanceof TooLargeError, String(e));
        assert.match(
          (e as Error).message,
          /bomb\.tar\.gz once extracted exceeds the limit of 8388608 bytes/,
        );
        return true;
      });
      await assert.rejects(stat(join(out, 'blobs', 'sha256', 'zeros')), { code: 'ENOENT' });
    }));

  it('the default byte limit is the size of a plain tar, 20x plus 1 GiB of a gzipped one', () => {
    assert.equal(defaultMaxExtractedBytes(5000, false), 5000);
    assert.equal(defaultMaxExtractedBytes(1000, true), 20_000 + 1024 ** 3);
    // A real gzip bomb (~1000:1) of 10 MiB would inflate to ~10 GiB: refused.
    assert.ok(defaultMaxExtractedBytes(10 * 1024 ** 2, true) < 10 * 1024 ** 3);
    assert.equal(DEFAULT_MAX_ARCHIVE_ENTRIES, 100_000);
  });

  it('an archive with more entries than allowed is refused', () =>
    withTemp(async (root) => {
      const many = join(root, 'many.tar');
      await writeTar(
        many,
        Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, body: Buffer.from('x') })),
      );
      const out = join(root, 'out');
      await mkdir(out);
      await assert.rejects(
        extractArchive(many, out, { maxEntries: 20 }),
        (e) =>
          e instanceof InvalidTarError && /holds more than 20 entries/.test((e as Error).message),
      );
      assert.ok((await readdir(out)).length <= 20);
    }));

  it('many links to one big file become hard links, not copies that could fill the disk', () =>
    withTemp(async (root) => {
      const file = join(root, 'links.tar');
      const big = Buffer.alloc(4 * 1024 * 1024, 1);
      await writeTar(file, [
        { name: 'a/layer.tar', body: big },
        ...Array.from({ length: 40 }, (_, i) => ({
          name: `l${i}/layer.tar`,
          link: i % 2 ? 'a/layer.tar' : '../a/layer.tar',
          type: (i % 2 ? 'link' : 'symlink') as 'link' | 'symlink',
        })),
      ]);
      const out = join(root, 'out');
      await mkdir(out);
      const { files } = await extractArchive(file, out);
      assert.equal(files.length, 41);
      const original = await stat(join(out, 'a', 'layer.tar'));
      for (let i = 0; i < 40; i++) {
        const copy = await stat(join(out, `l${i}`, 'layer.tar'));
        assert.ok(copy.isFile());
        assert.equal(copy.ino, original.ino, `l${i} shares the original's inode`);
      }
      assert.equal((await stat(join(out, 'a', 'layer.tar'))).nlink, 41);
    }));

  it('packs and extracts names that are not UTF-8 to their exact bytes', () =>
    withTemp(async (root) => {
      const e9 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
      const e8 = Buffer.from([0x63, 0x61, 0x66, 0xe8]);
      const src = Buffer.from(join(root, 'src'));
      const at = (base: Buffer, ...names: Buffer[]) =>
        Buffer.concat([base, ...names.flatMap((n) => [Buffer.from('/'), n])]);
      await mkdir(at(src, e9), { recursive: true });
      await writeFile(at(src, e9, e9), 'latin1 e-acute');
      await writeFile(at(src, e9, e8), 'latin1 e-grave');
      const file = join(root, 'bytes.tar');
      await packDirectory(src.toString(), file);
      // GNU tar sees the exact bytes the folder holds.
      const { stdout } = await promisify(execFile)(
        'tar',
        ['-tf', file, '--quoting-style=literal'],
        { encoding: 'buffer' },
      );
      assert.deepEqual(stdout.toString('latin1').trim().split('\n'), [
        `${e9.toString('latin1')}/`,
        `${e9.toString('latin1')}/${e8.toString('latin1')}`,
        `${e9.toString('latin1')}/${e9.toString('latin1')}`,
      ]);
      const out = Buffer.from(join(root, 'out'));
      await mkdir(out);
      const { files } = await extractArchive(file, out.toString());
      assert.deepEqual(
        files.map((f) => encodeName(f)),
        [Buffer.concat([e9, Buffer.from('/'), e8]), Buffer.concat([e9, Buffer.from('/'), e9])],
      );
      assert.deepEqual(
        await readdir(at(out, e9), { encoding: 'buffer' }).then((n) => n.sort(Buffer.compare)),
        [e8, e9],
      );
      assert.equal(await readFile(at(out, e9, e9), 'utf8'), 'latin1 e-acute');
      assert.equal(await readFile(at(out, e9, e8), 'utf8'), 'latin1 e-grave');
    }));

  it('refuses fifos, devices and absolute or climbing names before writing them', () =>
    withTemp(async (root) => {
      const out = join(root, 'out');
      await mkdir(out);
      const cases: Array<[string, Record<string, unknown>, RegExp]> = [
        ['fifo', { name: 'pipe', type: 'fifo' }, /"pipe" is a fifo/],
        [
          'char',
          { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
          /"null" is a char/,
        ],
        ['abs', { name: '/etc/evil' }, /"\/etc\/evil" has an absolute path/],
        ['climb', { name: 'a/../../evil' }, /points outside the archive/],
        [
          'abs-link',
          { name: 'l', type: 'symlink', linkname: '/etc/passwd' },
          /"l" points at an absolute path/,
        ],
      ];
      for (const [label, header, message] of cases) {
        const p = pack();
        p.entry({ name: 'index.json' }, '{}');
        p.entry(header as Parameters<typeof p.entry>[0], Buffer.alloc(0));
        p.finalize();
        const file = join(root, `${label}.tar`);
        await pipeline(p, createWriteStream(file));
        await assert.rejects(
          extractArchive(file, out),
          (e) => e instanceof InvalidTarError && message.test((e as Error).message),
          label,
        );
      }
      await assert.rejects(stat(join(root, 'evil')), { code: 'ENOENT' });
      assert.deepEqual(await readdir(out), ['index.json']);
    }));

  it('names the archive in the error when it is cut at an entry boundary', () =>
    withTemp(async (root) => {
      const file = join(root, 'cut.tar');
      await writeTar(file, [{ name: 'index.json', body: Buffer.alloc(512, 0x20) }]);
      const whole = await readFile(file);
      await writeFile(file, whole.subarray(0, 1024)); // header + body, no end marker
      const out = join(root, 'out');
      await mkdir(out);
      await assert.rejects(
        extractArchive(file, out),
        (e) =>
          e instanceof InvalidTarError &&
          (e as Error).message.includes(file) &&
          /truncated/.test((e as Error).message),
      );
    }));
});
