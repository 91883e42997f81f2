import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Store } from '../../src/store/index.js';
import {
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const isRoot = process.getuid?.() === 0;

/** Mount a tmpfs of `size` at `dir` (root only): a real disk that fills up. */
function mountTiny(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

describe('the store on a full or read-only disk', {
  skip: isRoot ? false : 'needs root to mount a small tmpfs',
}, () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  const mounts: string[] = [];

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('store-faults');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    await randomImage(w, { layers: 1, layerSize: 16 * 1024, refName: 'small' });
    await randomImage(w, { layers: 2, layerSize: 3 * 1024 * 1024, refName: 'big' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'small', reg, 'faults/small:1');
    await pushLayout(join(dir.path, 'layout'), 'big', reg, 'faults/big:1');
  });
  after(async () => {
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    await reg?.stop();
    await dir?.remove();
  });

  async function tinyStore(name: string, size: string): Promise<string> {
    const path = join(dir.path, name);
    await mkdir(path);
    mountTiny(path, size);
    mounts.push(path);
    return path;
  }

  it('a full disk fails the pull with a clear error and leaves the store valid', async () => {
    const store = await tinyStore('full', '2m');
    const ok = await runCli(['pull', `${reg.host}/faults/small:1`, '--store', store]);
    assert.equal(ok.code, 0, ok.stderr);
    const full = await runCli(['pull', `${reg.host}/faults/big:1`, '--store', store]);
    assert.equal(full.code, 1);
    assert.match(full.stderr, /^ocipeek: cannot .*: no space left on device \(ENOSPC\)\n$/);
    assert.match(full.stderr, new RegExp(store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const images = JSON.parse((await runCli(['images', '--json', '--store', store])).out);
    assert.deepEqual(
      images.map((i: { reference: string }) => i.reference),
      [`${reg.host}/faults/small:1`],
    );
    const s = await Store.open(store, { create: false });
    assert.deepEqual(await s.validate(), []);
    const temps = await readdir(join(store, '.ocipeek', 'tmp'));
    assert.ok(
      temps.every((t) => !t.endsWith('.tmp')),
      `only resumable .partial files may stay: ${temps.join(', ')}`,
    );
  });

  it('a read-only store is refused with a clear error', async () => {
    const store = await tinyStore('readonly', '4m');
    const ok = await runCli(['pull', `${reg.host}/faults/small:1`, '--store', store]);
    assert.equal(ok.code, 0, ok.stderr);
    execFileSync('mount', ['-o', 'remount,ro', store]);
    const r = await runCli(['pull', `${reg.host}/faults/big:1`, '--store', store]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /read-only file system \(EROFS\)\n$/);
    const s = await Store.open(store, { create: false });
    assert.deepEqual(await s.validate(), []);
  });
});

/** uid/gid of `nobody` on Debian: a user that may read the store but not write it. */
const NOBODY = 65534;

describe('a store the user may not write', {
  skip: isRoot ? false : 'needs root to run the CLI as another user',
}, () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('store-perms');
    // The temp folder is private (0700); `nobody` must reach the store to be refused by it.
    await chmod(dir.path, 0o755);
    const w = new LayoutWriter(join(dir.path, 'layout'));
    await randomImage(w, { layers: 1, layerSize: 16 * 1024, refName: 'small' });
    await randomImage(w, { layers: 2, layerSize: 256 * 1024, refName: 'other' });
    await w.finish();
    await pushLayout(join(dir.path, 'layout'), 'small', reg, 'perms/small:1');
    await pushLayout(join(dir.path, 'layout'), 'other', reg, 'perms/other:1');
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('a pull into a root-owned store fails with permission denied and changes nothing', async () => {
    const store = join(dir.path, 'store');
    const home = join(dir.path, 'home');
    await mkdir(home, { mode: 0o777 });
    const ok = await runCli(['pull', `${reg.host}/perms/small:1`, '--store', store]);
    assert.equal(ok.code, 0, ok.stderr);
    const indexBefore = await readFile(join(store, 'index.json'));
    const blobsBefore = (await readdir(join(store, 'blobs', 'sha256'))).sort();

    const asNobody = { uid: NOBODY, gid: NOBODY, env: { HOME: home } };
    const denied = await runCli(['pull', `${reg.host}/perms/other:1`, '--store', store], asNobody);
    assert.equal(denied.code, 1, denied.stdout.toString());
    assert.match(denied.stderr, /^ocipeek: cannot .*: permission denied \(EACCES\)\n$/);
    assert.match(denied.stderr, new RegExp(store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));

    // Nothing moved: same index bytes, same blobs, no temp files left by the failed run.
    assert.deepEqual(await readFile(join(store, 'index.json')), indexBefore);
    assert.deepEqual((await readdir(join(store, 'blobs', 'sha256'))).sort(), blobsBefore);
    assert.deepEqual(await readdir(join(store, '.ocipeek', 'tmp')), []);
    const s = await Store.open(store, { create: false });
    assert.deepEqual(await s.validate(), []);

    // Reading needs no write access: the same user can still list what the store holds.
    const images = await runCli(['images', '--json', '--store', store], asNobody);
    assert.equal(images.code, 0, images.stderr);
    assert.deepEqual(
      JSON.parse(images.out).map((i: { reference: string }) => i.reference),
      [`${reg.host}/perms/small:1`],
    );
  });
});
