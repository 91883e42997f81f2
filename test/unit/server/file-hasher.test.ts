import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileHasher } from '../../../src/server/storage/file-hasher.js';
import { tempDir } from '../../harness/index.js';

const hex = (algorithm: string, b: Uint8Array) => createHash(algorithm).update(b).digest('hex');

describe('FileHasher: files hashed on a thread of their own as they grow', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const hasher = new FileHasher();

  before(async () => {
    dir = await tempDir('file-hasher');
  });
  after(async () => {
    await hasher.close();
    await dir?.remove();
  });

  it('hashes a file told about piece by piece, and only its first `size` bytes', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    const path = join(dir.path, 'growing');
    await writeFile(path, '');
    const hash = hasher.open(path, 'sha256');
    for (let at = 0; at < bytes.length; at += 700_000) {
      await appendFile(path, bytes.subarray(at, at + 700_000));
      hash.extend(Math.min(at + 700_000, bytes.length));
    }
    // Bytes past the size asked for are not part of the digest.
    await appendFile(path, randomBytes(1000));
    assert.equal(await hash.digest(bytes.length), hex('sha256', bytes));
    await assert.rejects(hash.digest(bytes.length), /finished/);
  });

  it('hashes a file whole from disk, with sha512 too', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const path = join(dir.path, 'whole');
    await writeFile(path, bytes);
    assert.equal(await hasher.open(path, 'sha512').digest(bytes.length), hex('sha512', bytes));
    assert.equal(await hasher.open(path, 'sha256').digest(bytes.length), hex('sha256', bytes));
  });

  it('fails a file shorter than the size asked for, or missing', async () => {
    const path = join(dir.path, 'short');
    await writeFile(path, randomBytes(1000));
    await assert.rejects(hasher.open(path, 'sha256').digest(2000), /ends at 1000 bytes/);
    await assert.rejects(hasher.open(join(dir.path, 'none'), 'sha256').digest(10), /ENOENT/);
  });

  it('keeps hashes apart, and a discarded one leaves the others whole', async () => {
    const a = randomBytes(2 * 1024 * 1024);
    const b = randomBytes(3 * 1024 * 1024);
    await writeFile(join(dir.path, 'a'), a);
    await writeFile(join(dir.path, 'b'), b);
    const ha = hasher.open(join(dir.path, 'a'), 'sha256');
    const hb = hasher.open(join(dir.path, 'b'), 'sha256');
    const dropped = hasher.open(join(dir.path, 'b'), 'sha256');
    ha.extend(a.length);
    dropped.extend(2 * 1024 * 1024);
    hb.extend(1024 * 1024);
    dropped.discard();
    const [da, db] = await Promise.all([ha.digest(a.length), hb.digest(b.length)]);
    assert.equal(da, hex('sha256', a));
    assert.equal(db, hex('sha256', b));
  });
});
