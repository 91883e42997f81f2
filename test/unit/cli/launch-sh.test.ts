import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type TempDir, tempDir } from '../../harness/temp-dir.js';

const run = promisify(execFile);
const LAUNCH_SH = fileURLToPath(new URL('../../../src/cli/launch.sh', import.meta.url));

/** What the stand-in for ocipeek.js saw. */
interface Seen {
  script: string;
  args: string[];
  extra?: string;
  deferred?: string;
  arenas?: string;
  arenasSet?: string;
  mmap?: string;
  trim?: string;
  thresholdsSet?: string;
}

/**
 * src/cli/launch.sh, the executable npm links: it must find ocipeek.js beside its real
 * file through any symlinks, pass every argument through untouched, and move
 * NODE_EXTRA_CA_CERTS to OCIPEEK_DEFERRED_EXTRA_CA_CERTS. A stand-in ocipeek.js reports
 * what it was started with.
 */
describe('the sh launcher', () => {
  let tmp: TempDir;
  let pkgBin: string;
  before(async () => {
    tmp = await tempDir('launch-sh');
    // The layout npm makes: node_modules/ocipeek/dist/bin/{ocipeek,ocipeek.js} and a
    // relative symlink node_modules/.bin/ocipeek -> ../ocipeek/dist/bin/ocipeek.
    pkgBin = join(tmp.path, 'node_modules', 'ocipeek', 'dist', 'bin');
    await mkdir(pkgBin, { recursive: true });
    await copyFile(LAUNCH_SH, join(pkgBin, 'ocipeek'));
    await chmod(join(pkgBin, 'ocipeek'), 0o755);
    await writeFile(join(pkgBin, 'package.json'), '{"type":"commonjs"}\n');
    await writeFile(
      join(pkgBin, 'ocipeek.js'),
      `process.stdout.write(JSON.stringify({ script: __filename, args: process.argv.slice(2),
        extra: process.env.NODE_EXTRA_CA_CERTS, deferred: process.env.OCIPEEK_DEFERRED_EXTRA_CA_CERTS,
        arenas: process.env.MALLOC_ARENA_MAX, arenasSet: process.env.OCIPEEK_SET_MALLOC_ARENA_MAX,
        mmap: process.env.MALLOC_MMAP_THRESHOLD_, trim: process.env.MALLOC_TRIM_THRESHOLD_,
        thresholdsSet: process.env.OCIPEEK_SET_MALLOC_THRESHOLDS }));\n`,
    );
    await mkdir(join(tmp.path, 'node_modules', '.bin'));
    await symlink('../ocipeek/dist/bin/ocipeek', join(tmp.path, 'node_modules', '.bin', 'ocipeek'));
    // A global install: /usr/local/bin/ocipeek -> absolute path, itself reached by a
    // second, relative link.
    await mkdir(join(tmp.path, 'usr', 'bin'), { recursive: true });
    await symlink(join(pkgBin, 'ocipeek'), join(tmp.path, 'usr', 'bin', 'ocipeek-abs'));
    await symlink('ocipeek-abs', join(tmp.path, 'usr', 'bin', 'ocipeek'));
  });
  after(async () => {
    await tmp.remove();
  });

  async function launch(file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
    const clean = { ...process.env, ...env };
    for (const [k, v] of Object.entries(clean)) if (v === undefined) delete clean[k];
    const { stdout } = await run(file, args, { env: clean, cwd });
    return JSON.parse(stdout) as Seen;
  }

  const tricky = ['digest', 'a b', '', '--', '$HOME', "it's", '*', '-n'];

  it('moves NODE_EXTRA_CA_CERTS aside and passes every argument through', async () => {
    const seen = await launch(join(pkgBin, 'ocipeek'), tricky, {
      NODE_EXTRA_CA_CERTS: '/etc/some bundle.pem',
    });
    assert.equal(seen.script, join(pkgBin, 'ocipeek.js'));
    assert.deepEqual(seen.args, tricky);
    assert.equal(seen.extra, undefined, 'node started without it');
    assert.equal(seen.deferred, '/etc/some bundle.pem');
  });

  it('sets nothing when NODE_EXTRA_CA_CERTS is unset or empty', async () => {
    for (const value of [undefined, '']) {
      const seen = await launch(join(pkgBin, 'ocipeek'), ['x'], {
        NODE_EXTRA_CA_CERTS: value,
        OCIPEEK_DEFERRED_EXTRA_CA_CERTS: undefined,
      });
      assert.equal(seen.deferred, undefined);
    }
  });

  it('starts node with MALLOC_ARENA_MAX=2 unless the user set it, and says whether it set it', async () => {
    for (const value of [undefined, '']) {
      const seen = await launch(join(pkgBin, 'ocipeek'), ['x'], {
        MALLOC_ARENA_MAX: value,
        OCIPEEK_SET_MALLOC_ARENA_MAX: undefined,
      });
      assert.equal(seen.arenas, '2');
      assert.equal(seen.arenasSet, '1');
    }
    const seen = await launch(join(pkgBin, 'ocipeek'), ['x'], {
      MALLOC_ARENA_MAX: '4',
      OCIPEEK_SET_MALLOC_ARENA_MAX: undefined,
    });
    assert.equal(seen.arenas, '4');
    assert.equal(seen.arenasSet, undefined);
  });

  it('fixes malloc thresholds for unpack only, unless the user set one', async () => {
    const unset = {
      MALLOC_MMAP_THRESHOLD_: undefined,
      MALLOC_TRIM_THRESHOLD_: undefined,
      OCIPEEK_SET_MALLOC_THRESHOLDS: undefined,
    };
    const bin = join(pkgBin, 'ocipeek');
    const unpack = await launch(bin, ['--store', 's', 'unpack', 'oci:l:app', 'd'], unset);
    assert.deepEqual([unpack.mmap, unpack.trim, unpack.thresholdsSet], ['1048576', '262144', '1']);
    const ls = await launch(bin, ['ls', 'oci:l:app', '/'], unset);
    assert.deepEqual([ls.mmap, ls.trim, ls.thresholdsSet], [undefined, undefined, undefined]);
    const own = await launch(bin, ['unpack', 'oci:l:app', 'd'], {
      ...unset,
      MALLOC_TRIM_THRESHOLD_: '65536',
    });
    assert.deepEqual([own.mmap, own.trim, own.thresholdsSet], [undefined, '65536', undefined]);
  });

  it('finds ocipeek.js through relative, absolute and chained symlinks', async () => {
    for (const link of [
      join(tmp.path, 'node_modules', '.bin', 'ocipeek'),
      join(tmp.path, 'usr', 'bin', 'ocipeek-abs'),
      join(tmp.path, 'usr', 'bin', 'ocipeek'),
    ]) {
      const seen = await launch(link, ['--version'], {});
      assert.equal(seen.script, join(pkgBin, 'ocipeek.js'), link);
      assert.deepEqual(seen.args, ['--version']);
    }
  });

  it('works when started as `sh ocipeek` from its own folder', async () => {
    const seen = await launch('sh', ['ocipeek', 'tags', 'r'], {}, pkgBin);
    assert.deepEqual(seen.args, ['tags', 'r']);
    assert.equal(seen.script, join(pkgBin, 'ocipeek.js'));
  });

  it('is `ocipeek proxy` when run as container-image-proxy (its own copy, or a link)', async () => {
    const copy = join(pkgBin, 'container-image-proxy');
    await copyFile(LAUNCH_SH, copy);
    await chmod(copy, 0o755);
    const npmLink = join(tmp.path, 'node_modules', '.bin', 'container-image-proxy');
    await symlink('../ocipeek/dist/bin/container-image-proxy', npmLink);
    const renamed = join(tmp.path, 'usr', 'bin', 'container-image-proxy');
    await symlink(join(pkgBin, 'ocipeek'), renamed);
    for (const file of [copy, npmLink, renamed]) {
      const seen = await launch(file, ['--sockfd=3', 'docker://r/x:1'], {});
      assert.equal(seen.script, join(pkgBin, 'ocipeek.js'), file);
      assert.deepEqual(seen.args, ['proxy', '--sockfd=3', 'docker://r/x:1'], file);
    }
    const plain = await launch(join(pkgBin, 'ocipeek'), ['proxy', 'x'], {});
    assert.deepEqual(plain.args, ['proxy', 'x'], 'ocipeek itself adds nothing');
  });

  it('is also JavaScript: run by node, it loads the launcher beside it', async () => {
    const seen = await launch(process.execPath, [join(pkgBin, 'ocipeek'), ...tricky], {
      NODE_EXTRA_CA_CERTS: '/x.pem',
      OCIPEEK_DEFERRED_EXTRA_CA_CERTS: undefined,
    });
    assert.equal(seen.script, join(pkgBin, 'ocipeek.js'));
    assert.deepEqual(seen.args, tricky);
    // Node itself read the variable at start here: nothing is deferred.
    assert.equal(seen.extra, '/x.pem');
    assert.equal(seen.deferred, undefined);
  });
});
