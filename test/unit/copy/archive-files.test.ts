import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extractArchive, packDirectory } from '../../../src/archive/index.js';

describe('packDirectory / extractArchive', () => {
  it('round-trips a folder, leaves out excluded names, and is reproducible', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ocipeek-pack-'));
    try {
      const src = join(root, 'src');
      await mkdir(join(src, 'blobs', 'sha256'), { recursive: true });
      await mkdir(join(src, '.ocipeek'), { recursive: true });
      await writeFile(join(src, 'index.json'), '{"a":1}');
      await writeFile(join(src, 'blobs', 'sha256', 'x'), Buffer.alloc(70_000, 7));
      await writeFile(join(src, '.ocipeek', 'lock'), 'no');
      await packDirectory(src, join(root, 'a.tar'), { exclude: ['.ocipeek'] });
      await packDirectory(src, join(root, 'b.tar'), { exclude: ['.ocipeek'] });
      assert.deepEqual(await readFile(join(root, 'a.tar')), await readFile(join(root, 'b.tar')));
      const out = join(root, 'out');
      await mkdir(out);
      const { files } = await extractArchive(join(root, 'a.tar'), out);
      assert.deepEqual(files.sort(), ['blobs/sha256/x', 'index.json']);
      assert.deepEqual(await readFile(join(out, 'blobs', 'sha256', 'x')), Buffer.alloc(70_000, 7));
      await assert.rejects(readFile(join(out, '.ocipeek', 'lock')), { code: 'ENOENT' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('turns links inside the archive into copies (docker save dedups layers with them)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ocipeek-pack-'));
    try {
      const { execFile } = await import('node:child_process');
      const { promisify } = await import('node:util');
      const src = join(root, 'src');
      await mkdir(join(src, 'a'), { recursive: true });
      await mkdir(join(src, 'b'), { recursive: true });
      await writeFile(join(src, 'a', 'layer.tar'), 'layer bytes');
      await symlink('../a/layer.tar', join(src, 'b', 'layer.tar'));
      await promisify(execFile)('tar', ['-cf', join(root, 'l.tar'), '-C', src, 'a', 'b']);
      const out = join(root, 'out');
      await mkdir(out);
      await extractArchive(join(root, 'l.tar'), out);
      assert.equal(await readFile(join(out, 'b', 'layer.tar'), 'utf8'), 'layer bytes');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
