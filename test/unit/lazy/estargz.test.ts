import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeEstargzLayer } from '../../../src/convert/index.js';
import { isOcipeekError, type LazyLayerError } from '../../../src/errors/index.js';
import {
  bufferRangeSource,
  ESTARGZ_TOC_DIGEST_ANNOTATION,
  estargzFooter,
  type LazyLayer,
  openLazyLayer,
  parseEstargzFooter,
} from '../../../src/lazy/index.js';
import type { Descriptor } from '../../../src/media/index.js';
import { readTarEntries } from '../../../src/tar/index.js';
import { type LayerEntry, makeTar } from '../../harness/layers.js';
import { handmadeEstargz } from './estargz-fixture.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function entriesOf(source: Readable) {
  const out = [];
  for await (const e of readTarEntries(source)) out.push(e);
  return out;
}

async function toBuffer(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

const big = randomBytes(300_000);
const ENTRIES: LayerEntry[] = [
  { path: 'etc/', type: 'dir' },
  { path: 'etc/hosts', content: '127.0.0.1 localhost\n' },
  { path: 'etc/empty', content: '' },
  { path: 'usr/bin/big', content: big, mode: 0o755, uid: 1000, gid: 1000, uname: 'me' },
  { path: 'usr/bin/link', type: 'symlink', linkname: 'big' },
  { path: 'usr/bin/hard', type: 'hardlink', linkname: 'usr/bin/big' },
  { path: `deep/${'d'.repeat(120)}/file`, content: 'long name' },
  { path: 'x/attr', content: 'xattr', pax: { 'SCHILY.xattr.user.k': 'v\u00ff' } },
  { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
  { path: 'usr/.wh.gone', content: '' },
];

async function estargz(entries = ENTRIES, chunkSize = 64 * 1024) {
  const tar = await makeTar(entries);
  const sink = new PassThrough();
  const collected = toBuffer(sink);
  const result = await writeEstargzLayer(Readable.from([tar]), sink, { chunkSize });
  sink.end();
  return { blob: await collected, result, tar };
}

function descriptorOf(blob: Buffer, tocDigest?: string): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha256(blob),
    size: blob.length,
    annotations: tocDigest ? { [ESTARGZ_TOC_DIGEST_ANNOTATION]: tocDigest } : undefined,
  };
}

async function open(blob: Buffer, tocDigest?: string): Promise<LazyLayer> {
  const layer = await openLazyLayer(
    bufferRangeSource(blob, 'layer 0'),
    descriptorOf(blob, tocDigest),
  );
  assert.ok(layer);
  return layer;
}

async function rejectsWith(promise: Promise<unknown>, problem: string): Promise<LazyLayerError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isOcipeekError(err, 'ERR_LAZY_LAYER'), `expected ERR_LAZY_LAYER, got ${err}`);
    assert.equal((err as LazyLayerError).problem, problem, (err as Error).message);
    assert.match((err as Error).message, /^layer 0: /);
    return err as LazyLayerError;
  }
  assert.fail('expected an error');
}

describe('eStargz footer', () => {
  it('round-trips the TOC offset and is an empty gzip member', () => {
    const footer = estargzFooter(0x1234abcd);
    assert.equal(footer.length, 51);
    assert.equal(gunzipSync(footer).length, 0);
    assert.deepEqual(parseEstargzFooter(footer), { tocOffset: 0x1234abcd, footerSize: 51 });
    assert.equal(footer.subarray(16, 38).toString(), '000000001234abcdSTARGZ');
  });

  it('reads the 47-byte stargz footer and refuses other bytes', () => {
    const legacy = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 22, 0]),
      Buffer.from('00000000000000ffSTARGZ'),
      Buffer.from([1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]);
    assert.equal(legacy.length, 47);
    assert.deepEqual(parseEstargzFooter(legacy), { tocOffset: 255, footerSize: 47 });
    assert.equal(parseEstargzFooter(gzipSync(randomBytes(100))), undefined);
  });
});

describe('writeEstargzLayer + openLazyLayer', () => {
  it('writes an ordinary gzip tar with the same entries plus the bookkeeping files', async () => {
    const { blob, result, tar } = await estargz();
    const plain = gunzipSync(blob);
    assert.equal(sha256(plain), result.diffId);
    assert.equal(plain.length, result.uncompressedSize);
    assert.equal(sha256(blob), result.digest);
    const original = (await entriesOf(Readable.from([tar]))).map((e) => e.path);
    const converted = (await entriesOf(Readable.from([plain]))).map((e) => e.path);
    assert.deepEqual(converted, ['.no.prefetch.landmark', ...original, 'stargz.index.json']);
  });

  it('lists every entry from the TOC with tar-entry fields', async () => {
    const { blob, result, tar } = await estargz();
    const layer = await open(blob, result.tocDigest);
    assert.equal(layer.format, 'estargz');
    assert.equal(layer.tocVerified, true);
    assert.deepEqual(layer.prefetch, { landmark: 'none', files: [] });
    const fromTar = await entriesOf(Readable.from([gunzipSync(blob)]));
    const strip = (e: { path: string; type: string; size: number; mode: number }) => {
      const {
        path,
        type,
        size,
        mode,
        uid,
        gid,
        mtime,
        linkname,
        uname,
        devmajor,
        devminor,
        xattrs,
      } = e as never as Record<string, unknown>;
      return {
        path,
        type,
        size,
        mode,
        uid,
        gid,
        mtime,
        linkname,
        uname,
        devmajor,
        devminor,
        xattrs,
      };
    };
    assert.deepEqual(layer.list().map(strip), fromTar.map(strip));
    assert.ok(tar.length > 0);
    const bigEntry = layer.entry('/usr/bin/big');
    assert.equal(bigEntry?.chunks.length, 5, 'a 300 kB file in 64 KiB chunks');
    assert.equal(bigEntry?.digest, sha256(big));
  });

  it('reads files chunk by chunk, following hard and symbolic links by the layer rules', async () => {
    const { blob, result } = await estargz();
    const layer = await open(blob, result.tocDigest);
    assert.equal((await toBuffer(layer.open('etc/hosts'))).toString(), '127.0.0.1 localhost\n');
    assert.deepEqual(await toBuffer(layer.open('usr/bin/big')), big);
    assert.deepEqual(await toBuffer(layer.open('usr/bin/hard')), big);
    assert.deepEqual(await toBuffer(layer.open('/usr/bin/link')), big);
    assert.deepEqual(await toBuffer(layer.open('usr/bin/../bin/./hard')), big);
    assert.equal((await toBuffer(layer.open('etc/empty'))).length, 0);
    const toc = await toBuffer(layer.open('stargz.index.json'));
    assert.equal(sha256(toc), result.tocDigest);
    assert.throws(() => layer.open('etc'), /etc: is a directory/);
    assert.throws(() => layer.open('dev/null'), /dev\/null: not a regular file \(char\)/);
    assert.throws(
      () => layer.open('nope'),
      (e) => isOcipeekError(e, 'ERR_PATH_NOT_FOUND'),
    );
  });

  it('reads footer and a small TOC in one request, then a small file with one more', async () => {
    const { blob, result } = await estargz();
    const source = bufferRangeSource(blob, 'layer 0');
    const layer = await openLazyLayer(source, descriptorOf(blob, result.tocDigest));
    assert.equal(source.requests, 1, 'the last 8 KiB: footer and TOC');
    const tocBytes = source.bytesRead;
    assert.equal(tocBytes, 8 * 1024);
    await toBuffer(layer!.open('etc/hosts'));
    assert.equal(source.requests, 2);
    assert.ok(source.bytesRead - tocBytes < 200, `${source.bytesRead - tocBytes}`);
  });

  it('a TOC larger than the first read is fetched with one more request, no byte twice', async () => {
    const many: LayerEntry[] = Array.from({ length: 600 }, (_, i) => ({
      path: `files/${i}/${randomBytes(8).toString('hex')}`,
      content: `${i}`,
    }));
    const { blob, result } = await estargz(many);
    const source = bufferRangeSource(blob, 'layer 0');
    const layer = (await openLazyLayer(source, descriptorOf(blob, result.tocDigest)))!;
    const tocOffset = parseEstargzFooter(blob.subarray(-51))!.tocOffset;
    assert.ok(blob.length - tocOffset > 8 * 1024, `TOC + footer: ${blob.length - tocOffset}`);
    assert.equal(source.requests, 2);
    assert.equal(source.bytesRead, blob.length - tocOffset);
    assert.equal(layer.list().filter((e) => e.path.startsWith('files/')).length, 600);
    assert.equal(
      (await toBuffer(layer.open('files/599/' + many[599]!.path.split('/')[2]))).toString(),
      '599',
    );
  });

  it('finds eStargz by its footer when the descriptor has no annotation', async () => {
    const { blob } = await estargz();
    const layer = await open(blob);
    assert.equal(layer.tocVerified, false);
    assert.equal(layer.list().length, ENTRIES.length + 2);
    const plain = gzipSync(await makeTar(ENTRIES));
    assert.equal(
      await openLazyLayer(bufferRangeSource(plain), descriptorOf(plain)),
      undefined,
      'an ordinary layer',
    );
  });

  it('reads a hand-built layer laid out as the Go writer does (prefetch landmark)', async () => {
    const later = randomBytes(2500);
    const { blob, tocDigest } = await handmadeEstargz([
      { name: 'app/start', content: Buffer.from('first') },
      { name: '.prefetch.landmark', content: Buffer.from([0xf]) },
      { name: 'app/dir/', dir: true },
      { name: 'app/later', content: later, chunk: 1000 },
      { name: 'app/tail', content: Buffer.from('end') },
    ]);
    const layer = await open(blob, tocDigest);
    assert.deepEqual(layer.prefetch, { landmark: 'prefetch', files: ['app/start'] });
    assert.deepEqual(
      layer.list().map((e) => `${e.type}:${e.path}`),
      [
        'file:app/start',
        'file:.prefetch.landmark',
        'dir:app/dir',
        'file:app/later',
        'file:app/tail',
        'file:stargz.index.json',
      ],
    );
    assert.equal(layer.entry('app/dir')?.mode, 0o755);
    assert.equal(layer.entry('app/later')?.chunks.length, 3);
    assert.deepEqual(await toBuffer(layer.open('app/later')), later);
    assert.equal((await toBuffer(layer.open('app/start'))).toString(), 'first');
    assert.equal((await toBuffer(layer.open('app/tail'))).toString(), 'end');
    // Still an ordinary tar.gz.
    const plain = await entriesOf(Readable.from([gunzipSync(blob)]));
    assert.equal(plain.at(-1)?.path, 'stargz.index.json');
  });
});

describe('bad eStargz input', () => {
  it('refuses a TOC whose digest does not match the annotation', async () => {
    const { blob } = await estargz();
    await rejectsWith(open(blob, sha256(Buffer.from('other'))), 'toc-digest');
  });

  it('refuses a footer that points outside the layer or at no TOC', async () => {
    const { blob, result } = await estargz();
    const lying = Buffer.concat([blob.subarray(0, -51), estargzFooter(blob.length + 10)]);
    await rejectsWith(open(lying, result.tocDigest), 'footer');
    const wrong = Buffer.concat([blob.subarray(0, -51), estargzFooter(0)]);
    await rejectsWith(open(wrong, result.tocDigest), 'footer');
    const none = Buffer.concat([blob.subarray(0, -51), Buffer.alloc(51)]);
    await rejectsWith(open(none, result.tocDigest), 'footer');
  });

  it('fails a chunk whose bytes do not match its digest, before handing them out', async () => {
    const { blob, result } = await estargz();
    const layer = await open(blob, result.tocDigest);
    const third = layer.entry('usr/bin/big')!.chunks[2]!;
    const fourth = layer.entry('usr/bin/big')!.chunks[3]!;
    // Another member of the same size in the same place: it inflates fine, to other bytes.
    // zlib now and then finds a few bytes to save even on random data: draw until the
    // forged member has exactly the original's length (bounded).
    let forged = gzipSync(randomBytes(third.chunkSize));
    for (let i = 0; i < 100 && forged.length !== fourth.offset - third.offset; i++) {
      forged = gzipSync(randomBytes(third.chunkSize));
    }
    assert.equal(forged.length, fourth.offset - third.offset);
    const bad = Buffer.concat([
      blob.subarray(0, third.offset),
      forged,
      blob.subarray(fourth.offset),
    ]);
    const badLayer = await open(bad, result.tocDigest);
    const received: Buffer[] = [];
    const err = await rejectsWith(
      (async () => {
        for await (const part of badLayer.open('usr/bin/big')) received.push(part as Buffer);
      })(),
      'chunk-digest',
    );
    assert.match(err.message, /chunk 2 of usr\/bin\/big/);
    assert.deepEqual(Buffer.concat(received), big.subarray(0, 2 * 64 * 1024));
  });

  it('refuses chunk offsets outside the layer', async () => {
    const { blob } = await handmadeEstargz([{ name: 'a', content: Buffer.from('x'), offset: 1e9 }]);
    await rejectsWith(open(blob), 'offset');
  });
});
