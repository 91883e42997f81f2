import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { stopChild } from '../../harness/stop-child.js';

describe('stopChild', () => {
  it('stops a running child and says how it ended', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    await once(child, 'spawn');
    assert.deepEqual(await stopChild(child, 'SIGTERM'), { code: null, signal: 'SIGTERM' });
  });

  it("resolves for a child that has already exited, whose 'exit' has passed", async () => {
    const child = spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' });
    await once(child, 'exit');
    // Waiting for 'exit' here, as the tests did, would never end.
    assert.deepEqual(await stopChild(child, 'SIGINT'), { code: 3, signal: null });
    const killed = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    assert.deepEqual(await stopChild(killed, 'SIGINT'), { code: null, signal: 'SIGKILL' });
  });
});
