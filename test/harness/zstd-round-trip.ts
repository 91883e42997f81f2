/*
 * Run by test/unit/native/libzstd.test.ts under a given Node binary: compress stdin with
 * ocipeek's zstd encoder and decode it back with its libzstd decoder, several times over
 * (a corrupted heap shows on reuse), then print one JSON line: which library the calls
 * were bound in, the compressed bytes (base64) and whether the round trip gave the input.
 */
import { readFileSync } from 'node:fs';
import { LibzstdDecoder, zstdLibrary } from '../../src/native/libzstd.js';
import { zstdCompress } from '../../src/native/libzstd-encoder.js';

const input = readFileSync(0);

async function* pieces(): AsyncGenerator<Buffer> {
  for (let i = 0; i < input.length; i += 100_000) yield input.subarray(i, i + 100_000);
}

async function decode(compressed: Buffer): Promise<Buffer> {
  const decoder = new LibzstdDecoder();
  const out: Buffer[] = [];
  let rest = compressed;
  try {
    for (;;) {
      const step = await decoder.step(rest);
      out.push(step.output);
      rest = rest.subarray(step.consumed);
      if (rest.length === 0 && !step.more) break;
    }
    decoder.finish();
  } finally {
    decoder.free();
  }
  return Buffer.concat(out);
}

let compressed = Buffer.alloc(0);
let same = true;
for (let round = 0; round < 5; round++) {
  const parts: Buffer[] = [];
  for await (const part of zstdCompress(pieces())) parts.push(part);
  compressed = Buffer.concat(parts);
  same &&= (await decode(compressed)).equals(input);
}
process.stdout.write(
  `${JSON.stringify({ source: zstdLibrary().source, compressed: compressed.toString('base64'), same })}\n`,
);
