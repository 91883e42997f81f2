import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { targetOf } from '../../../src/store/positional-writer.js';
import {
  openTargetWriteStream,
  TargetWriteStream,
} from '../../../src/store/target-write-stream.js';
import { type TempDir, tempDir } from '../../harness/index.js';

const dirs: TempDir[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

async function scratchDir(): Promise<string> {
  const d = await tempDir('target-write-stream');
  dirs.push(d);
  return d.path;
}

/** Pieces of `data`, some of them handed in at once (the stream's `_writev`). */
function piecesOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

describe('TargetWriteStream', () => {
  for (const onTmpfs of [false, true]) {
    it(`writes every chunk in order and closes its file (${onTmpfs ? 'calling thread' : 'pool'})`, async () => {
      const path = join(await scratchDir(), 'f');
      const file = await open(path, 'w');
      const stream = new TargetWriteStream(file, { ...targetOf(onTmpfs), maxWriteBytes: 4096 });
      const data = randomBytes(300_000);
      await pipeline(Readable.from(piecesOf(data, 10_007)), stream);
      await finished(stream);
      assert.deepEqual(await readFile(path), data);
      assert.equal(file.fd, -1, 'closed once finished');
    });
  }

  it('leaves the file open when asked to', async () => {
    const path = join(await scratchDir(), 'f');
    const file = await open(path, 'w');
    const stream = new TargetWriteStream(file, targetOf(false), { closeFile: false });
    await pipeline(Readable.from([Buffer.from('abc'), Buffer.from('def')]), stream);
    assert.notEqual(file.fd, -1);
    await file.write('!', 6);
    await file.close();
    assert.equal(await readFile(path, 'utf8'), 'abcdef!');
  });

  it('fails the pipeline with a write error (both thread kinds)', async () => {
    for (const onTmpfs of [false, true]) {
      const path = join(await scratchDir(), 'f');
      await writeFile(path, '');
      const file = await open(path, 'r'); // read-only: every write fails with EBADF
      const stream = new TargetWriteStream(file, targetOf(onTmpfs));
      await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), stream), {
        code: 'EBADF',
      });
      assert.equal(file.fd, -1, 'closed after the failure');
    }
  });

  it('openTargetWriteStream keeps the open flags (wx refuses an existing file)', async () => {
    const path = join(await scratchDir(), 'f');
    await writeFile(path, 'old');
    await assert.rejects(openTargetWriteStream(path, { flags: 'wx' }), { code: 'EEXIST' });
    assert.equal(await readFile(path, 'utf8'), 'old');
  });
});
