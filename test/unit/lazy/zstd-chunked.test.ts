import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isOcipeekError } from '../../../src/errors/index.js';
import {
  bufferRangeSource,
  openLazyLayer,
  parsePositionAnnotation,
  parseZstdChunkedFooter,
  zstdChunkedFooter,
} from '../../../src/lazy/index.js';
import type { Descriptor } from '../../../src/media/index.js';
import { zstdCompress } from '../../harness/layers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function toBuffer(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

function skippable(data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50, 0);
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data]);
}

/**
 * A zstd:chunked blob laid out as containers/storage (skopeo 1.9.3) writes it: file data in
 * zstd frames of their own, the TOC as a zstd frame inside a skippable frame, the 40-byte
 * footer in a last skippable frame. Tar headers are left out: only the lazy reader looks.
 */
async function handmade(files: Array<{ name: string; content: Buffer; chunk?: number }>) {
  const parts: Buffer[] = [await zstdCompress(Buffer.alloc(512))];
  let offset = parts[0]!.length;
  const entries: Record<string, unknown>[] = [];
  for (const f of files) {
    const reg: Record<string, unknown> = {
      type: 'reg',
      name: f.name,
      mode: 0o644,
      size: f.content.length,
      modtime: '2024-01-01T00:00:00Z',
      digest: sha(f.content),
      offset,
    };
    entries.push(reg);
    const size = f.chunk ?? f.content.length;
    for (let at = 0; at < f.content.length; at += size) {
      const piece = f.content.subarray(at, at + size);
      const frame = await zstdCompress(piece);
      if (at > 0) {
        entries.push({
          type: 'chunk',
          name: f.name,
          offset,
          chunkOffset: at,
          chunkSize: piece.length,
          chunkDigest: sha(piece),
        });
      } else if (f.chunk) {
        Object.assign(reg, { chunkSize: piece.length, chunkDigest: sha(piece) });
      }
      parts.push(frame);
      offset += frame.length;
    }
    reg.endOffset = offset;
  }
  const json = Buffer.from(JSON.stringify({ version: 1, entries }));
  const toc = await zstdCompress(json);
  const position = {
    offset: offset + 8,
    length: toc.length,
    uncompressedLength: json.length,
    type: 1,
  };
  parts.push(skippable(toc), zstdChunkedFooter(position));
  const blob = Buffer.concat(parts);
  const descriptor: Descriptor = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd',
    digest: sha(blob),
    size: blob.length,
    annotations: {
      'io.github.containers.zstd-chunked.manifest-checksum': sha(toc),
      'io.github.containers.zstd-chunked.manifest-position': `${position.offset}:${position.length}:${position.uncompressedLength}:1`,
    },
  };
  return { blob, descriptor, position };
}

describe('zstd:chunked', () => {
  it('parses the footer and the position annotation', () => {
    const footer = zstdChunkedFooter({
      offset: 1301,
      length: 291,
      uncompressedLength: 733,
      type: 1,
    });
    // The exact bytes skopeo 1.9.3 wrote for a small layer here.
    assert.equal(
      footer.toString('hex'),
      '502a4d182800000015050000000000002301000000000000dd020000000000000100000000000000476e556c496e5578',
    );
    const tail = Buffer.concat([Buffer.alloc(30, 7), footer]);
    assert.deepEqual(parseZstdChunkedFooter(tail), {
      offset: 1301,
      length: 291,
      uncompressedLength: 733,
      type: 1,
    });
    assert.equal(parseZstdChunkedFooter(Buffer.alloc(72)), undefined);
    assert.deepEqual(parsePositionAnnotation('1:2:3:1'), {
      offset: 1,
      length: 2,
      uncompressedLength: 3,
      type: 1,
    });
    assert.equal(parsePositionAnnotation('1:2:x:1'), undefined);
  });

  it('lists and reads files chunk by chunk, by annotation or by footer', async () => {
    const big = Buffer.from('0123456789'.repeat(1000));
    const { blob, descriptor } = await handmade([
      { name: 'etc/a', content: Buffer.from('hello\n') },
      { name: 'big', content: big, chunk: 3000 },
    ]);
    const source = bufferRangeSource(blob, 'layer 0');
    const layer = (await openLazyLayer(source, descriptor))!;
    assert.equal(layer.format, 'zstd:chunked');
    assert.equal(layer.tocVerified, true);
    assert.equal(source.requests, 1, 'the annotation saves the footer request');
    assert.deepEqual(
      layer.list().map((e) => [e.path, e.size, e.chunks.length]),
      [
        ['etc/a', 6, 1],
        ['big', 10000, 4],
      ],
    );
    assert.equal((await toBuffer(layer.open('etc/a'))).toString(), 'hello\n');
    assert.deepEqual(await toBuffer(layer.open('big')), big);
    const bare = { ...descriptor, annotations: {} };
    const byFooter = (await openLazyLayer(bufferRangeSource(blob), bare))!;
    assert.equal(byFooter.tocVerified, false);
    assert.deepEqual(await toBuffer(byFooter.open('big')), big);
  });

  it('refuses a TOC whose checksum differs and a chunk whose digest fails', async () => {
    const { blob, descriptor } = await handmade([
      { name: 'f', content: Buffer.from('abcdef'.repeat(100)), chunk: 200 },
    ]);
    const wrong = structuredClone(descriptor);
    wrong.annotations!['io.github.containers.zstd-chunked.manifest-checksum'] = sha(
      Buffer.from('x'),
    );
    await assert.rejects(
      openLazyLayer(bufferRangeSource(blob, 'layer 0'), wrong),
      (e: unknown) =>
        isOcipeekError(e, 'ERR_LAZY_LAYER') && /^layer 0: TOC checksum/.test((e as Error).message),
    );
    const layer = (await openLazyLayer(bufferRangeSource(blob, 'layer 0'), descriptor))!;
    const second = layer.entry('f')!.chunks[1]!;
    const forged = await zstdCompress(Buffer.from('X'.repeat(200)));
    const bad = Buffer.concat([blob.subarray(0, second.offset), forged, blob.subarray(second.end)]);
    assert.notEqual(forged.length, 0);
    // The verified TOC of the good blob, reading the forged blob's bytes.
    const fake = (await openLazyLayer(bufferRangeSource(blob, 'layer 0'), descriptor))!;
    Object.defineProperty(fake, 'source', { value: bufferRangeSource(bad, 'layer 0') });
    const got: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of fake.open('f')) got.push(p as Buffer);
      })(),
      (e: unknown) => isOcipeekError(e, 'ERR_LAZY_LAYER'),
    );
    assert.equal(Buffer.concat(got).length, 200, 'only the verified first chunk came out');
  });
});
