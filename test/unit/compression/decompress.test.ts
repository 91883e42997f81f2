import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  compressionOfMediaType,
  DecompressionLimit,
  decompressStream,
  detectCompression,
} from '../../../src/compression/index.js';
import { DecompressionError, TooLargeError } from '../../../src/errors/index.js';
import type { SinkSource } from '../../../src/transport/index.js';

const gzipCli = (data: Buffer) => execFileSync('gzip', ['-c'], { input: data, maxBuffer: 1 << 28 });
const zstdCli = (data: Buffer) =>
  execFileSync('zstd', ['-c', '-q'], { input: data, maxBuffer: 1 << 28 });

/** A source that yields `buf` in chunks of `size` bytes, like a network stream. */
function source(buf: Buffer, size = 16 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
}

/**
 * A source that hands `buf` to a sink in pieces of `size` bytes, all views of one buffer
 * that is overwritten as soon as the sink's promise settles: a decompressor that used a
 * piece after that would produce wrong bytes. `settled` tells when its transfer ended.
 */
function pieceSource(buf: Buffer, size: number, fail?: Error) {
  let settled: Promise<void> = Promise.resolve();
  const source: SinkSource & { settled(): Promise<void> } = {
    settled: () => settled,
    pipeTo(sink) {
      settled = (async () => {
        const scratch = Buffer.alloc(size);
        for (let i = 0; i < buf.length; i += size) {
          const n = buf.copy(scratch, 0, i, i + size);
          await sink(scratch.subarray(0, n));
          scratch.fill(0xee);
          await new Promise((r) => setImmediate(r));
          if (fail && i > buf.length / 2) throw fail;
        }
      })();
      return settled;
    },
  };
  return source;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const payload = Buffer.concat([randomBytes(100_000), Buffer.alloc(300_000, 'a')]);

describe('detectCompression', () => {
  it('knows gzip, zstd and everything else by magic bytes', () => {
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 0x08, 0x00])), 'gzip');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
    assert.equal(detectCompression(Buffer.from([0x50, 0x2a, 0x4d, 0x18])), 'zstd');
    assert.equal(detectCompression(Buffer.from('etc/')), 'none');
    assert.equal(detectCompression(Buffer.from([0x1f])), 'none');
    assert.equal(detectCompression(Buffer.alloc(0)), 'none');
    assert.equal(detectCompression(gzipCli(Buffer.from('x'))), 'gzip');
    assert.equal(detectCompression(zstdCli(Buffer.from('x'))), 'zstd');
  });

  it('maps layer media types', () => {
    assert.equal(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar+gzip'), 'gzip');
    assert.equal(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar+zstd'), 'zstd');
    assert.equal(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar'), 'none');
    assert.equal(
      compressionOfMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip'),
      'gzip',
    );
    assert.equal(compressionOfMediaType('application/octet-stream'), undefined);
  });
});

describe('decompressStream', () => {
  for (const [name, compress] of [
    ['gzip', gzipCli],
    ['zstd', zstdCli],
    ['none', (b: Buffer) => b],
  ] as const) {
    it(`decompresses ${name}`, async () => {
      let detected: string | undefined;
      const out = await decompressStream(source(compress(payload)), {
        onDetect: (d) => {
          detected = d;
        },
      });
      assert.deepEqual(await readAll(out), payload);
      assert.equal(detected, name);
    });
  }

  it('hands gzip output in pieces of outputChunkBytes, 1 MiB by default', async () => {
    const input = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(4 << 20, 'c')]);
    for (const [asked, largest] of [
      [undefined, 1 << 20],
      [256 * 1024, 256 * 1024],
    ] as const) {
      const out = await decompressStream(source(gzipCli(input), 1 << 20), {
        outputChunkBytes: asked,
      });
      const parts: Buffer[] = [];
      for await (const c of out) parts.push(c as Buffer);
      assert.deepEqual(Buffer.concat(parts), input);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) <= largest, `pieces up to ${Math.max(...sizes)} bytes`);
      // Pieces fill the room given: most are exactly that size.
      assert.ok(sizes.filter((n) => n === largest).length >= input.length / largest - 2);
    }
  });

  it('keeps the bytes of a source shorter than the magic, and of an empty one', async () => {
    const short = await decompressStream(Readable.from([Buffer.from([0x1f]), Buffer.from('ab')]));
    assert.deepEqual(await readAll(short), Buffer.from([0x1f, 0x61, 0x62]));
    const empty = await decompressStream(Readable.from([]), { maxOutputBytes: 10 });
    assert.equal((await readAll(empty)).length, 0);
  });

  it('peeks across tiny chunks', async () => {
    const out = await decompressStream(source(zstdCli(payload), 1));
    assert.deepEqual(await readAll(out), payload);
  });

  it('believes the bytes over a wrong media type', async () => {
    const seen: unknown[] = [];
    const out = await decompressStream(source(gzipCli(payload)), {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd',
      onDetect: (d, declared) => seen.push(d, declared),
    });
    assert.deepEqual(await readAll(out), payload);
    assert.deepEqual(seen, ['gzip', 'zstd']);
  });

  it('reads concatenated gzip members (eStargz)', async () => {
    const parts = [Buffer.from('first '), Buffer.from('second '), Buffer.from('third')];
    const multi = Buffer.concat(parts.map((p) => gzipCli(p)));
    const out = await decompressStream(source(multi, 7));
    assert.equal((await readAll(out)).toString(), 'first second third');
  });

  it('stops a decompression bomb with TooLargeError', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20)); // 64 MiB of zeros in ~64 KiB
    assert.ok(bomb.length < 100_000);
    for (const compressed of [bomb, zstdCli(Buffer.alloc(64 << 20))]) {
      const out = await decompressStream(source(compressed), {
        maxOutputBytes: 1 << 20,
        what: 'layer sha256:abc',
      });
      await assert.rejects(readAll(out), (err: unknown) => {
        assert.ok(err instanceof TooLargeError);
        assert.match(err.message, /layer sha256:abc exceeds the limit of 1048576 bytes/);
        return true;
      });
    }
    // Exactly at the limit is fine.
    const ok = await decompressStream(source(gzipCli(payload)), { maxOutputBytes: payload.length });
    assert.equal((await readAll(ok)).length, payload.length);
  });

  it('reports corrupt and truncated gzip as DecompressionError', async () => {
    const gz = gzipCli(payload);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 20, 200);
    for (const bad of [corrupt, gz.subarray(0, gz.length - 100)]) {
      const out = await decompressStream(source(bad));
      await assert.rejects(readAll(out), (err: unknown) => {
        assert.ok(err instanceof DecompressionError, String(err));
        assert.equal(err.code, 'ERR_DECOMPRESSION');
        assert.equal(err.compression, 'gzip');
        return true;
      });
    }
    // Also when a limit stage sits after the decompressor.
    const out = await decompressStream(source(corrupt), { maxOutputBytes: 1 << 30 });
    await assert.rejects(readAll(out), DecompressionError);
  });

  it('reports corrupt and truncated zstd as DecompressionError with zstd’s message', async () => {
    const zs = zstdCli(payload);
    const corrupt = Buffer.from(zs);
    corrupt.fill(0x55, 10, 400);
    for (const bad of [corrupt, zs.subarray(0, zs.length - 50)]) {
      const out = await decompressStream(source(bad));
      await assert.rejects(readAll(out), (err: unknown) => {
        assert.ok(err instanceof DecompressionError, String(err));
        assert.equal(err.compression, 'zstd');
        assert.ok(err.message.length > 'zstd decompression failed: '.length);
        return true;
      });
    }
  });

  it('passes source errors through unchanged', async () => {
    const boom = new Error('network went away');
    const gz = gzipCli(payload);
    const failing = new Readable({
      read() {
        this.push(gz.subarray(0, 1000));
        this.destroy(boom);
      },
    });
    const out = await decompressStream(failing);
    await assert.rejects(readAll(out), (err) => err === boom);
  });

  it('tears the chain down when the consumer stops early (zstd decoder freed)', async () => {
    const big = Buffer.alloc(32 << 20, 'z');
    const src = source(zstdCli(big));
    const out = await decompressStream(src);
    for await (const _ of out) break;
    await new Promise((r) => setImmediate(r));
    assert.equal(out.destroyed, true);
    assert.equal(src.destroyed, true);
  });

  it('aborts with the signal', async () => {
    const ac = new AbortController();
    const src = source(gzipCli(Buffer.alloc(8 << 20)), 1024);
    const out = await decompressStream(src, { signal: ac.signal });
    const got = readAll(out);
    ac.abort();
    await assert.rejects(got, { name: 'AbortError' });
    assert.equal(src.destroyed, true);
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(decompressStream(source(payload), { signal: pre.signal }), {
      name: 'AbortError',
    });
  });
});

describe('decompressStream from a source that hands pieces to a sink', () => {
  const big = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(5 << 20, 'b'), payload]);
  for (const [name, compress] of [
    ['gzip', gzipCli],
    ['zstd', zstdCli],
    ['none', (b: Buffer) => b],
  ] as const) {
    for (const size of [1, 1000, 64 * 1024, 1 << 20, 3 << 20]) {
      it(`decompresses ${name} from pieces of ${size} bytes, each reused once given back`, async () => {
        const input = size === 1 ? Buffer.from('tiny pieces '.repeat(300)) : big;
        let detected: string | undefined;
        const out = await decompressStream(pieceSource(compress(input), size), {
          onDetect: (d) => {
            detected = d;
          },
          maxOutputBytes: input.length,
        });
        assert.deepEqual(await readAll(out), input);
        assert.equal(detected, name);
      });
    }
  }

  it('keeps a source shorter than the magic, and an empty one', async () => {
    const short = await decompressStream(pieceSource(Buffer.from([0x1f, 0x61]), 1));
    assert.deepEqual(await readAll(short), Buffer.from([0x1f, 0x61]));
    const empty = await decompressStream(pieceSource(Buffer.alloc(0), 10));
    assert.equal((await readAll(empty)).length, 0);
  });

  it('reports corrupt gzip as DecompressionError, source errors unchanged', async () => {
    const corrupt = Buffer.from(gzipCli(big));
    corrupt.fill(0x55, 20, 200);
    const bad = pieceSource(corrupt, 1 << 20);
    await assert.rejects(readAll(await decompressStream(bad)), DecompressionError);
    await bad.settled().catch(() => {});
    const boom = new Error('network went away');
    const failing = await decompressStream(pieceSource(gzipCli(big), 64 * 1024, boom));
    await assert.rejects(readAll(failing), (err) => err === boom);
  });

  it('stops the source when the consumer stops early, or on abort', async () => {
    const noise = gzipCli(randomBytes(8 << 20));
    const src = pieceSource(noise, 1 << 20);
    const out = await decompressStream(src);
    for await (const _ of out) break;
    await assert.rejects(src.settled());
    const ac = new AbortController();
    const aborted = pieceSource(noise, 64 * 1024);
    const got = readAll(await decompressStream(aborted, { signal: ac.signal }));
    ac.abort();
    await assert.rejects(got, { name: 'AbortError' });
    await assert.rejects(aborted.settled());
  });
});

describe('DecompressionLimit', () => {
  it('counts bytes and fails past the limit', async () => {
    const limit = new DecompressionLimit(10, 'thing');
    const out = readAll(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]).pipe(limit));
    await assert.rejects(out, /thing exceeds the limit of 10 bytes/);
    assert.equal(limit.bytes, 12);
  });
});
