import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StoreError } from '../../../src/errors/index.js';
import { FileLock } from '../../../src/store/index.js';
import { deadPid } from './dead-pid.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-lock-'));
  dirs.push(d);
  return d;
}

describe('FileLock', () => {
  it('is exclusive, records pid and host, and is removed on release', async () => {
    const path = join(await tmp(), 'x.lock');
    const a = await FileLock.acquire(path);
    const holder = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.host, hostname());
    assert.equal(await FileLock.tryAcquire(path), undefined);
    await a.release();
    await assert.rejects(stat(path), /ENOENT/);
    const b = await FileLock.tryAcquire(path);
    assert.ok(b);
    await b.release();
  });

  it('serialises waiters: each critical section runs alone', async () => {
    const path = join(await tmp(), 'x.lock');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await FileLock.acquire(path);
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        await lock.release();
      }),
    );
    assert.equal(maxInside, 1);
  });

  it('breaks a lock whose holder died', async () => {
    const path = join(await tmp(), 'x.lock');
    await writeFile(path, JSON.stringify({ pid: await deadPid(), host: hostname(), time: 1 }));
    const lock = await FileLock.tryAcquire(path);
    assert.ok(lock);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, process.pid);
    await lock.release();
  });

  it('breaks a lock not touched for staleMs even when its pid lives (another host)', async () => {
    const path = join(await tmp(), 'x.lock');
    await writeFile(path, JSON.stringify({ pid: process.pid, host: 'elsewhere', time: 1 }));
    assert.equal(await FileLock.tryAcquire(path, { staleMs: 60_000 }), undefined);
    const old = new Date(Date.now() - 120_000);
    await utimes(path, old, old);
    const lock = await FileLock.tryAcquire(path, { staleMs: 60_000 });
    assert.ok(lock);
    await lock.release();
  });

  it('times out with a StoreError naming the lock and its holder', async () => {
    const path = join(await tmp(), 'x.lock');
    const held = await FileLock.acquire(path);
    await assert.rejects(FileLock.acquire(path, { timeoutMs: 50 }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, new RegExp(`lock ${path}.*pid ${process.pid}`));
      return true;
    });
    await held.release();
  });
});

describe('FileLock waiters of one process', () => {
  it('are served in the order they asked, each as soon as the previous one released', async () => {
    const path = join(await tmp(), 'x.lock');
    const held = await FileLock.acquire(path);
    const order: number[] = [];
    const waiters = Array.from({ length: 6 }, (_, i) =>
      FileLock.acquire(path).then(async (lock) => {
        order.push(i);
        // The file is this waiter's now: no one else got in between.
        assert.equal(JSON.parse(await readFile(path, 'utf8')).token, lock.token);
        await lock.release();
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(order, [], 'nobody gets a held lock');
    await held.release();
    await Promise.all(waiters);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  it('an aborted waiter leaves the line without letting the next one in early', async () => {
    const path = join(await tmp(), 'x.lock');
    const held = await FileLock.acquire(path);
    const controller = new AbortController();
    const aborted = FileLock.acquire(path, { signal: controller.signal });
    let nextGot = false;
    const next = FileLock.acquire(path).then((lock) => {
      nextGot = true;
      return lock;
    });
    controller.abort(new Error('stop waiting'));
    await assert.rejects(aborted, /stop waiting/);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(nextGot, false, 'the holder still holds it');
    await held.release();
    await (await next).release();
    assert.equal(nextGot, true);
  });

  it('a waiter in line times out with a StoreError and the line goes on', async () => {
    const path = join(await tmp(), 'x.lock');
    const held = await FileLock.acquire(path);
    await assert.rejects(FileLock.acquire(path, { timeoutMs: 30 }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /this process/);
      return true;
    });
    const next = FileLock.acquire(path);
    await held.release();
    await (await next).release();
  });
});

/** A node process that holds `path` (through FileLock) until it is killed. */
async function holderProcess(path: string) {
  const code = `
    const { FileLock } = await import(${JSON.stringify(new URL('../../../src/store/index.ts', import.meta.url).href)});
    await FileLock.acquire(${JSON.stringify(path)});
    process.stdout.write('held\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`holder exited with ${c}`)));
  });
  return child;
}

describe('FileLock ownership', () => {
  it('writes an owner token, boot id and start time into the lock', async () => {
    const path = join(await tmp(), 'x.lock');
    const lock = await FileLock.acquire(path);
    const holder = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(holder.token, lock.token);
    assert.match(holder.token, /^[0-9a-f]{24}$/);
    assert.equal(holder.bootId, (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim());
    assert.match(holder.started, /^\d+$/);
    await lock.release();
  });

  it('never breaks the lock of a live holder on this host, however old its file', async () => {
    const path = join(await tmp(), 'x.lock');
    const child = await holderProcess(path);
    try {
      const old = new Date(Date.now() - 3600_000);
      await utimes(path, old, old);
      assert.equal(await FileLock.tryAcquire(path, { staleMs: 1000 }), undefined);
      assert.equal(JSON.parse(await readFile(path, 'utf8')).pid, child.pid);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    // Dead now: the next one takes it at once, file age regardless.
    const lock = await FileLock.tryAcquire(path, { staleMs: 3600_000 });
    assert.ok(lock);
    await lock.release();
  });

  it('release leaves a lock that is no longer its own', async () => {
    const path = join(await tmp(), 'x.lock');
    const first = await FileLock.acquire(path);
    // Someone judged it stale and took it over: removed it and made their own.
    const theirs = { ...JSON.parse(await readFile(path, 'utf8')), token: 'f'.repeat(24) };
    await unlink(path);
    await writeFile(path, JSON.stringify(theirs), { flag: 'wx' });
    await first.release();
    assert.equal(JSON.parse(await readFile(path, 'utf8')).token, 'f'.repeat(24));
  });

  it('judges a holder dead after a reboot (other boot id) or when its pid was reused', async () => {
    const path = join(await tmp(), 'x.lock');
    const own = await FileLock.acquire(path);
    const mine = JSON.parse(await readFile(path, 'utf8'));
    await own.release();
    for (const holder of [
      { ...mine, token: 'a'.repeat(24), bootId: '00000000-0000-0000-0000-000000000000' },
      { ...mine, token: 'b'.repeat(24), started: String(Number(mine.started) + 1) },
    ]) {
      await writeFile(path, JSON.stringify(holder));
      const lock = await FileLock.tryAcquire(path, { staleMs: 3600_000 });
      assert.ok(lock, JSON.stringify(holder));
      await lock.release();
    }
    // The same process, another lock of it: alive.
    await writeFile(path, JSON.stringify({ ...mine, token: 'c'.repeat(24) }));
    assert.equal(await FileLock.tryAcquire(path, { staleMs: 1 }), undefined);
  });
});
