import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempName } from '../../../src/store/atomic-file.js';
import { Store } from '../../../src/store/index.js';
import { mayBeWriterOf, startTimeMsOf } from '../../../src/store/process-owner.js';
import { pruneStore } from '../../../src/store/prune.js';
import { deadPid } from './dead-pid.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A child that runs until killed, and its pid. */
async function liveChild() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  return child;
}

describe('who may have written a store temp file', () => {
  it('reads a process start time that lies within its life', () => {
    const started = startTimeMsOf(process.pid);
    assert.ok(started !== undefined, 'this test runs on Linux with /proc');
    const expected = Date.now() - process.uptime() * 1000;
    // btime is cut to the second and ticks are 10 ms: at most ~1 s early, never late.
    assert.ok(started <= expected + 50, `${started} is after the start ${expected}`);
    assert.ok(started >= expected - 1500, `${started} is long before the start ${expected}`);
  });

  it('a running process that started after the change did not write it (its pid was reused)', async () => {
    const child = await liveChild();
    try {
      const pid = child.pid!;
      assert.equal(mayBeWriterOf(pid, Date.now()), true, 'changed after it started');
      assert.equal(mayBeWriterOf(pid, Date.now() - 60_000), false, 'changed a minute before');
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(mayBeWriterOf(await deadPid(), Date.now()), false, 'a dead pid writes nothing');
  });

  it('prune keeps a temp file while its writer runs and removes it after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-temp-owner-'));
    dirs.push(dir);
    const store = await Store.open(dir);
    const child = await liveChild();
    const exited = once(child, 'exit');
    // A temp name carrying the child's pid, made after it started, as its own would be.
    const own = tempName(store.tmpDir, 'blob');
    const name = own.replace(`.${process.pid}.`, `.${child.pid}.`);
    await writeFile(name, 'being written');
    try {
      const kept = await pruneStore(store);
      assert.equal(kept.tempFilesRemoved, 0);
      assert.deepEqual(await readdir(store.tmpDir), [name.slice(store.tmpDir.length + 1)]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const pruned = await pruneStore(store);
    assert.equal(pruned.tempFilesRemoved, 1);
    assert.equal(pruned.tempBytesFreed, 'being written'.length);
    assert.deepEqual(await readdir(store.tmpDir), []);
  });
});
