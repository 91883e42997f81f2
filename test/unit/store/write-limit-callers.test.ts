import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, afterEach, describe, it, mock } from 'node:test';
import { extractArchive } from '../../../src/archive/extract-archive.js';
import { openOutputFile } from '../../../src/node/output-file.js';
import { BlobDownload } from '../../../src/registry/blob-download.js';
import type { BlobStream } from '../../../src/registry/blobs.js';
import { StoreStorage } from '../../../src/server/storage/store-storage.js';
import { DirectWriter } from '../../../src/store/direct-writer.js';
import { Store } from '../../../src/store/index.js';
import {
  MAX_WRITE_BYTES,
  targetOf,
  type WriteTarget,
  type WriteUse,
  writeTargetFor,
} from '../../../src/store/positional-writer.js';
import { openTargetWriteStream } from '../../../src/store/target-write-stream.js';
import type { BodySink } from '../../../src/transport/index.js';
import { type TempDir, tempDir } from '../../harness/index.js';

/*
 * One rule decides how every writer of blob bytes writes into a file: the `WriteTarget`
 * of its folder (`writeTargetFor`), which sizes the system calls and says whether they
 * are made on the calling thread (tmpfs) or on the pool. These tests watch the calls
 * (`fs.writev`, `fs.write` and `fs.writevSync`, swapped for recording wrappers that still
 * write) through each writer of blobs, and fail when a writer's calls are larger than its
 * target allows, smaller than it allows (a size of its own), or made on the other thread
 * kind; and they check the bytes that landed. Run them with TMPDIR=/dev/shm as well, so
 * both kinds of target are seen. The last test reads the sources: a file that writes with
 * node:fs's own calls is either one of the rule's writers or says why it is not.
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

/** One recorded system call: the bytes it carried, and whether it was made on this thread. */
interface WriteCall {
  bytes: number;
  sync: boolean;
}

/** Each `writev`/`write`/`writevSync` call from now on (the calls still write). */
function recordWrites(): WriteCall[] {
  const calls: WriteCall[] = [];
  const viewBytes = (views: NodeJS.ArrayBufferView[]) =>
    views.reduce((n, b) => n + b.byteLength, 0);
  const writev = fs.writev;
  mock.method(fs, 'writev', (...args: Parameters<typeof fs.writev>) => {
    calls.push({ bytes: viewBytes(args[1] as NodeJS.ArrayBufferView[]), sync: false });
    return (writev as (...a: unknown[]) => void)(...args);
  });
  const write = fs.write;
  mock.method(fs, 'write', (...args: unknown[]) => {
    const [, buffer, , length] = args as [number, Buffer, number, number];
    calls.push({ bytes: typeof length === 'number' ? length : buffer.length, sync: false });
    return (write as (...a: unknown[]) => void)(...args);
  });
  const writevSync = fs.writevSync;
  mock.method(fs, 'writevSync', (...args: Parameters<typeof fs.writevSync>) => {
    calls.push({ bytes: viewBytes(args[1] as NodeJS.ArrayBufferView[]), sync: true });
    return (writevSync as (...a: unknown[]) => number)(...args);
  });
  syncBuiltinESMExports(); // the writers import `writev`/`write`/`writevSync` by name
  return calls;
}

function stopRecording(): void {
  mock.restoreAll();
  syncBuiltinESMExports();
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
 * The calls follow `target`: every one within its limit, the largest as large as the
 * pieces and the limit allow (a writer with a fixed size of its own fails this where the
 * rule gives more), and all on the calling thread exactly when the target says so (a
 * writer that picks the pool or the main thread itself fails this on one of the media).
 */
function assertFollows(
  calls: WriteCall[],
  target: WriteTarget,
  piece: number,
  what: string,
  use: WriteUse = 'keep',
) {
  assert.ok(calls.length > 0, `${what}: no write seen`);
  const largest = Math.max(...calls.map((c) => c.bytes));
  const limit = target.maxWriteBytes;
  assert.ok(largest <= limit, `${what}: a call of ${largest} bytes, limit ${limit}`);
  assert.equal(largest, Math.min(limit, piece), `${what}: calls of the rule's size`);
  const synchronous = target.synchronous(use);
  const wrong = calls.filter((c) => c.sync !== synchronous).length;
  assert.equal(
    wrong,
    0,
    `${what}: ${wrong} calls not ${synchronous ? 'on this thread' : 'on the pool'}`,
  );
}

const PIECE = 2 * 1024 * 1024;
const SIZE = 3 * PIECE + 12_345;

describe('the write target through every writer of blob bytes', () => {
  it('one statfs answers every question of a folder, once', async () => {
    const dir = await scratchDir();
    const statfs = mock.method(fs.promises, 'statfs');
    syncBuiltinESMExports();
    const [a, b] = await Promise.all([writeTargetFor(dir), writeTargetFor(dir)]);
    assert.equal(a, b);
    assert.equal(a.onTmpfs, a.maxWriteBytes === Number.POSITIVE_INFINITY);
    assert.equal(a.synchronous('keep'), a.onTmpfs, 'a kept file on the calling thread on tmpfs');
    assert.equal(a.synchronous('relay'), false, 'a relayed file on the pool');
    assert.equal(a.direct(1 << 30, 0), !a.onTmpfs && fs.constants.O_DIRECT !== undefined);
    assert.equal(statfs.mock.callCount(), 1);
  });

  it('a store pull (the blob writer)', async () => {
    const dir = await scratchDir();
    const store = await Store.open(join(dir, 's'));
    const target = await writeTargetFor(store.tmpDir);
    const data = randomBytes(SIZE);
    const calls = recordWrites();
    const r = await store.writeBlob({ digest: sha256(data), size: SIZE }, viewsOf(data, PIECE));
    stopRecording();
    assert.equal(r.written, true);
    assertFollows(calls, target, PIECE, 'store');
    const stored = await readFile(store.blobPath(sha256(data)));
    assert.equal(sha256(stored), sha256(data));
  });

  it('a registry upload to a store (server side, chunked)', async () => {
    const dir = await scratchDir();
    const storage = await StoreStorage.open(join(dir, 'store'));
    const data = randomBytes(SIZE);
    const up = await storage.startUpload('team/app'); // makes the uploads folder
    const target = await writeTargetFor(join(storage.store.dir, '.ocipeek', 'uploads'));
    const calls = recordWrites();
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
    stopRecording();
    assert.equal(offset, SIZE);
    assertFollows(calls, target, PIECE, 'upload');
    await storage.completeUpload('team/app', up.id, sha256(data));
    const stored = await readFile(storage.store.blobPath(sha256(data)));
    assert.equal(sha256(stored), sha256(data));
  });

  it('a pull-through download into its spool file', async () => {
    const dir = await scratchDir();
    const target = await writeTargetFor(dir);
    const data = randomBytes(SIZE);
    const calls = recordWrites();
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
    stopRecording();
    assert.equal(download.state, 'verified');
    assertFollows(calls, target, PIECE, 'spool', 'relay');
    assert.equal(stored && sha256(stored), sha256(data));
  });

  it('the direct writer after a refused direct write writes buffered by the limit it is given', async () => {
    const dir = await scratchDir();
    const path = join(dir, 'f');
    await writeFile(path, '');
    const file = await open(path, 'r+');
    // Not a size any writer has of its own.
    const target = { ...targetOf(false), maxWriteBytes: 3 * MAX_WRITE_BYTES };
    const writer = await DirectWriter.open(file, 0, {
      target,
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
    const calls = recordWrites();
    for (let at = 0; at < SIZE; at += PIECE) await writer.write(data.subarray(at, at + PIECE));
    await writer.finish();
    await writer.close();
    stopRecording();
    await file.close();
    assertFollows(calls, target, PIECE, 'direct fallback');
    assert.equal(sha256(await readFile(path)), sha256(data));
  });

  it('archive extraction (the blobs of a docker or OCI archive)', async () => {
    const dir = await scratchDir();
    const data = randomBytes(SIZE);
    await mkdir(join(dir, 'in', 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'in', 'blobs', 'sha256', 'layer'), data);
    const archive = join(dir, 'image.tar');
    const tar = spawnSync('tar', ['-cf', archive, '-C', join(dir, 'in'), 'blobs']);
    assert.equal(tar.status, 0, String(tar.stderr));
    const out = join(dir, 'out');
    await mkdir(out);
    const target = await writeTargetFor(dirname(out));
    const calls = recordWrites();
    await extractArchive(archive, out);
    stopRecording();
    // The tar reader hands bodies on in pieces of up to 1 MiB.
    assertFollows(calls, target, 1024 * 1024, 'extract');
    assert.equal(sha256(await readFile(join(out, 'blobs', 'sha256', 'layer'))), sha256(data));
  });

  it('files written from a stream (artifacts, converted layers, archive staging)', async () => {
    const dir = await scratchDir();
    const target = await writeTargetFor(dir);
    const data = randomBytes(SIZE);
    const path = join(dir, 'layer');
    const calls = recordWrites();
    await pipeline(
      Readable.from(Array.from({ length: 4 }, (_, i) => data.subarray(i * PIECE, (i + 1) * PIECE))),
      await openTargetWriteStream(path),
    );
    stopRecording();
    assertFollows(calls, target, PIECE, 'stream');
    assert.equal(sha256(await readFile(path)), sha256(data));
  });

  it("a command's output file", async () => {
    const dir = await scratchDir();
    const target = await writeTargetFor(dir);
    const data = randomBytes(SIZE);
    const path = join(dir, 'blob.out');
    const calls = recordWrites();
    const out = await openOutputFile(path);
    for (let at = 0; at < SIZE; at += PIECE) {
      const more = out.stream.write(data.subarray(at, at + PIECE));
      if (!more) await new Promise((r) => out.stream.once('drain', r));
    }
    await out.commit();
    stopRecording();
    assertFollows(calls, target, PIECE, 'output file');
    assert.equal(sha256(await readFile(path)), sha256(data));
  });
});

/**
 * Files of src/ that write with node:fs's own calls, each with why: the rule's writers,
 * or writers of bytes that are not blobs, or of targets that are not a folder's files.
 * A new file writing blob bytes must go through the rule (`PositionalWriter`,
 * `TargetWriteStream`), not be added here.
 */
const OWN_WRITES: Record<string, string> = {
  'store/positional-writer.ts': "the rule's writer",
  'store/direct-writer.ts': "O_DIRECT blocks; its buffered calls take the target's size",
  'unpack/disk-writer.ts': "unpack's writer thread, calls of the target's size",
  'unpack/finish.ts': 'the ownership record (text, not blob bytes)',
  'store/file-lock.ts': "a lock's holder (a few bytes of JSON)",
  'node/output-file.ts':
    'FIFOs and devices: no positions, no folder (replace mode follows the rule)',
};

const RAW_WRITE = [
  /import\s*\{[^}]*\b(write|writev|writeSync|writevSync|createWriteStream)\b[^}]*\}\s*from\s*'node:fs'/,
  /\bfs\.(write|writev|writeSync|writevSync|createWriteStream)\b/,
  /\b(handle|file|fh)\.write\(/,
];

async function sourcesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourcesUnder(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('no writer of blob bytes decides for itself', () => {
  it("only the listed files use node:fs's write calls", async () => {
    const src = join(import.meta.dirname, '..', '..', '..', 'src');
    const writers: string[] = [];
    for (const file of await sourcesUnder(src)) {
      // Code only: comments name these calls to say why they are not used.
      const text = (await readFile(file, 'utf8'))
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      if (RAW_WRITE.some((re) => re.test(text))) writers.push(relative(src, file));
    }
    assert.deepEqual(writers.sort(), Object.keys(OWN_WRITES).sort());
  });
});
