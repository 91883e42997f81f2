import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { LazyLayerError } from '../../../../src/errors/index.js';
import { bufferRangeSource } from '../../../../src/lazy/range-source.js';
import { buildLayerSeekIndex } from '../../../../src/lazy/seek-index/build-layer-index.js';
import { IndexedLayer } from '../../../../src/lazy/seek-index/indexed-layer.js';
import {
  decodeLayerSeekIndex,
  encodeLayerSeekIndex,
  type LayerSeekIndex,
} from '../../../../src/lazy/seek-index/seek-index-format.js';
import { readTarEntries, type TarEntry } from '../../../../src/tar/index.js';
import { type LayerEntry, makeTar } from '../../../harness/layers.js';

const SPAN = 64 * 1024;

/** Compressible files of varied sizes (some over a span), links, dirs: ~2.5 MiB of tar. */
function entries(): LayerEntry[] {
  const list: LayerEntry[] = [{ path: 'etc/', type: 'dir' }];
  let seed = 11;
  for (let i = 0; i < 120; i++) {
    seed = (seed * 48271) % 2147483647;
    const size = i % 17 === 0 ? 150_000 + (seed % 50_000) : seed % 30_000;
    const text = Array.from({ length: Math.ceil(size / 16) }, (_, k) => `f${i}-line-${k % 997}\n`)
      .join('')
      .slice(0, size);
    list.push({ path: `etc/f${i}.txt`, content: text, mode: 0o640, uid: i, gid: 7 });
  }
  list.push({ path: 'etc/empty', content: '' });
  list.push({ path: 'etc/link', type: 'symlink', linkname: 'f1.txt' });
  list.push({ path: 'etc/hard', type: 'hardlink', linkname: 'etc/f2.txt' });
  return list;
}

async function* pieces(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function fixture() {
  const tar = await makeTar(entries());
  const gz = gzipSync(tar, { level: 6 });
  const layer = {
    digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
    size: gz.length,
  };
  const index = await buildLayerSeekIndex(pieces(gz, 100_000), layer, { span: SPAN });
  const listed: TarEntry[] = [];
  for await (const e of readTarEntries(pieces(tar, 1 << 20))) listed.push(e);
  return { tar, gz, layer, index, listed };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function open(gz: Buffer, index: LayerSeekIndex) {
  const source = bufferRangeSource(gz, 'layer 0');
  return { source, layer: new IndexedLayer(source, index, 'sha256:index') };
}

describe('seek index of a gzip layer', () => {
  it('records every entry, checkpoints every span and span digests of the tar', async () => {
    const { tar, index, listed, layer } = await fixture();
    assert.deepEqual(index.layer, layer);
    assert.equal(index.size, tar.length);
    assert.deepEqual(
      index.entries.map((e) => [e.path, e.type, e.size, e.mode, e.uid, e.linkname, e.dataOffset]),
      listed.map((e) => [e.path, e.type, e.size, e.mode, e.uid, e.linkname, e.dataOffset]),
    );
    // Spans end at deflate block boundaries, so they are SPAN or somewhat more.
    assert.ok(index.checkpoints.length > 3, `${index.checkpoints.length} checkpoints`);
    for (const [i, cp] of index.checkpoints.entries()) {
      const end = index.checkpoints[i + 1]?.out ?? tar.length;
      if (i + 1 < index.checkpoints.length) assert.ok(end - cp.out >= SPAN, `span ${i} ≥ SPAN`);
      const digest = `sha256:${createHash('sha256').update(tar.subarray(cp.out, end)).digest('hex')}`;
      assert.equal(cp.digest, digest, `digest of span ${i}`);
      const window = cp.window.length ? inflateRawSync(cp.window) : Buffer.alloc(0);
      assert.ok(window.equals(tar.subarray(Math.max(0, cp.out - 32768), cp.out)), `window ${i}`);
    }
  });

  it('round-trips through its blob encoding', async () => {
    const { index } = await fixture();
    const decoded = decodeLayerSeekIndex(encodeLayerSeekIndex(index), 'layer 0');
    assert.deepEqual(decoded, index);
  });

  it('reads every file as the tar holds it, a small file in one range request', async () => {
    const { tar, gz, index, listed } = await fixture();
    for (const e of listed.filter((x) => x.type === 'file')) {
      const { source, layer } = open(gz, index);
      const got = await readAll(layer.open(e.path));
      assert.ok(got.equals(tar.subarray(e.dataOffset, e.dataOffset + e.size)), e.path);
      assert.equal(source.requests, 1, `${e.path}: one request`);
      assert.ok(source.bytesRead < gz.length, `${e.path}: part of the layer`);
    }
    const { layer } = open(gz, index);
    assert.equal(
      (await readAll(layer.open('etc/hard'))).toString(),
      (await readAll(layer.open('etc/f2.txt'))).toString(),
    );
  });

  it('refuses a layer that is several gzip members', async () => {
    const gz = Buffer.concat([gzipSync(Buffer.alloc(1024)), gzipSync(Buffer.alloc(1024))]);
    await assert.rejects(
      buildLayerSeekIndex(pieces(gz, 4096), { digest: 'sha256:x', size: gz.length }),
      (err: Error & { code?: string }) =>
        err.code === 'ERR_UNSUPPORTED' && /gzip members/.test(err.message),
    );
  });

  describe('a lying index gives an error, never wrong bytes', () => {
    const target = 'etc/f50.txt';
    async function lie(change: (index: LayerSeekIndex, at: number) => void, problem: string) {
      const { gz, index } = await fixture();
      const copy = structuredClone(index) as LayerSeekIndex;
      for (const c of copy.checkpoints) c.window = Buffer.from(c.window);
      const entry = copy.entries.find((e) => e.path === target)!;
      const span = copy.checkpoints.findLastIndex((c) => c.out <= entry.headerOffset);
      change(copy, span);
      const { layer } = open(gz, copy);
      await assert.rejects(readAll(layer.open(target)), (err: unknown) => {
        assert.ok(err instanceof LazyLayerError, String(err));
        assert.equal(err.problem, problem);
        return true;
      });
    }

    it('a wrong window', () =>
      lie((index, at) => {
        const cp = index.checkpoints[at]!;
        const w = inflateRawSync(cp.window);
        w[w.length - 100] = w[w.length - 100]! ^ 0x55;
        cp.window = deflateRawSync(w);
      }, 'span-digest'));

    it('a wrong bit offset', () =>
      lie((index, at) => {
        index.checkpoints[at]!.bit += 3;
      }, 'span-digest'));

    it('a wrong span digest', () =>
      lie((index, at) => {
        index.checkpoints[at]!.digest = `sha256:${'0'.repeat(64)}`;
      }, 'span-digest'));

    it('a wrong content offset', () =>
      lie((index) => {
        const e = index.entries.find((x) => x.path === target)!;
        e.dataOffset += 512;
        e.headerOffset += 512;
      }, 'seek-index'));

    it('a wrong size', () =>
      lie((index) => {
        index.entries.find((x) => x.path === target)!.size += 1;
      }, 'seek-index'));
  });

  it('checks a tampered layer byte against the span digest', async () => {
    const { gz, index, tar } = await fixture();
    assert.ok(gunzipSync(gz).equals(tar));
    const bad = Buffer.from(gz);
    const entry = index.entries.find((e) => e.path === 'etc/f60.txt')!;
    const span = index.checkpoints.findLastIndex((c) => c.out <= entry.headerOffset);
    const at = Math.floor(index.checkpoints[span]!.bit / 8) + 200;
    bad[at] = bad[at]! ^ 0x01;
    const { layer } = open(bad, index);
    await assert.rejects(readAll(layer.open('etc/f60.txt')), LazyLayerError);
  });
});
