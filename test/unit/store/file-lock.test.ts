import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { StoreError } from '../../../src/errors/index.js';
import { FileLock } from '../../../src/store/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-lock-'));
  dirs.push(d);
  return d;
}

/** A pid that is certainly dead: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
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
