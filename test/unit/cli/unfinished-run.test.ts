import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(
  fileURLToPath(new URL('../../../src/cli/unfinished-run.ts', import.meta.url)),
).href;

/** Run `body` after installing the guard, in a node of its own (the guard exits it). */
function runWithGuard(body: string) {
  const script = `import { failIfRunEndsUnfinished } from ${JSON.stringify(MODULE)};
const finished = failIfRunEndsUnfinished();
${body}`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
}

describe('failIfRunEndsUnfinished', () => {
  it('a run waiting on a promise nothing can settle fails with one line, not code 0', () => {
    const run = runWithGuard(
      'await new Promise((resolve) => setTimeout(() => {}, 10)); await new Promise(() => {});',
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^ocipeek: internal error: the command stopped before it finished/);
    assert.equal(run.stdout, '');
  });

  it('a run that finished ends as it chose', () => {
    const run = runWithGuard(
      "await new Promise((resolve) => setTimeout(resolve, 10)); finished.done = true; process.stdout.write('ok');",
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'ok');
    assert.equal(run.stderr, '');
  });
});
