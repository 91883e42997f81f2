import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { scavengeEvery } from '../../../src/node/dead-buffer-scavenge.js';
import { StoreStorage } from '../../../src/server/storage/store-storage.js';
import { writeTargetFor } from '../../../src/store/positional-writer.js';

const KNOWN = [11, 12].includes(Number(process.versions.v8.split('.')[0]));
const CHUNK = 64 * 1024;

/** A minor GC that was asked for (V8's own scavenges are not forced). */
function isForcedScavenge(entry: PerformanceEntry): boolean {
  const detail = (entry as unknown as { detail: { kind: number; flags: number } }).detail;
  return (
    detail.kind === constants.NODE_PERFORMANCE_GC_MINOR &&
    (detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0
  );
}

/**
 * Forced minor GCs (the scavenges `scavengeEvery` asks for; V8's own are not forced) seen
 * while `putBlob` takes 4 MiB in 64 KiB chunks into a store under `base`.
 */
async function forcedScavengesDuringUpload(
  base: string,
): Promise<{ forced: number; tmpfs: boolean }> {
  const dir = await mkdtemp(join(base, 'ocipeek-dead-chunks-'));
  try {
    const storage = await StoreStorage.open(join(dir, 'store'));
    const tmpfs = (await writeTargetFor(dir)).onTmpfs;
    const chunks = Array.from({ length: 64 }, () => randomBytes(CHUNK));
    const digest = `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`;
    let forced = 0;
    const observer = new PerformanceObserver((list) => {
      forced += list.getEntries().filter(isForcedScavenge).length;
    });
    observer.observe({ entryTypes: ['gc'] });
    const stop = scavengeEvery(256 * 1024);
    try {
      await storage.putBlob('team/app', digest, Readable.from(chunks));
    } finally {
      stop();
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // gc entries come on a later turn
    forced += observer.takeRecords().filter(isForcedScavenge).length;
    observer.disconnect();
    return { forced, tmpfs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('registry uploads count their dead chunks', {
  skip: !KNOWN && 'V8 without a known minor gc',
}, () => {
  it('scavenges chunks written on the main thread (tmpfs), not chunks still held by pool writes', async (t) => {
    const shm = await forcedScavengesDuringUpload('/dev/shm');
    if (!shm.tmpfs) {
      t.skip('/dev/shm is not tmpfs here');
      return;
    }
    // 4 MiB written synchronously, one scavenge asked for every 256 KiB.
    assert.ok(shm.forced >= 8, `forced scavenges on tmpfs: ${shm.forced}`);
    const disk = await forcedScavengesDuringUpload('/var/tmp');
    if (disk.tmpfs) {
      t.diagnostic('/var/tmp is tmpfs here: the pool path is not checked');
      return;
    }
    assert.equal(
      disk.forced,
      0,
      'a chunk on its way through the pool is not dead: no scavenge for it',
    );
  });
});
