import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors/index.js';
import { mapPool, TaskPool } from '../../../src/util/task-pool.js';

/** A task that runs until its signal aborts (then rejects with the abort reason). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Resolves after `n` turns of the event loop. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('TaskPool', () => {
  it('runs at most `concurrency` tasks at once and keeps results in item order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapPool(
      [5, 1, 4, 2, 3, 0],
      async (n) => {
        running++;
        peak = Math.max(peak, running);
        await turns(n);
        running--;
        return n * 10;
      },
      { concurrency: 2 },
    );
    assert.deepEqual(results, [50, 10, 40, 20, 30, 0]);
    assert.equal(peak, 2);
  });

  it('on the first failure aborts the tasks in flight, starts no other, reports that error', async () => {
    const started: number[] = [];
    const signals: AbortSignal[] = [];
    const boom = new Error('blob 1 failed');
    const done = mapPool(
      [0, 1, 2, 3, 4, 5, 6, 7],
      async (i, signal) => {
        started.push(i);
        signals[i] = signal;
        if (i === 1) {
          await turns(2); // 0 and 2 are running when 1 fails
          throw boom;
        }
        return untilAborted(signal);
      },
      { concurrency: 3 },
    );
    await assert.rejects(done, (err) => err === boom);
    assert.deepEqual(started, [0, 1, 2], 'no task started after the failure');
    for (const i of [0, 2]) {
      assert.equal(signals[i]?.aborted, true, `task ${i} was aborted`);
      assert.equal(signals[i]?.reason, boom, 'the abort reason is the first failure');
    }
  });

  it('waits for aborted tasks to settle before it reports', async () => {
    let slowSettled = false;
    const pool = new TaskPool({ concurrency: 2 });
    pool.run(async (signal) => {
      await untilAborted(signal).catch(() => {});
      await turns(5); // cleanup that takes a while after the abort
      slowSettled = true;
    });
    pool.run(async () => {
      throw new Error('first');
    });
    await assert.rejects(pool.drain(), /first/);
    assert.equal(slowSettled, true);
  });

  it('keeps the first error when later tasks fail too', async () => {
    const pool = new TaskPool({ concurrency: 4 });
    const first = new Error('first');
    pool.run(async () => {
      throw first;
    });
    pool.run(async (signal) => {
      await untilAborted(signal).catch(() => {});
      throw new Error('second, while cleaning up');
    });
    await assert.rejects(pool.drain(), (err) => err === first);
    assert.equal(pool.error, first);
  });

  it('a task queued behind the failure rejects with the first error and never runs', async () => {
    const pool = new TaskPool({ concurrency: 1 });
    const boom = new Error('boom');
    let ran = false;
    const failing = pool.run(async () => {
      throw boom;
    });
    const queued = pool.run(async () => {
      ran = true;
    });
    await assert.rejects(failing, (err) => err === boom);
    await assert.rejects(queued, (err) => err === boom);
    await assert.rejects(
      pool.run(async () => 1),
      (err) => err === boom,
    );
    await assert.rejects(pool.drain(), (err) => err === boom);
    assert.equal(ran, false);
  });

  it("follows the caller's signal: aborting it aborts every task and is the reported error", async () => {
    const outer = new AbortController();
    const signals: AbortSignal[] = [];
    let started = 0;
    const done = mapPool(
      [0, 1, 2, 3],
      async (i, signal) => {
        started++;
        signals[i] = signal;
        return untilAborted(signal);
      },
      { concurrency: 2, signal: outer.signal },
    );
    await turns(2);
    const reason = new Error('interrupted');
    outer.abort(reason);
    await assert.rejects(done, (err) => err === reason);
    assert.equal(started, 2);
    assert.ok(signals[0]?.aborted && signals[1]?.aborted);
  });

  it('fail() from outside stops the pool as a task failure would', async () => {
    const pool = new TaskPool({ concurrency: 1 });
    let signal: AbortSignal | undefined;
    pool.run(async (s) => {
      signal = s;
      await untilAborted(s);
    });
    await turns(1);
    const applyFailed = new Error('applying layer 0 failed');
    pool.fail(applyFailed);
    await assert.rejects(pool.drain(), (err) => err === applyFailed);
    assert.equal(signal?.reason, applyFailed);
  });

  it('refuses a concurrency that is not a positive integer', () => {
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new TaskPool({ concurrency }), InvalidArgumentError);
    }
  });

  it('an already aborted signal starts nothing', async () => {
    let ran = false;
    const reason = new Error('too late');
    await assert.rejects(
      mapPool(
        [1],
        async () => {
          ran = true;
        },
        { concurrency: 1, signal: AbortSignal.abort(reason) },
      ),
      (err) => err === reason,
    );
    assert.equal(ran, false);
  });
});
