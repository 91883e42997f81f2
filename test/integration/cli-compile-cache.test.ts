import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LEAN_BUNDLES } from '../../src/cli/light-commands.js';
import { runCli } from '../harness/run-cli.js';
import { type TempDir, tempDir } from '../harness/temp-dir.js';

/** The executable's V8 code cache (src/cli/launch.ts): written once, then used as it is. */
describe('the CLI code cache', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await tempDir('compile-cache');
  });
  after(async () => {
    await tmp.remove();
  });

  const files = async (dir: string) => (await readdir(dir)).filter((f) => f.endsWith('.bin'));

  it('is written by the first run of a command, then read and kept as it is', async () => {
    const dir = join(tmp.path, 'cache');
    const env = { OCIPEEK_COMPILE_CACHE: dir };
    const first = await runCli(['--version'], { env });
    assert.equal(first.code, 0, first.stderr);
    const [file] = await files(dir);
    assert.ok(file, 'a cache file was written');
    assert.match(file, /^[0-9a-f]{16}-v\d+\.\d+\.\d+-[a-z0-9]+-none\.bin$/);
    const bytes = await readFile(join(dir, file));
    const { mtimeMs } = await stat(join(dir, file));
    assert.ok(bytes.length > 10_000, 'holds compiled code');
    const second = await runCli(['--version'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.out, first.out);
    // Accepted by V8, so not rewritten.
    assert.equal((await stat(join(dir, file))).mtimeMs, mtimeMs);
    assert.deepEqual(await readFile(join(dir, file)), bytes);
    // Each command gets its own.
    const help = await runCli(['help', 'ls'], { env });
    assert.equal(help.code, 0, help.stderr);
    assert.deepEqual((await files(dir)).length, 2);
  });

  it('a damaged cache file is ignored and replaced', async () => {
    const dir = join(tmp.path, 'damaged');
    const env = { OCIPEEK_COMPILE_CACHE: dir };
    assert.equal((await runCli(['--version'], { env })).code, 0);
    const [file] = await files(dir);
    const junk = Buffer.alloc(5000, 0x41);
    await writeFile(join(dir, file!), junk);
    const run = await runCli(['--version'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.out, /^\d+\.\d+\.\d+/);
    assert.notDeepEqual(await readFile(join(dir, file!)), junk, 'rewritten with real code');
  });

  it("keeps the caches of the other builds used beside it, so they do not rewrite each other's", async () => {
    const dir = join(tmp.path, 'shared');
    const env = { OCIPEEK_COMPILE_CACHE: dir };
    assert.equal((await runCli(['--version'], { env })).code, 0);
    const [own] = await files(dir);
    const build = own!.slice(0, 16);
    const rest = own!.slice(16);
    // Other bundles wrote here before, the oldest first (a second apart): three other
    // builds of every bundle each (the full one and the lean ones) and one more.
    const kept = 3 * (LEAN_BUNDLES.length + 1);
    const others = Array.from({ length: kept + 1 }, (_, n) => String(n + 1).padStart(16, '0'));
    const start = Date.now() / 1000 - 100;
    for (const [i, other] of others.entries()) {
      const file = join(dir, `${other}${rest}`);
      await writeFile(file, `cache of build ${other}`);
      await utimes(file, start + i, start + i);
    }
    // A write by this build (a command run for the first time) prunes to the newest other
    // bundles of three builds and leaves their files as they were.
    const help = await runCli(['help', 'ls'], { env });
    assert.equal(help.code, 0, help.stderr);
    const after = (await files(dir)).sort();
    assert.deepEqual(
      after,
      [
        ...others.slice(1).map((o) => `${o}${rest}`),
        own!,
        `${build}${rest.replace('-none.bin', '-help.bin')}`,
      ].sort(),
    );
    for (const other of others.slice(1)) {
      assert.equal(await readFile(join(dir, `${other}${rest}`), 'utf8'), `cache of build ${other}`);
    }
  });

  it('an unwritable cache folder, or OCIPEEK_COMPILE_CACHE=off, only means no cache', async () => {
    const blocked = join(tmp.path, 'blocked');
    await writeFile(blocked, 'a file where the folder should be');
    const run = await runCli(['--version'], { env: { OCIPEEK_COMPILE_CACHE: join(blocked, 'x') } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');

    const home = join(tmp.path, 'home');
    await mkdir(home);
    await chmod(home, 0o755);
    const off = await runCli(['--version'], {
      env: { OCIPEEK_COMPILE_CACHE: 'off', XDG_CACHE_HOME: join(home, '.cache') },
    });
    assert.equal(off.code, 0, off.stderr);
    assert.deepEqual(await readdir(home), [], 'nothing written');

    const byDefault = await runCli(['--version'], {
      env: { XDG_CACHE_HOME: join(home, '.cache') },
    });
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.equal((await files(join(home, '.cache', 'ocipeek-compile-cache'))).length, 1);
  });
});
