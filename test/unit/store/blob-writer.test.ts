import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFile,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError, SizeMismatchError } from '../../../src/errors/index.js';
import { DIRECT_MIN_BYTES } from '../../../src/store/direct-writer.js';
import { Store } from '../../../src/store/index.js';
import type { BodySink } from '../../../src/transport/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function newStore(): Promise<Store> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-blob-writer-'));
  dirs.push(d);
  return Store.open(join(d, 's'));
}

function blob(size: number) {
  const data = randomBytes(size);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  return { data, digest, size, hex: digest.slice(7) };
}

/** An opener that records the offsets asked for and serves `data` from there. */
function serving(data: Buffer) {
  const offsets: number[] = [];
  const open = async (offset: number) => {
    offsets.push(offset);
    return Readable.from([data.subarray(offset)]);
  };
  return { offsets, open };
}

describe('writeBlob: a kill between a complete .partial and its rename', () => {
  it('a complete partial is hashed and renamed without fetching anything', async () => {
    const store = await newStore();
    const b = blob(200_000);
    await writeFile(join(store.tmpDir, `sha256-${b.hex}.partial`), b.data);
    const source = serving(b.data);
    const r = await store.writeBlob(b, source.open, { sourceVerified: true });
    assert.deepEqual(source.offsets, []);
    assert.equal(r.written, true);
    assert.equal(r.bytesTransferred, 0);
    assert.equal(r.resumedFrom, b.size);
    assert.deepEqual(await readFile(store.blobPath(b.digest)), b.data);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });

  it('a complete partial with the wrong bytes is discarded and fetched from byte 0', async () => {
    const store = await newStore();
    const b = blob(50_000);
    const wrong = Buffer.from(b.data);
    wrong[100] = (wrong[100] ?? 0) ^ 1;
    await writeFile(join(store.tmpDir, `sha256-${b.hex}.partial`), wrong);
    const source = serving(b.data);
    await store.writeBlob(b, source.open, { sourceVerified: true });
    assert.deepEqual(source.offsets, [0]);
    assert.deepEqual(await readFile(store.blobPath(b.digest)), b.data);
  });

  it('a partial longer than the blob is not resumed', async () => {
    const store = await newStore();
    const b = blob(1000);
    await writeFile(join(store.tmpDir, `sha256-${b.hex}.partial`), randomBytes(1500));
    const source = serving(b.data);
    await store.writeBlob(b, source.open, { sourceVerified: true });
    assert.deepEqual(source.offsets, [0]);
    assert.deepEqual(await readFile(store.blobPath(b.digest)), b.data);
  });

  it('a registry answering the resume with 416 sends the blob back to byte 0', async () => {
    const store = await newStore();
    const b = blob(40_000);
    await writeFile(join(store.tmpDir, `sha256-${b.hex}.partial`), b.data.subarray(0, 30_000));
    const offsets: number[] = [];
    const r = await store.writeBlob(
      b,
      async (offset) => {
        offsets.push(offset);
        if (offset > 0) throw new RegistryError('registry answered 416', 416);
        return Readable.from([b.data]);
      },
      { sourceVerified: true },
    );
    assert.deepEqual(offsets, [30_000, 0]);
    assert.equal(r.bytesTransferred, b.size);
    assert.deepEqual(await readFile(store.blobPath(b.digest)), b.data);
  });
});

/**
 * `b` as a stream whose second half comes only after another writer (say, one that stole
 * the lock) appended `extra` to the same partial: the stream itself is complete and right.
 */
function racedWith(store: Store, b: ReturnType<typeof blob>, extra: Buffer): Readable {
  const partial = join(store.tmpDir, `sha256-${b.hex}.partial`);
  const half = b.size / 2;
  async function* source() {
    yield b.data.subarray(0, half);
    while (((await stat(partial).catch(() => undefined))?.size ?? 0) < half) await sleep(1);
    await appendFile(partial, extra);
    yield b.data.subarray(half);
  }
  return Readable.from(source());
}

describe('writeBlob: the file on disk is what is checked', () => {
  it('bytes another writer appends to the partial keep the blob from becoming visible', async () => {
    const store = await newStore();
    const b = blob(64 * 1024);
    const source = racedWith(store, b, randomBytes(b.size / 2 + 10));
    await assert.rejects(
      store.writeBlob(b, source, { sourceVerified: true }),
      (err: unknown) => err instanceof SizeMismatchError && /expected|bytes/.test(err.message),
    );
    assert.equal(await store.hasBlob(b.digest), undefined);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });

  it('each chunk lands at its own position: a partial extended behind the writer is overwritten', async () => {
    const store = await newStore();
    const b = blob(64 * 1024);
    // Shorter than the second half, which is then written over it.
    const source = racedWith(store, b, Buffer.alloc(100, 0x58));
    const r = await store.writeBlob(b, source, { sourceVerified: true });
    assert.equal(r.written, true);
    assert.deepEqual(await readFile(store.blobPath(b.digest)), b.data);
  });

  it('a resumed prefix is read back from disk and hashed with the new bytes', async () => {
    const store = await newStore();
    const b = blob(10_000);
    const bad = Buffer.from(b.data.subarray(0, 4000));
    bad[3999] = (bad[3999] ?? 0) ^ 1;
    await writeFile(join(store.tmpDir, `sha256-${b.hex}.partial`), bad);
    const source = serving(b.data);
    await store.writeBlob(b, source.open, { sourceVerified: true });
    assert.deepEqual(source.offsets, [4000, 0]);
    assert.deepEqual(await readFile(store.blobPath(b.digest)), b.data);
  });
});

describe('writeBlob: absent (the caller just looked)', () => {
  it('a blob stored meanwhile is found under the lock: nothing is fetched or replaced', async () => {
    const store = await newStore();
    const b = blob(5000);
    await store.writeBlob(b, Readable.from([b.data]));
    const before = await stat(store.blobPath(b.digest));
    const source = serving(b.data);
    const r = await store.writeBlob(b, source.open, { sourceVerified: true, absent: true });
    assert.equal(r.written, false);
    assert.deepEqual(source.offsets, []);
    assert.equal((await stat(store.blobPath(b.digest))).ino, before.ino);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });
});

describe('writeBlob: a big blob (written O_DIRECT off tmpfs)', () => {
  it('lands whole from uneven pieces, and a kept partial resumes from its length', async () => {
    const store = await newStore();
    const b = blob(DIRECT_MIN_BYTES + 3 * 4096 + 17);
    const pieces: Buffer[] = [];
    for (let at = 0, i = 0; at < b.size; i++) {
      const n = Math.min(b.size - at, 1 + ((i * 104_729) % (700 * 1024)));
      pieces.push(b.data.subarray(at, at + n));
      at += n;
    }
    const r = await store.writeBlob(b, Readable.from(pieces), { sourceVerified: true });
    assert.equal(r.written, true);
    assert.ok((await readFile(store.blobPath(b.digest))).equals(b.data));

    // A download broken after 3 MiB left a partial of whole blocks: resumed from there.
    const again = await newStore();
    await writeFile(join(again.tmpDir, `sha256-${b.hex}.partial`), b.data.subarray(0, 3 << 20));
    const source = serving(b.data);
    const resumed = await again.writeBlob(b, source.open, { sourceVerified: true });
    assert.deepEqual(source.offsets, [3 << 20]);
    assert.equal(resumed.resumedFrom, 3 << 20);
    assert.ok((await readFile(again.blobPath(b.digest))).equals(b.data));
    assert.deepEqual(await readdir(again.tmpDir), []);
  });
});

describe('writeBlob: a store on tmpfs (written on the calling thread)', () => {
  /** A body handing `data` on through one reused buffer, overwritten once the sink is done. */
  function reusedViews(data: Buffer, piece: number): Readable {
    const body = Readable.from([]) as Readable & { pipeTo(sink: BodySink): Promise<void> };
    body.pipeTo = async (sink: BodySink) => {
      const room = Buffer.alloc(piece);
      for (let at = 0; at < data.length; at += piece) {
        const n = data.copy(room, 0, at, at + piece);
        await sink(room.subarray(0, n));
        room.fill(0x5a);
      }
    };
    return body;
  }

  it('lands whole and verified although the source reuses each piece at once', async (t) => {
    const shm = await statfs('/dev/shm').catch(() => undefined);
    if (shm?.type !== 0x01021994) return t.skip('no tmpfs at /dev/shm');
    const d = await mkdtemp(join('/dev/shm', 'ocipeek-blob-writer-'));
    dirs.push(d);
    const store = await Store.open(join(d, 's'));
    const b = blob(3 * 1024 * 1024 + 4321);
    const r = await store.writeBlob(b, reusedViews(b.data, 256 * 1024 + 3));
    assert.equal(r.written, true);
    assert.ok((await readFile(store.blobPath(b.digest))).equals(b.data));
    assert.deepEqual(await readdir(store.tmpDir), []);
  });
});
