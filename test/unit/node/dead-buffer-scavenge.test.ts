import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const KNOWN = [11, 12].includes(Number(process.versions.v8.split('.')[0]));

const MODULE = pathToFileURL(
  fileURLToPath(new URL('../../../dist/node/dead-buffer-scavenge.js', import.meta.url)),
).href;

const CHUNK = 64 * 1024;

/**
 * Runs in a fresh `node` (no test runner allocating beside it): drops 24 MiB of 64 KiB
 * buffers made outside the heap, as an upload's chunks are, with almost no heap garbage
 * between them (the case where V8 alone lets them pile up), and reports the most
 * `arrayBuffers` memory seen, with and without the scavenges, and after turning them off.
 */
const CHILD = `
import { countDeadBuffers, scavengeEvery } from ${JSON.stringify(MODULE)};

function drop(mib, count) {
  let most = 0;
  for (let i = 0; i < (mib * 1024 * 1024) / ${CHUNK}; i++) {
    const chunk = Buffer.allocUnsafeSlow(${CHUNK});
    chunk[0] = i;
    if (count) countDeadBuffers(chunk.length);
    most = Math.max(most, process.memoryUsage().arrayBuffers);
  }
  return most;
}

const stop = scavengeEvery(4 * 1024 * 1024);
const withScavenges = drop(24, true);
const gcLeft = typeof globalThis.gc;
stop();
const stopped = drop(24, true);
process.stdout.write(JSON.stringify({ withScavenges, stopped, gcLeft }));
`;

describe('scavengeEvery', { skip: !KNOWN && 'V8 without a known minor gc' }, () => {
  it('frees dead buffers every few MiB counted, leaves no global gc, and stops', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    assert.equal(run.status, 0, run.stderr);
    const { withScavenges, stopped, gcLeft } = JSON.parse(run.stdout) as Record<string, unknown>;
    const MiB = 1024 * 1024;
    // Scavenged every 4 MiB. V8 frees a scavenge's dead buffers on a background thread,
    // finished at the latest by the next scavenge: up to two steps' worth may be counted
    // at once on a busy machine (8.4 MiB seen at load 12), never the 24 MiB.
    assert.ok((withScavenges as number) < 12 * MiB, `with scavenges: ${withScavenges}`);
    // Left to V8 they pile up (its own trigger is at 32 MiB of them): the control that
    // shows the bound above is the scavenges' doing.
    assert.ok((stopped as number) > 20 * MiB, `stopped: ${stopped}`);
    assert.equal(gcLeft, 'undefined');
  });
});
