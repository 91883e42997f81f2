import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { OpRunner } from '../../../src/unpack/disk-writer.js';

describe('unpack: OpRunner writes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ocipeek-op-runner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // Pieces of odd sizes and offsets into a larger buffer, as batches hold them.
  const data = randomBytes(700_001);
  const pieces: [number, number][] = [
    [0, 1],
    [1, 65_535],
    [65_536, 65_537],
    [131_073, 300_000],
    [431_073, 268_928],
  ];

  for (const limit of [undefined, 64 * 1024, 4096, 1000]) {
    it(`writes every byte in order with ${limit ?? 'no'} limit per system call`, () => {
      const file = path.join(dir, `f-${limit ?? 'none'}`);
      const runner = new OpRunner(limit);
      runner.create(file, 0o644);
      for (const [offset, length] of pieces) runner.write(data, offset, length);
      runner.finish(-1, -1, -1, 1_700_000_000);
      assert.deepEqual(readFileSync(file), data);
    });
  }
});
