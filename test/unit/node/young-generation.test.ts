import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import {
  holdYoungGeneration,
  reapplyYoungGenerationHold,
} from '../../../src/node/young-generation.js';

const KNOWN = [11, 12].includes(Number(process.versions.v8.split('.')[0]));

function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
}

/** Allocate ~`mb` MB of short-lived objects, enough pressure to make V8 grow new space. */
function churn(mb: number): number {
  let keep: { i: number; s: string }[] = [];
  let total = 0;
  for (let i = 0; i < mb * 20_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 20_000) {
      total += keep.length;
      keep = [];
    }
  }
  return total + keep.length;
}

describe('holdYoungGeneration', { skip: !KNOWN && 'V8 without a known growth flag' }, () => {
  it('keeps new space at its size while held, also after a worker starts; grows after release', async () => {
    const release = holdYoungGeneration();
    try {
      const held = newSpaceBytes();
      churn(60);
      assert.ok(newSpaceBytes() <= held, `new space ${newSpaceBytes()} > ${held} while held`);
      // A worker starting puts V8's flags back; the hold is applied again once it is online.
      const worker = new Worker('setTimeout(() => {}, 50)', { eval: true });
      await new Promise((resolve) => worker.once('online', resolve));
      reapplyYoungGenerationHold();
      churn(60);
      assert.ok(newSpaceBytes() <= held, `new space ${newSpaceBytes()} > ${held} while held`);
      await worker.terminate();
    } finally {
      release();
    }
    const before = newSpaceBytes();
    churn(200);
    assert.ok(newSpaceBytes() > before, 'new space grows again after release');
  });
});
