import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, describe, it, mock } from 'node:test';
import { BlobDownload } from '../../../src/registry/blob-download.js';
import type { BlobStream } from '../../../src/registry/blobs.js';
import { StoreStorage } from '../../../src/server/storage/store-storage.js';
import { DirectWriter } from '../../../src/store/direct-writer.js';
import { Store } from '../../../src/store/index.js';
import {
  MAX_WRITE_BYTES,
  writeLimitFor,
  writeTargetFor,
} from '../../../src/store/positional-writer.js';
import type { BodySink } from '../../../src/transport/index.js';
import { type TempDir, tempDir } from '../../harness/index.js';

/*
 * One rule sizes every system call that streams a blob into a file: `writeLimitFor` the
 * file's folder. These tests watch the calls (`fs.writev` and `fs.write`, swapped for
 * recording wrappers that still write) through each writer that streams blobs, and
 * check the bytes that landed.
 */

const dirs: TempDir[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});
afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

async function scratchDir(): Promise<string> {
  const d = await tempDir('write-limit');
  dirs.push(d);
  return d.path;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Bytes carried by each `writev`/`write`/`writevSync` call from now on (the calls still write). */
function recordWrites(): number[] {
  const sizes: number[] = [];
  const writev = fs.writev;
  mock.method(fs, 'writev', (...args: Parameters<typeof fs.writev>) => {
    sizes.push((args[1] as NodeJS.ArrayBufferView[]).reduce((n, b) => n + b.byteLength, 0));
    return (writev as (...a: unknown[]) => void)(...args);
  });
  const write = fs.write;
  mock.method(fs, 'write', (...args: unknown[]) => {
    const [, buffer, , length] = args as [number, Buffer, number, number];
    sizes.push(typeof length === 'number' ? length : buffer.length);
    return (write as (...a: unknown[]) => void)(...args);
  });
  const writevSync = fs.writevSync;
  mock.method(fs, 'writevSync', (...args: Parameters<typeof fs.writevSync>) => {
    sizes.push((args[1] as NodeJS.ArrayBufferView[]).reduce((n, b) => n + b.byteLength, 0));
    return (writevSync as (...a: unknown[]) => number)(...args);
  });
  syncBuiltinESMExports(); // the writers import `writev`/`write`/`writevSync` by name
  return sizes;
}

/** A body that hands `data` to its sink in `piece`-byte views, as the own client does. */
function viewsOf(data: Buffer, piece: number): BlobStream {
  const body = Readable.from([]) as BlobStream;
  body.pipeTo = async (sink: BodySink) => {
    for (let at = 0; at < data.length; at += piece) await sink(data.subarray(at, at + piece));
  };
  return body;
}

/**
 * Every call within `limit`, and the largest as large as the pieces and the limit allow:
 * a writer with a fixed size of its own fails the second where the rule gives more.
 */
function assertSized(sizes: number[], limit: number, piece: number, what: string): void {
  assert.ok(sizes.length > 0, `${what}: no write seen`);
  const largest = Math.max(...sizes);
  assert.ok(largest <= limit, `${what}: a call of ${largest} bytes, limit ${limit}`);
  assert.equal(largest, Math.min(limit, piece), `${what}: calls of the rule's size`);
}

const PIECE = 2 * 1024 * 1024;
const SIZE = 3 * PIECE + 12_345;

describe('the write limit through every writer that streams blobs', () => {
  it('one statfs answers both questions of a folder, once', async () => {
    const dir = await scratchDir();
    const statfs = mock.method(fs.promises, 'statfs');
    syncBuiltinESMExports();
    const [a, b, limit] = await Promise.all([
      writeTargetFor(dir),
      writeTargetFor(dir),
      writeLimitFor(dir),
    ]);
    assert.equal(a, b);
    assert.equal(limit, a.maxWriteBytes);
    assert.equal(a.onTmpfs, a.maxWriteBytes === Number.POSITIVE_INFINITY);
    assert.equal(statfs.mock.callCount(), 1);
  });

  it('a store pull (the blob writer)', async () => {
    const dir = await scratchDir();
    const store = await Store.open(join(dir, 's'));
    const limit = await writeLimitFor(store.tmpDir);
    const data = randomBytes(SIZE);
    const sizes = recordWrites();
    const r = await store.writeBlob({ digest: sha256(data), size: SIZE }, viewsOf(data, PIECE));
    mock.restoreAll();
    syncBuiltinESMExports();
    assert.equal(r.written, true);
    assertSized(sizes, limit, PIECE, 'store');
    const stored = await readFile(store.blobPath(sha256(data)));
    assert.equal(sha256(stored), sha256(data));
  });

  it('a registry upload to a store (server side, chunked)', async () => {
    const dir = await scratchDir();
    const storage = await StoreStorage.open(join(dir, 'store'));
    const limit = await writeLimitFor(join(storage.store.dir, '.ocipeek', 'uploads'));
    const data = randomBytes(SIZE);
    const up = await storage.startUpload('team/app');
    const sizes = recordWrites();
    // Node's HTTP server hands each body chunk on as it is: here, chunks of PIECE.
    const chunks = [data.subarray(0, 2 * PIECE), data.subarray(2 * PIECE)];
    let offset = 0;
    for (const c of chunks) {
      const state = await storage.appendUpload(
        'team/app',
        up.id,
        Readable.from([c.subarray(0, PIECE), c.subarray(PIECE)]),
        { start: offset },
      );
      offset = state.offset;
    }
    mock.restoreAll();
    syncBuiltinESMExports();
    assert.equal(offset, SIZE);
    assertSized(sizes, limit, PIECE, 'upload');
    await storage.completeUpload('team/app', up.id, sha256(data));
    const stored = await readFile(storage.store.blobPath(sha256(data)));
    assert.equal(sha256(stored), sha256(data));
  });

  it('a pull-through download into its spool file', async () => {
    const dir = await scratchDir();
    const limit = await writeLimitFor(dir);
    const data = randomBytes(SIZE);
    const sizes = recordWrites();
    let stored: Buffer | undefined;
    const download = await BlobDownload.start({
      open: async () => viewsOf(data, PIECE),
      digest: sha256(data),
      size: SIZE,
      spoolDir: dir,
      onVerified: async (body) => {
        const got: Buffer[] = [];
        for await (const c of body) got.push(c as Buffer);
        stored = Buffer.concat(got);
      },
    });
    await download.finished;
    mock.restoreAll();
    syncBuiltinESMExports();
    assert.equal(download.state, 'verified');
    assertSized(sizes, limit, PIECE, 'spool');
    assert.equal(stored && sha256(stored), sha256(data));
  });

  it('the direct writer after a refused direct write writes buffered by the limit it is given', async () => {
    const dir = await scratchDir();
    const path = join(dir, 'f');
    await writeFile(path, '');
    const file = await open(path, 'r+');
    const limit = 3 * MAX_WRITE_BYTES; // not a size any writer has of its own
    const writer = await DirectWriter.open(file, 0, {
      maxWriteBytes: limit,
      directWrite: ((...args: Parameters<typeof fs.write>) => {
        const done = args.at(-1) as (err: NodeJS.ErrnoException | null, n: number) => void;
        queueMicrotask(() =>
          done(Object.assign(new Error('EINVAL: invalid argument'), { code: 'EINVAL' }), 0),
        );
      }) as typeof fs.write,
    });
    if (!writer) {
      await file.close();
      return; // no O_DIRECT here: nothing falls back
    }
    const data = randomBytes(SIZE);
    const sizes = recordWrites();
    for (let at = 0; at < SIZE; at += PIECE) await writer.write(data.subarray(at, at + PIECE));
    await writer.finish();
    await writer.close();
    mock.restoreAll();
    syncBuiltinESMExports();
    await file.close();
    assertSized(sizes, limit, PIECE, 'direct fallback');
    assert.equal(sha256(await readFile(path)), sha256(data));
  });
});
