import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ContentChunker } from '../../../src/convert/zstd-chunked/content-chunker.js';
import { Crc64Iso } from '../../../src/convert/zstd-chunked/tar-split.js';
import { writeZstdChunkedLayer } from '../../../src/convert/zstd-chunked/zstd-chunked-writer.js';
import { parseZstdChunkedFooter } from '../../../src/lazy/zstd-chunked/footer.js';
import { packTarBuffer, type TarWriteEntry } from '../../../src/tar/index.js';
import { tempDir } from '../../harness/temp-dir.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function write(tar: Buffer) {
  const sink = new PassThrough();
  const parts: Buffer[] = [];
  sink.on('data', (c: Buffer) => parts.push(c));
  // Pieces of odd sizes, so headers and contents straddle the chunks the writer reads.
  const pieces = Array.from({ length: Math.ceil(tar.length / 7777) }, (_, i) =>
    tar.subarray(i * 7777, (i + 1) * 7777),
  );
  const result = await writeZstdChunkedLayer(Readable.from(pieces), sink);
  sink.end();
  return { result, blob: Buffer.concat(parts) };
}

const unzstd = (b: Buffer) => execFileSync('zstd', ['-dc'], { input: b, maxBuffer: 64 << 20 });

function file(path: string, body: Buffer, extra: Partial<TarWriteEntry['header']> = {}) {
  return {
    header: {
      path,
      type: 'file',
      size: body.length,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      ...extra,
    },
    body,
  } as TarWriteEntry;
}

describe('CRC-64/ISO (tar-split payloads)', () => {
  it('gives the catalogue check value for "123456789" and is the same fed in pieces', () => {
    const whole = new Crc64Iso();
    whole.update(Buffer.from('123456789'));
    // CRC-64/GO-ISO check value (reveng catalogue): 0xb90956c775a41001.
    assert.equal(whole.digest().toString('hex'), 'b90956c775a41001');
    const pieces = new Crc64Iso();
    for (const p of ['1', '2345', '6789']) pieces.update(Buffer.from(p));
    assert.equal(pieces.digest().toString('hex'), 'b90956c775a41001');
  });
});

describe('zstd:chunked chunking (c/storage rules)', () => {
  const cuts = (content: Buffer, piece = content.length || 1) => {
    const c = new ContentChunker();
    const ops = [];
    for (let i = 0; i < content.length; i += piece)
      ops.push(...c.feed(content.subarray(i, i + piece)));
    ops.push(...c.finish());
    const chunks: Array<{ size: number; zeros: boolean }> = [];
    let size = 0;
    for (const op of ops) {
      if (op.kind === 'bytes') size += op.bytes.length;
      else {
        chunks.push({ size, zeros: op.zeros });
        size = 0;
      }
    }
    assert.equal(size, 0, 'every byte is in a chunk');
    return chunks;
  };

  it('a run of 1024 zeros is a chunk of its own, 1023 is not; a file may end in one', () => {
    const a = randomBytes(100);
    assert.deepEqual(
      cuts(Buffer.concat([a, Buffer.alloc(1024), a])).map((c) => c.zeros),
      [false, true, false],
    );
    assert.deepEqual(cuts(Buffer.concat([a, Buffer.alloc(1023), a])), [
      { size: 1223, zeros: false },
    ]);
    assert.deepEqual(cuts(Buffer.concat([Buffer.alloc(5000)])), [{ size: 5000, zeros: true }]);
    assert.deepEqual(cuts(Buffer.concat([a, Buffer.alloc(2000)])), [
      { size: 100, zeros: false },
      { size: 2000, zeros: true },
    ]);
  });

  it('cuts the same wherever the pieces it is fed end', () => {
    const content = Buffer.concat([randomBytes(400_000), Buffer.alloc(3000), randomBytes(90_000)]);
    const whole = cuts(content);
    assert.ok(whole.length > 3);
    assert.deepEqual(cuts(content, 4093), whole);
    assert.deepEqual(cuts(content, 1), whole);
  });
});

describe('writeZstdChunkedLayer', () => {
  it('keeps the tar byte for byte in its frames; the footer points at the TOC; the tar-split rebuilds the tar', async () => {
    const big = Buffer.concat([randomBytes(200_000), Buffer.alloc(50_000), randomBytes(70_000)]);
    const tar = await packTarBuffer([
      { header: { path: 'd', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, mtime: 1.5 } },
      file(`d/${'long-name-'.repeat(20)}.txt`, Buffer.from('long\n'), {
        xattrs: { 'user.k': 'v\u00ff' },
        uid: 1000,
        gid: 1000,
      }),
      file('d/big.bin', big),
      file('d/empty', Buffer.alloc(0)),
      {
        header: {
          path: 'd/hard',
          type: 'hardlink',
          linkname: 'd/big.bin',
          size: 0,
          mode: 0o644,
          uid: 0,
          gid: 0,
          mtime: 0,
        },
      },
    ]);
    // Trailing zeros past the end-of-archive marker, as some writers pad to a record.
    const padded = Buffer.concat([tar, Buffer.alloc(8192)]);
    const { result, blob } = await write(padded);
    assert.equal(result.diffId, sha(padded));
    assert.equal(result.digest, sha(blob));
    assert.equal(result.size, blob.length);
    assert.ok(unzstd(blob).equals(padded), 'zstd -dc gives the tar back');

    const position = parseZstdChunkedFooter(blob.subarray(blob.length - 72))!;
    assert.equal(
      result.annotations['io.github.containers.zstd-chunked.manifest-position'],
      `${position.offset}:${position.length}:${position.uncompressedLength}:1`,
    );
    const toc = JSON.parse(
      unzstd(blob.subarray(position.offset, position.offset + position.length)).toString(),
    );
    const names = toc.entries.map((e: { type: string; name: string }) => `${e.type} ${e.name}`);
    assert.ok(names.includes('hardlink d/hard'));
    const long = toc.entries.find((e: { name: string }) => e.name.startsWith('d/long'));
    assert.deepEqual(long.xattrs, {
      'user.k': Buffer.from('v\u00ff', 'latin1').toString('base64'),
    });
    assert.equal(long.uid, 1000);
    assert.equal(toc.entries[0].modtime, '1970-01-01T00:00:01.5Z');
    // Each content extent decompresses to exactly its chunk.
    const bigEntries = toc.entries.filter((e: { name: string }) => e.name === 'd/big.bin');
    assert.ok(bigEntries.some((e: { chunkType?: string }) => e.chunkType === 'zeros'));
    const endOf = (i: number) => bigEntries[i + 1]?.offset ?? bigEntries[0].endOffset;
    const rebuilt = Buffer.concat(
      bigEntries.map((e: { offset: number }, i: number) =>
        unzstd(blob.subarray(e.offset, endOf(i))),
      ),
    );
    assert.ok(rebuilt.equals(big));

    // The tar-split: segments and file CRCs that give the tar back with the contents.
    const [splitOffset, splitLength, splitSize] = result.annotations[
      'io.github.containers.zstd-chunked.tarsplit-position'
    ]!.split(':').map(Number) as [number, number, number];
    const split = blob.subarray(splitOffset, splitOffset + splitLength);
    assert.equal(sha(split), toc.tarSplitDigest);
    const lines = unzstd(split);
    assert.equal(lines.length, splitSize);
    const contents: Record<string, Buffer> = {
      'd/big.bin': big,
      [long.name]: Buffer.from('long\n'),
    };
    const out: Buffer[] = [];
    let position_ = 0;
    for (const line of lines.toString().trimEnd().split('\n')) {
      const e = JSON.parse(line);
      assert.equal(e.position, position_++);
      if (e.type === 2) out.push(Buffer.from(e.payload, 'base64'));
      else if (e.size > 0) {
        const body = contents[e.name]!;
        const crc = new Crc64Iso();
        crc.update(body);
        assert.equal(e.payload, crc.digest().toString('base64'));
        out.push(body);
      } else assert.equal(e.payload, null);
    }
    assert.ok(Buffer.concat(out).equals(padded), 'tar-split + contents = the tar');
  });

  it("carries the tar's access and change times, and PAX times to the nanosecond, as c/storage does", async () => {
    // GNU tar's posix format writes mtime, atime and ctime PAX records with nanoseconds;
    // c/storage compares the TOC's times with the tar-split's headers to the nanosecond.
    const dir = await tempDir('zstd-times');
    try {
      writeFileSync(path.join(dir.path, 'f'), 'x');
      execFileSync('touch', ['-m', '-d', '2024-01-02T03:04:05.123456789Z', 'f'], { cwd: dir.path });
      execFileSync('touch', ['-a', '-d', '2024-01-02T03:04:06.987654321Z', 'f'], { cwd: dir.path });
      const tar = execFileSync('tar', ['--format=posix', '-cf', '-', 'f'], { cwd: dir.path });
      const ctime = /\d+ ctime=(\d+)\.(\d+)\n/.exec(tar.toString('latin1'))!;
      const { blob } = await write(tar);
      const position = parseZstdChunkedFooter(blob.subarray(blob.length - 72))!;
      const toc = JSON.parse(
        unzstd(blob.subarray(position.offset, position.offset + position.length)).toString(),
      );
      const entry = toc.entries.find((e: { name: string }) => e.name === 'f');
      assert.equal(entry.modtime, '2024-01-02T03:04:05.123456789Z');
      assert.equal(entry.accesstime, '2024-01-02T03:04:06.987654321Z');
      const changed = new Date(Number(ctime[1]) * 1000).toISOString().slice(0, 19);
      const nanos = ctime[2]!.slice(0, 9).padEnd(9, '0').replace(/0+$/, '');
      assert.equal(entry.changetime, `${changed}${nanos ? `.${nanos}` : ''}Z`);
      assert.deepEqual(Object.keys(entry).slice(0, 7), [
        'type',
        'name',
        'mode',
        'size',
        'modtime',
        'accesstime',
        'changetime',
      ]);
    } finally {
      await dir.remove();
    }
  });

  it('refuses a layer with two entries for one name (c/storage refuses such a TOC)', async () => {
    const tar = await packTarBuffer([file('a', Buffer.from('1')), file('a', Buffer.from('2'))]);
    await assert.rejects(
      write(tar),
      /a is in the layer twice, which a zstd:chunked TOC cannot hold/,
    );
  });

  it('refuses a GNU sparse file in one line', async () => {
    // A GNU sparse header (type S) made by GNU tar's format.
    const header = Buffer.alloc(512);
    header.write('sparse', 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write('00000000000\0', 124);
    header.write('00000000000\0', 136);
    header.write('S', 156);
    header.write('ustar  \0', 257);
    header.write('00000000010\0', 483); // real size 8
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const tar = Buffer.concat([header, Buffer.alloc(1024)]);
    await assert.rejects(write(tar), /sparse file, which zstd:chunked cannot hold/);
  });
});
