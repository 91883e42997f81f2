import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import {
  createZstdDecompressor,
  defaultZstdDecoder,
  OutputRooms,
  type ZstdDecoderKind,
} from '../../../src/compression/index.js';
import { DecompressionError, UnsupportedError } from '../../../src/errors/index.js';

/*
 * Every zstd decoder ocipeek may use, checked against the `zstd` program (a test peer) on
 * the same bytes: random and real data, many frames, skippable frames, cut and corrupt
 * input, oversized windows, and bounded memory.
 */

const nodeHasZstd =
  typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
const kinds: ZstdDecoderKind[] = ['libzstd', 'js', ...(nodeHasZstd ? (['node'] as const) : [])];

/** `zstd ARGS` over stdin (no content size in the frame unless the data is small). */
const zstdCli = (data: Buffer, args: string[] = []) =>
  execFileSync('zstd', ['-c', '-q', ...args], { input: data, maxBuffer: 1 << 30 });

/** What `zstd -dc` makes of `data`, or its error. */
function zstdCliDecompress(data: Buffer): { out: Buffer; ok: boolean } {
  const r = spawnSync('zstd', ['-d', '-c', '-q'], { input: data, maxBuffer: 1 << 30 });
  return { out: r.stdout, ok: r.status === 0 };
}

/** A skippable frame (magic 0x184D2A5n) holding `payload`. */
function skippable(payload: Buffer, n = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + n, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

function source(buf: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
}

async function decode(kind: ZstdDecoderKind, input: Buffer, chunk = 64 * 1024): Promise<Buffer> {
  const z = createZstdDecompressor({ decoder: kind });
  source(input, chunk).pipe(z);
  const parts: Buffer[] = [];
  for await (const part of z) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Text-like real data: TypeScript's compiler, a few MiB of JavaScript. */
const realText = readFileSync(
  createRequire(import.meta.url).resolve('typescript/lib/typescript.js'),
);
const mixed = Buffer.concat([
  randomBytes(300_000),
  Buffer.alloc(500_000, 'z'),
  realText.subarray(0, 2_000_000),
]);

describe('zstd decoders', () => {
  it('picks libzstd here (Node 20 has no zstd), Node’s own where it exists', () => {
    if (nodeHasZstd) {
      assert.equal(defaultZstdDecoder(), 'node');
    } else {
      assert.equal(defaultZstdDecoder(), 'libzstd');
      assert.throws(() => createZstdDecompressor({ decoder: 'node' }), UnsupportedError);
    }
  });

  for (const kind of kinds) {
    describe(kind, () => {
      it('decodes random and real data as the zstd program does, fed in any chunk size', async () => {
        const cases: [string, Buffer, string[]][] = [
          ['empty', Buffer.alloc(0), []],
          ['one byte', Buffer.from('x'), []],
          ['random 100 KB', randomBytes(100_000), []],
          ['mixed, level 1', mixed, ['-1']],
          ['mixed, level 19', mixed, ['-19']],
          ['real text, long window (128 MiB, the limit)', realText, ['--long=27']],
          ['mixed, no checksum', mixed, ['--no-check']],
        ];
        for (const [name, data, args] of cases) {
          const compressed = zstdCli(data, args);
          const cli = zstdCliDecompress(compressed);
          assert.ok(cli.ok, name);
          for (const chunk of compressed.length < 5000 ? [1, 7] : [7919, 65536, 1 << 20]) {
            const out = await decode(kind, compressed, chunk);
            assert.ok(out.equals(data), `${name}, chunks of ${chunk}`);
            assert.ok(out.equals(cli.out), `${name}: same as zstd -dc`);
          }
        }
      });

      it('reads many frames and skips skippable ones (zstd:chunked layout)', async () => {
        const a = randomBytes(70_000);
        const b = realText.subarray(0, 300_000);
        const c = Buffer.from('tiny');
        const input = Buffer.concat([
          skippable(Buffer.from('leading metadata'), 3),
          zstdCli(a),
          zstdCli(Buffer.alloc(0)),
          skippable(Buffer.alloc(0)),
          zstdCli(b, ['--no-check', '-19']),
          zstdCli(c),
          zstdCli(c, ['--no-check']),
          skippable(zstdCli(Buffer.from('{"toc":true}')), 8),
          skippable(randomBytes(40), 15),
        ]);
        const want = Buffer.concat([a, b, c, c]);
        assert.ok(zstdCliDecompress(input).out.equals(want));
        for (const chunk of [5, 4096, 1 << 20]) {
          assert.ok((await decode(kind, input, chunk)).equals(want), `chunks of ${chunk}`);
        }
      });

      it('fails on truncated input with a DecompressionError, wherever it is cut', async () => {
        const whole = zstdCli(mixed.subarray(0, 600_000));
        for (const cut of [1, 5, 8, 20, whole.length >> 1, whole.length - 4, whole.length - 1]) {
          const input = whole.subarray(0, cut);
          assert.equal(zstdCliDecompress(input).ok, false, `zstd -dc accepts a cut at ${cut}`);
          await assert.rejects(decode(kind, input), (err: unknown) => {
            assert.ok(err instanceof DecompressionError, `cut at ${cut}: ${String(err)}`);
            assert.equal(err.compression, 'zstd');
            return true;
          });
        }
      });

      it('fails on corrupt input instead of handing out garbage', async () => {
        // Text: compressed blocks whose corruption breaks decoding; random: raw blocks,
        // which only the frame checksum can catch.
        for (const [name, data] of [
          ['text', realText.subarray(0, 500_000)],
          ['random', randomBytes(500_000)],
        ] as const) {
          const good = zstdCli(data);
          for (const at of [good.length >> 2, good.length >> 1, good.length - 100]) {
            const bad = Buffer.from(good);
            bad[at] = bad[at]! ^ 0x5a;
            bad[at + 1] = bad[at + 1]! ^ 0xa5;
            assert.equal(zstdCliDecompress(bad).ok, false, `${name} at ${at}`);
            await assert.rejects(decode(kind, bad), DecompressionError, `${name} at ${at}`);
          }
        }
        const garbage = Buffer.concat([zstdCli(Buffer.from('ok')), Buffer.from('not a frame')]);
        await assert.rejects(decode(kind, garbage), DecompressionError);
      });

      it('refuses a frame whose window is over 128 MiB, as the zstd program does', async () => {
        const wide = zstdCli(Buffer.alloc(10_000, 'w'), ['--long=28']);
        assert.equal(zstdCliDecompress(wide).ok, false);
        await assert.rejects(decode(kind, wide), DecompressionError);
      });

      it('keeps memory bounded: decodes only as far ahead as it is read', {
        skip: kind === 'node',
      }, async () => {
        const compressed = zstdCli(Buffer.alloc(256 << 20), ['-19']);
        assert.ok(compressed.length < 100_000);
        const z = createZstdDecompressor({ decoder: kind });
        z.end(compressed);
        const first: Buffer | null = await new Promise((resolve) =>
          z.once('readable', () => resolve(z.read(1))),
        );
        assert.ok(first);
        for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
        // Room for the readable buffer (2 MiB) and one step past it.
        assert.ok(z.readableLength <= 4 << 20, `${z.readableLength} bytes buffered`);
        let total = 1;
        for await (const part of z) total += (part as Buffer).length;
        assert.equal(total, 256 << 20);
      });

      it('decodes into rooms given back by the reader, as the zstd program does', {
        skip: kind !== 'libzstd' && 'only libzstd decodes into given rooms',
      }, async () => {
        // Several rooms' worth of output, each chunk checked before its room goes back:
        // a room handed out again while still in use would show as wrong bytes.
        const data = Buffer.concat([realText, randomBytes(1 << 20), realText, mixed]);
        const want = zstdCliDecompress(zstdCli(data, ['-3'])).out;
        assert.ok(want.equals(data));
        const rooms = new OutputRooms();
        const z = createZstdDecompressor({ decoder: kind, rooms });
        source(zstdCli(data, ['-3']), 1 << 20).pipe(z);
        const memories = new Set<ArrayBufferLike>();
        let at = 0;
        for await (const part of z) {
          const chunk = part as Buffer;
          assert.ok(chunk.equals(want.subarray(at, at + chunk.length)), `bytes at ${at}`);
          at += chunk.length;
          memories.add(chunk.buffer);
          rooms.giveBack(chunk);
        }
        assert.equal(at, want.length);
        const steps = Math.ceil(want.length / rooms.size);
        assert.ok(steps >= 10, `${steps} steps`);
        // Output of ~steps rooms came from a few: the stream's buffer holds two steps.
        assert.ok(memories.size <= 4, `${memories.size} rooms for ${steps} steps`);
      });

      it('takes empty writes in stride', async () => {
        const z = createZstdDecompressor({ decoder: kind });
        const input = zstdCli(Buffer.from('after an empty write'));
        z.write(Buffer.alloc(0));
        z.write(input.subarray(0, 5));
        z.write(Buffer.alloc(0));
        z.end(input.subarray(5));
        const parts: Buffer[] = [];
        for await (const part of z) parts.push(part as Buffer);
        assert.equal(Buffer.concat(parts).toString(), 'after an empty write');
      });

      it('can be destroyed while a step runs, and frees its decoder', async () => {
        const z = createZstdDecompressor({ decoder: kind });
        z.write(zstdCli(mixed));
        z.once('data', () => z.destroy());
        await new Promise((resolve) => z.once('close', resolve));
        assert.equal(z.destroyed, true);
      });
    });
  }
});
