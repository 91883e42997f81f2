import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { CLI_PATH, runCli } from '../harness/run-cli.js';

/** Bytes of the files under `paths` (files or folders; missing ones count 0). */
async function bytesUnder(paths: string[]): Promise<number> {
  let total = 0;
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (info?.isFile()) total += info.size;
    else if (info?.isDirectory()) {
      const names = await readdir(p).catch(() => [] as string[]);
      total += await bytesUnder(names.map((n) => join(p, n)));
    }
  }
  return total;
}

/** `prune` of a store that is in use: pulls, imports and the listing cache. */
describe('prune next to running pulls and imports', () => {
  let registry: RunningRegistry;
  let work: TempDir;
  const images: BuiltImage[] = [];
  const refs: string[] = [];

  before(async () => {
    registry = await startRegistry();
    work = await tempDir('store-prune');
    const w = new LayoutWriter(join(work.path, 'layout'));
    for (let i = 0; i < 3; i++) {
      images.push(await randomImage(w, { layers: 6, layerSize: 32 * 1024, refName: `i${i}` }));
    }
    images.push(
      await randomImage(w, {
        layers: 1,
        layerSize: 96 * 1024 * 1024,
        compression: 'none',
        refName: 'big',
      }),
    );
    await w.finish();
    for (let i = 0; i < 3; i++) {
      await pushLayout(join(work.path, 'layout'), `i${i}`, registry, `prune/i${i}:1`);
      refs.push(`${registry.host}/prune/i${i}:1`);
    }
  });
  after(async () => {
    await registry?.stop();
    await work?.remove();
  });

  it('pulls during a prune loop all succeed and leave a valid store', async () => {
    const store = join(work.path, 'race-store');
    let pruning = true;
    let prunes = 0;
    // Three prune loops, so that a prune is running at almost every moment of a pull
    // (with one, most pulls slip between two prunes).
    const loop = Promise.all(
      [0, 1, 2].map(async () => {
        while (pruning) {
          const r = await runCli(['prune', '--json', '--store', store]);
          if (r.code === 0) prunes++;
          else if (!/no store/.test(r.stderr)) throw new Error(`prune failed: ${r.stderr}`);
        }
      }),
    );
    const failures: string[] = [];
    try {
      for (let round = 0; round < 10; round++) {
        const ref = refs[round % refs.length]!;
        // Untagged first: its blobs are unreferenced, exactly what prune removes.
        await runCli(['rmi', '--store', store, ref]);
        const r = await runCli(['pull', '--store', store, ref]);
        if (r.code !== 0) failures.push(r.stderr.trim());
      }
    } finally {
      pruning = false;
      await loop;
    }
    assert.deepEqual(failures, []);
    assert.ok(prunes >= 3, `only ${prunes} prunes ran next to the pulls`);
    const s = await Store.open(store, { create: false });
    assert.deepEqual(await s.validate(), []);
    assert.deepEqual(await readdir(s.pinsDir), [], 'every pull released its pin');
  });

  it('an import killed with SIGKILL leaves its staging in the store, and prune removes it', async () => {
    const store = join(work.path, 'import-store');
    const archive = join(work.path, 'big.oci.tar');
    // Listed by name: extraction refuses the './' entry that 'tar -C DIR .' writes.
    execFileSync('tar', [
      '-cf',
      archive,
      '-C',
      join(work.path, 'layout'),
      'oci-layout',
      'index.json',
      'blobs',
    ]);
    // The system temp folder of the CLI: nothing may be left there.
    const systemTmp = join(work.path, 'system-tmp');
    await mkdir(systemTmp);
    const tmp = join(store, '.ocipeek', 'tmp');
    let killed = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      const before = new Set(await readdir(tmp).catch(() => [] as string[]));
      const child = spawn(
        process.execPath,
        [CLI_PATH, 'import', '--store', store, '--image', 'big', archive, 'example.com/big:1'],
        { env: { ...process.env, TMPDIR: systemTmp }, stdio: 'ignore' },
      );
      const exited = once(child, 'exit');
      // Kill it while it extracts: once its staging folder (wherever it is) holds 8 MiB.
      while (child.exitCode === null) {
        const fresh = [
          ...(await readdir(tmp).catch(() => [] as string[]))
            .filter((n) => !before.has(n))
            .map((n) => join(tmp, n)),
          ...(await readdir(systemTmp)).map((n) => join(systemTmp, n)),
        ];
        if ((await bytesUnder(fresh)) >= 8 << 20) break;
        await sleep(2);
      }
      child.kill('SIGKILL');
      const [, signal] = (await exited) as [number | null, string | null];
      if (signal === 'SIGKILL') killed++;
    }
    assert.ok(killed >= 3, `only ${killed} of 6 imports were killed mid-way`);
    assert.deepEqual(await readdir(systemTmp), []);
    const left = (await readdir(tmp)).filter((n) => n.includes('archive'));
    assert.equal(left.length, killed);
    const pruned = await runCli(['prune', '--json', '--store', store]);
    assert.equal(pruned.code, 0, pruned.stderr);
    const result = JSON.parse(pruned.out);
    assert.equal(result.tempFilesRemoved, left.length);
    assert.ok(result.tempBytesFreed > 0);
    assert.deepEqual(await readdir(tmp), []);
    // And an import that is not killed cleans up after itself.
    const ok = await runCli([
      'import',
      '--store',
      store,
      '--image',
      'i0',
      archive,
      'example.com/i0:1',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(await readdir(tmp), []);
  });

  it('prune removes the listing cache of layers it removed and reports it', async () => {
    const store = join(work.path, 'cache-store');
    const ref = refs[0]!;
    assert.equal((await runCli(['pull', '--store', store, ref])).code, 0);
    const ls = await runCli(['ls', '-R', '--store', store, ref]);
    assert.equal(ls.code, 0, ls.stderr);
    const cacheDir = join(store, '.ocipeek', 'fs-index');
    const cached = await readdir(cacheDir);
    assert.equal(cached.length, images[0]!.layers.length);
    const keep = await runCli(['prune', '--json', '--store', store]);
    assert.equal(JSON.parse(keep.out).cacheFilesRemoved, 0);
    assert.deepEqual((await readdir(cacheDir)).sort(), cached.sort());
    assert.equal((await runCli(['rmi', '--store', store, ref])).code, 0);
    const pruned = JSON.parse((await runCli(['prune', '--json', '--store', store])).out);
    assert.equal(pruned.cacheFilesRemoved, images[0]!.layers.length);
    assert.ok(pruned.cacheBytesFreed > 0);
    assert.equal(
      pruned.bytesFreed,
      pruned.cacheBytesFreed +
        images[0]!.layers.reduce((n, l) => n + l.size, 0) +
        images[0]!.configBytes.length +
        images[0]!.manifestBytes.length,
    );
    assert.deepEqual(await readdir(cacheDir), []);
  });
});
