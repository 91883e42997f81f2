import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  LARGEST_WRITE_BYTES,
  MAX_WRITE_BYTES,
  PositionalWriter,
  targetOf,
  type WriteTarget,
  writeLimitForReporting,
  writeTargetFor,
  writeWindow,
} from '../../../src/store/positional-writer.js';

/** A target off tmpfs (pooled writes) with calls of at most `maxWriteBytes`, or a synchronous one. */
function target(maxWriteBytes: number, synchronous = false): WriteTarget {
  return { ...targetOf(synchronous), maxWriteBytes };
}

/** `writeTargetFor(dir).maxWriteBytes`. */
const writeLimitFor = async (dir: string) => (await writeTargetFor(dir)).maxWriteBytes;

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-positional-'));
  dirs.push(d);
  return join(d, 'f');
}

describe('PositionalWriter', () => {
  it('pieces handed in at once land in order after the start, hashed in file order', async () => {
    const path = await scratch();
    await writeFile(path, Buffer.from('KEEP'));
    const file = await open(path, 'r+');
    const hash = createHash('sha256');
    const reached: number[] = [];
    const writer = new PositionalWriter(file, 4, {
      hash,
      target: target(MAX_WRITE_BYTES),
      onWritten: (at) => reached.push(at),
    });
    const pieces = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 97));
    // All at once: one write is in flight, the rest queue and go out together.
    await Promise.all(pieces.map((p) => writer.write(p)));
    await file.close();
    const all = Buffer.concat(pieces);
    assert.deepEqual(await readFile(path), Buffer.concat([Buffer.from('KEEP'), all]));
    assert.equal(writer.position, 4 + all.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(all).digest('hex'));
    assert.equal(reached.at(-1), 4 + all.length);
    assert.ok(
      reached.length < pieces.length,
      `queued pieces were batched (${reached.length} writes)`,
    );
    assert.deepEqual(
      [...reached].sort((a, b) => a - b),
      reached,
      'progress only grows',
    );
  });

  it('pieces larger than one system call allows land whole and in order', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const hash = createHash('sha256');
    const writer = new PositionalWriter(file, 0, { hash, target: target(MAX_WRITE_BYTES) });
    const sizes = [300 * 1024, MAX_WRITE_BYTES + 1, 7, MAX_WRITE_BYTES, 0, 3 * MAX_WRITE_BYTES - 5];
    const pieces = sizes.map((n) => randomBytes(n));
    await Promise.all(pieces.map((p) => writer.write(p)));
    await file.close();
    const all = Buffer.concat(pieces);
    assert.deepEqual(await readFile(path), all);
    assert.equal(hash.digest('hex'), createHash('sha256').update(all).digest('hex'));
  });

  it('each system call gets at most MAX_WRITE_BYTES: the windows cover the bytes once, in order', () => {
    const pieces = [0, 10, 70_000, 200_000, 5, MAX_WRITE_BYTES, 1].map((n) => randomBytes(n));
    const all = Buffer.concat(pieces);
    const seen: Buffer[] = [];
    for (let at = 0; at < all.length; ) {
      const views = writeWindow(pieces, at, MAX_WRITE_BYTES);
      const size = views.reduce((n, v) => n + v.length, 0);
      assert.ok(size > 0 && size <= MAX_WRITE_BYTES, `window at ${at}: ${size} bytes`);
      assert.ok(size === MAX_WRITE_BYTES || at + size === all.length, 'only the last is short');
      seen.push(...views);
      at += size;
    }
    assert.deepEqual(Buffer.concat(seen), all);
    // A short write resumes mid-piece.
    assert.deepEqual(
      Buffer.concat(writeWindow(pieces, 12, MAX_WRITE_BYTES)),
      all.subarray(12, 12 + MAX_WRITE_BYTES),
    );
  });

  it('keeps each write below the blocks free page reporting hands to the host', () => {
    assert.equal(writeLimitForReporting(undefined), LARGEST_WRITE_BYTES, 'nothing reported');
    assert.equal(writeLimitForReporting(Number.NaN), LARGEST_WRITE_BYTES, 'unreadable order');
    assert.equal(writeLimitForReporting(5), 64 * 1024, '128 KiB blocks reported');
    assert.equal(writeLimitForReporting(7), 256 * 1024);
    assert.equal(writeLimitForReporting(9), 1024 * 1024, '2 MiB blocks (the default order)');
    assert.equal(writeLimitForReporting(10), LARGEST_WRITE_BYTES, 'never above the largest');
    assert.equal(writeLimitForReporting(2), MAX_WRITE_BYTES, 'never below 64 KiB');
    // Order 0 reports every free 4 KiB page: the smallest limit, not "nothing reported".
    assert.equal(writeLimitForReporting(0), MAX_WRITE_BYTES, 'single pages reported');
    // What the file says while no device reports (the unsigned -1 Linux starts from).
    assert.equal(writeLimitForReporting(4294967295), LARGEST_WRITE_BYTES, 'order unset');
    assert.equal(writeLimitForReporting(-1), LARGEST_WRITE_BYTES, 'order unset, signed');
  });

  it('writes in bounded calls except on tmpfs, where the size costs nothing', async () => {
    let order: number | undefined;
    try {
      order = Number.parseInt(
        readFileSync('/sys/module/page_reporting/parameters/page_reporting_order', 'latin1'),
        10,
      );
    } catch {
      order = undefined;
    }
    const limit = writeLimitForReporting(order);
    assert.equal(await writeLimitFor('/proc'), limit);
    assert.equal(await writeLimitFor(join(await scratch(), 'missing')), limit);
    const shm = await statfs('/dev/shm').catch(() => undefined);
    if (shm?.type === 0x01021994) {
      assert.equal(await writeLimitFor('/dev/shm'), Number.POSITIVE_INFINITY);
    }
  });

  it('a folder asked about before it exists gets its real answer once made', async () => {
    const missing = join(dirname(await scratch()), 'later');
    const before = await writeTargetFor(missing);
    assert.equal(before.onTmpfs, false, 'nothing to tell yet');
    await mkdir(missing);
    const onTmpfs = (await statfs(missing)).type === 0x01021994;
    const after = await writeTargetFor(missing);
    assert.equal(after.onTmpfs, onTmpfs);
    assert.equal(after.synchronous('keep'), onTmpfs);
  });

  it('a synchronous writer has each piece in the file when write returns, in bounded calls', async () => {
    const path = await scratch();
    await writeFile(path, Buffer.from('KEEP'));
    const file = await open(path, 'r+');
    const hash = createHash('sha256');
    const reached: number[] = [];
    const writer = new PositionalWriter(file, 4, {
      hash,
      target: target(1000, true),
      onWritten: (at) => reached.push(at),
    });
    const pieces = [2500, 7, 0, 1000, 999, 4096].map((n) => randomBytes(n));
    const expected = Buffer.concat([Buffer.from('KEEP'), ...pieces]);
    for (const piece of pieces) {
      assert.equal(writer.write(piece), undefined);
      assert.equal(statSync(path).size, writer.position, 'written before write returned');
      assert.equal(reached.at(-1), writer.position);
      piece.fill(0x5a); // the caller reuses the memory at once: the file must not change
    }
    await file.close();
    const onDisk = await readFile(path);
    assert.deepEqual(onDisk, expected);
    assert.equal(hash.digest('hex'), createHash('sha256').update(onDisk.subarray(4)).digest('hex'));
  });

  it('a relayed file on a tmpfs target is written on the pool, a kept one on this thread', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const onTmpfs = target(64 * 1024, true);
    const relay = new PositionalWriter(file, 0, { target: onTmpfs, use: 'relay' });
    const pending = relay.write(Buffer.from('relayed '));
    assert.ok(pending instanceof Promise, 'the relay writer hands the write to the pool');
    await pending;
    const keep = new PositionalWriter(file, relay.position, { target: onTmpfs });
    assert.equal(keep.write(Buffer.from('kept')), undefined, 'written before write returned');
    await file.close();
    assert.equal(await readFile(path, 'utf8'), 'relayed kept');
  });

  it("a synchronous writer's failed write throws, and every later one rejects", async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r'); // read-only: every write fails with EBADF
    const writer = new PositionalWriter(file, 0, { target: target(64, true) });
    assert.throws(() => writer.write(Buffer.alloc(10)), { code: 'EBADF' });
    await assert.rejects(writer.write(Buffer.alloc(1)) as Promise<void>, { code: 'EBADF' });
    await file.close();
  });

  it('a failed write rejects it, the queued ones and every later one', async () => {
    const path = await scratch();
    await writeFile(path, '');
    const file = await open(path, 'r'); // read-only: every write fails with EBADF
    const writer = new PositionalWriter(file, 0, { target: target(MAX_WRITE_BYTES) });
    const results = await Promise.allSettled([1, 2, 3].map(() => writer.write(Buffer.alloc(10))));
    assert.deepEqual(
      results.map((r) => r.status === 'rejected' && (r.reason as NodeJS.ErrnoException).code),
      ['EBADF', 'EBADF', 'EBADF'],
    );
    await assert.rejects(writer.write(Buffer.alloc(1)) as Promise<void>, { code: 'EBADF' });
    await file.close();
  });
});
