import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type TempDir, tempDir } from '../../harness/temp-dir.js';

/*
 * scripts/build.mjs and scripts/test.mjs in a copy of the repository (never this
 * worktree's dist/, which the running tests use): a build skips when its inputs are
 * unchanged, refuses to rebuild under another live run, and `test.mjs --help` prints
 * its usage instead of running the suite.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('scripts/build.mjs and scripts/test.mjs', () => {
  let dir: TempDir;
  let copy: string;

  before(async () => {
    dir = await tempDir('build-script');
    copy = dir.path;
    for (const p of ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) {
      cpSync(join(root, p), join(copy, p), { recursive: true });
    }
    cpSync(join(root, 'package-lock.json'), join(copy, 'package-lock.json'));
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  });

  after(async () => {
    await dir?.remove();
  });

  const node = (args: string[]) =>
    spawnSync(process.execPath, args, { cwd: copy, encoding: 'utf8' });

  it('test.mjs --help prints its usage and runs nothing', () => {
    const r = node(['scripts/test.mjs', '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^usage: node scripts\/test\.mjs \[--unit\] \[--no-check\] \[FILE\.\.\.\]/,
    );
    assert.equal(existsSync(join(copy, 'dist')), false, 'nothing built');
    const bad = node(['scripts/test.mjs', '--hlep']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^test\.mjs: unknown option --hlep\n/);
  });

  it('does not rebuild dist/ under another live run, and skips a build whose inputs are unchanged', () => {
    mkdirSync(join(copy, 'dist/.users'), { recursive: true });
    writeFileSync(join(copy, 'dist/.build-inputs'), 'an older build');
    // This test process stands for a test run using dist/.
    writeFileSync(join(copy, 'dist/.users', String(process.pid)), '');
    const refused = node(['scripts/build.mjs']);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `^build: dist/ is out of date but in use by a running test \\(pid ${process.pid}\\)`,
      ),
    );
    assert.equal(existsSync(join(copy, 'dist/index.js')), false, 'nothing was built');
    assert.equal(readFileSync(join(copy, 'dist/.build-inputs'), 'utf8'), 'an older build');
    // Up to date (the stamp is the inputs' hash): nothing to build, users or not.
    const hash = node([
      '--input-type=module',
      '-e',
      "import { inputsHash } from './scripts/build.mjs'; process.stdout.write(inputsHash());",
    ]);
    assert.equal(hash.status, 0, hash.stderr);
    assert.match(hash.stdout, /^[0-9a-f]{64}$/);
    writeFileSync(join(copy, 'dist/.build-inputs'), hash.stdout);
    const skipped = node(['scripts/build.mjs']);
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.equal(existsSync(join(copy, 'dist/index.js')), false, 'up to date: not rebuilt');
    // One changed source makes the hash differ.
    writeFileSync(join(copy, 'src/extra.ts'), 'export const x = 1;\n');
    const again = node([
      '--input-type=module',
      '-e',
      "import { inputsHash } from './scripts/build.mjs'; process.stdout.write(inputsHash());",
    ]);
    assert.notEqual(again.stdout, hash.stdout);
  });
});
