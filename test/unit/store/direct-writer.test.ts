import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { write } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DIRECT_BLOCK, DirectWriter } from '../../../src/store/direct-writer.js';
import { MAX_WRITE_BYTES, targetOf } from '../../../src/store/positional-writer.js';

/** A disk's target whose buffered calls have the smallest limit the machine rule gives. */
const target = { ...targetOf(false), maxWriteBytes: MAX_WRITE_BYTES };

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-direct-'));
  dirs.push(d);
  return join(d, 'f');
}

/** ext4 and xfs take O_DIRECT; where the temp folder is elsewhere only the bytes are checked. */
async function takesDirectIo(path: string): Promise<boolean> {
  const { type } = await statfs(path);
  return type === 0xef53 || type === 0x58465342;
}

/** `total` bytes cut into pieces of uneven sizes (a socket's reads). */
function piecesOf(total: number): { all: Buffer; pieces: Buffer[] } {
  const all = randomBytes(total);
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < total; i++) {
    const n = Math.min(total - at, 1 + ((i * 7919) % (300 * 1024)));
    pieces.push(all.subarray(at, at + n));
    at += n;
  }
  return { all, pieces };
}

describe('DirectWriter', () => {
  it('pieces land in order, hashed, whole blocks direct and the ragged tail after them', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const hash = createHash('sha256');
    const reached: number[] = [];
    const writer = await DirectWriter.open(file, 0, {
      hash,
      target,
      onWritten: (at) => reached.push(at),
    });
    assert.ok(writer, 'O_DIRECT and wasm memory are to be had on Linux');
    const { all, pieces } = piecesOf(3 * DIRECT_BLOCK + 12_345);
    // One at a time, as a connection hands them over: each waits only while both blocks are full.
    for (const p of pieces) await writer.write(p);
    await writer.finish();
    await writer.close();
    await file.close();
    assert.deepEqual(await readFile(path), all);
    assert.equal(writer.position, all.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(all).digest('hex'));
    assert.equal(reached.at(-1), all.length);
    assert.deepEqual(
      [...reached].sort((a, b) => a - b),
      reached,
      'progress only grows',
    );
    if (await takesDirectIo(path))
      assert.equal(writer.directWrites, 4, '3 blocks + the aligned tail');
  });

  it('pieces handed in all at once are copied as blocks free up, in order', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const writer = await DirectWriter.open(file, 0, { target });
    assert.ok(writer);
    // One piece larger than both blocks together, then small ones queued behind it.
    const big = randomBytes(2 * DIRECT_BLOCK + 5000);
    const small = Array.from({ length: 20 }, () => randomBytes(4097));
    const pending = [big, ...small].map((p) => writer.write(p));
    assert.ok(pending[0] instanceof Promise, 'a piece larger than the free blocks waits');
    await Promise.all(pending);
    await writer.finish();
    await writer.close();
    await file.close();
    assert.deepEqual(await readFile(path), Buffer.concat([big, ...small]));
  });

  it('starts at an aligned position after a kept prefix; refuses an unaligned one', async () => {
    const path = await scratch();
    const prefix = randomBytes(8192);
    await writeFile(path, prefix);
    const file = await open(path, 'r+');
    assert.equal(
      await DirectWriter.open(file, 8000, { target }),
      undefined,
      'not a multiple of 4096',
    );
    const writer = await DirectWriter.open(file, 8192, { target });
    assert.ok(writer);
    const { all, pieces } = piecesOf(DIRECT_BLOCK + 1);
    for (const p of pieces) await writer.write(p);
    await writer.finish();
    await writer.close();
    await file.close();
    assert.deepEqual(await readFile(path), Buffer.concat([prefix, all]));
  });

  it('closed before the end (a broken download), the file holds only whole blocks, in order', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const writer = await DirectWriter.open(file, 0, { target });
    assert.ok(writer);
    const { all, pieces } = piecesOf(2 * DIRECT_BLOCK + 70_000);
    for (const p of pieces) await writer.write(p);
    await writer.close(); // no finish: what is staged is dropped, what was written stays
    await assert.rejects(async () => writer.write(Buffer.alloc(1)), /closed/);
    await writer.close();
    const size = (await stat(path)).size;
    assert.ok(size % DIRECT_BLOCK === 0 && size <= 2 * DIRECT_BLOCK, `${size} bytes kept`);
    assert.deepEqual(await readFile(path), all.subarray(0, size));
    await file.close();
  });
});

describe('DirectWriter: a refused direct write', () => {
  it('EINVAL (alignment a file system will not take) sends the rest through the ordinary fd', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    let refused = 0;
    const writer = await DirectWriter.open(file, 0, {
      target,
      directWrite: ((...args: Parameters<typeof write>) => {
        refused++;
        const done = args.at(-1) as (err: NodeJS.ErrnoException | null, n: number) => void;
        queueMicrotask(() =>
          done(Object.assign(new Error('EINVAL: invalid argument'), { code: 'EINVAL' }), 0),
        );
      }) as typeof write,
    });
    assert.ok(writer);
    const { all, pieces } = piecesOf(2 * DIRECT_BLOCK + 999);
    for (const p of pieces) await writer.write(p);
    await writer.finish();
    await writer.close();
    await file.close();
    assert.deepEqual(await readFile(path), all);
    assert.equal(refused, 1, 'asked once, then never again');
    assert.equal(writer.directWrites, 0);
  });

  it('another error (a full disk) fails the write and every later one', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const writer = await DirectWriter.open(file, 0, {
      target,
      directWrite: ((...args: Parameters<typeof write>) => {
        const done = args.at(-1) as (err: NodeJS.ErrnoException | null, n: number) => void;
        queueMicrotask(() =>
          done(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }), 0),
        );
      }) as typeof write,
    });
    assert.ok(writer);
    await assert.rejects(async () => {
      for (const p of piecesOf(4 * DIRECT_BLOCK).pieces) await writer.write(p);
      await writer.finish();
    }, /ENOSPC/);
    await assert.rejects(async () => writer.write(Buffer.alloc(1)), /ENOSPC/);
    await writer.close();
    await file.close();
  });
});
