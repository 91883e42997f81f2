import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
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
  it('keeps new space at its size while held, also when applied again; grows after release', async () => {
    const release = holdYoungGeneration();
    try {
      const held = newSpaceBytes();
      churn(60);
      assert.ok(newSpaceBytes() <= held, `new space ${newSpaceBytes()} > ${held} while held`);
      // Applying the hold again (as the writer thread's owner does) keeps it.
      reapplyYoungGenerationHold();
      churn(60);
      assert.ok(newSpaceBytes() <= held, `new space ${newSpaceBytes()} > ${held} while held`);
    } finally {
      release();
    }
    const before = newSpaceBytes();
    churn(200);
    assert.ok(newSpaceBytes() > before, 'new space grows again after release');
  });
});
