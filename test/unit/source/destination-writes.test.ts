import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commitRoot, writeOrAbort } from '../../../src/source/destination-writes.js';
import type { ImageDestination, ManifestBytes } from '../../../src/source/index.js';

/** A destination that records the calls made on it; `abortFails` makes `abort` reject. */
function recording(abortFails = false) {
  const calls: string[] = [];
  const destination = {
    description: 'test',
    hasBlob: async () => false,
    putBlob: async () => {},
    putManifest: async (m: ManifestBytes, o: { root: boolean; signal?: AbortSignal }) => {
      calls.push(`put ${m.digest} root=${o.root} signal=${o.signal !== undefined}`);
    },
    commit: async (m: ManifestBytes, o?: { signal?: AbortSignal }) => {
      calls.push(`commit ${m.digest} signal=${o?.signal !== undefined}`);
      return `held:${m.digest}`;
    },
    abort: async () => {
      calls.push('abort');
      if (abortFails) throw new Error('abort failed too');
    },
  } satisfies ImageDestination;
  return { calls, destination };
}

const root: ManifestBytes = { bytes: Buffer.from('{}'), mediaType: 'x', digest: 'sha256:aa' };

describe("a write into a destination: commit the root, or abort (every writer's rule)", () => {
  it('commitRoot puts the root as the root, then commits it, and gives the digest it holds', async () => {
    const { calls, destination } = recording();
    const signal = new AbortController().signal;
    const digest = await writeOrAbort(destination, () => commitRoot(destination, root, signal));
    assert.equal(digest, 'held:sha256:aa');
    assert.deepEqual(calls, [
      'put sha256:aa root=true signal=true',
      'commit sha256:aa signal=true',
    ]);
  });

  it('a failed write aborts once and rethrows its own error, even when the abort fails', async () => {
    for (const abortFails of [false, true]) {
      const { calls, destination } = recording(abortFails);
      const failure = new Error('layer 2 failed');
      await assert.rejects(
        writeOrAbort(destination, async () => {
          throw failure;
        }),
        (err) => err === failure,
      );
      assert.deepEqual(calls, ['abort']);
    }
  });

  it('a failed commit aborts too', async () => {
    const { calls, destination } = recording();
    destination.commit = async () => {
      calls.push('commit');
      throw new Error('tag refused');
    };
    await assert.rejects(
      writeOrAbort(destination, () => commitRoot(destination, root, undefined)),
      /tag refused/,
    );
    assert.deepEqual(calls, ['put sha256:aa root=true signal=false', 'commit', 'abort']);
  });
});
