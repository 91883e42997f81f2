import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createFileIfAbsent, createFilesIfAbsent } from '../../../src/store/atomic-file.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function place(): Promise<{ dir: string; tmpDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ocipeek-atomic-file-'));
  dirs.push(dir);
  const tmpDir = join(dir, 'tmp');
  await mkdir(tmpDir);
  return { dir, tmpDir };
}

describe('createFilesIfAbsent', () => {
  it('creates every file, keeps the ones already there, and leaves no temp file', async () => {
    const { dir, tmpDir } = await place();
    await writeFile(join(dir, 'b'), 'old b');
    const created = await createFilesIfAbsent(
      [
        { path: join(dir, 'a'), data: Buffer.from('new a') },
        { path: join(dir, 'b'), data: Buffer.from('new b') },
        { path: join(dir, 'c'), data: Buffer.from('new c') },
      ],
      { tmpDir },
    );
    assert.deepEqual(created, [true, false, true]);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'new a');
    assert.equal(await readFile(join(dir, 'b'), 'utf8'), 'old b');
    assert.equal(await readFile(join(dir, 'c'), 'utf8'), 'new c');
    assert.deepEqual(await readdir(tmpDir), []);
    assert.equal(await createFileIfAbsent(join(dir, 'a'), Buffer.from('again'), { tmpDir }), false);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'new a');
  });

  it('links in order: a file that cannot be made stops the later ones, temps removed', async () => {
    const { dir, tmpDir } = await place();
    await assert.rejects(
      createFilesIfAbsent(
        [
          { path: join(dir, 'first'), data: Buffer.from('1') },
          { path: join(dir, 'missing-folder', 'second'), data: Buffer.from('2') },
          { path: join(dir, 'third'), data: Buffer.from('3') },
        ],
        { tmpDir },
      ),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && /second/.test(err.message),
    );
    assert.equal(await readFile(join(dir, 'first'), 'utf8'), '1');
    assert.deepEqual((await readdir(dir)).sort(), ['first', 'tmp']);
    assert.deepEqual(await readdir(tmpDir), []);
  });
});
