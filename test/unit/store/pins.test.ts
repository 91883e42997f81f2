import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../../../src/store/index.js';
import { StorePin } from '../../../src/store/pins.js';
import { deadPid } from './dead-pid.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function newStore(): Promise<Store> {
  const d = await mkdtemp(join(tmpdir(), 'ocipeek-pins-'));
  dirs.push(d);
  return Store.open(join(d, 's'));
}

async function putBlob(store: Store, text: string): Promise<string> {
  const data = Buffer.from(text);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  await store.writeBlob({ digest, size: data.length }, Readable.from([data]));
  return digest;
}

describe('pins keep blobs from prune while their operation runs', () => {
  it('prune keeps a pinned blob no image names, and removes it once released', async () => {
    const store = await newStore();
    const pinned = await putBlob(store, 'pinned by a running pull');
    const loose = await putBlob(store, 'nobody wants this');
    const pin = await store.pin([pinned]);
    const first = await store.prune();
    assert.equal(first.blobsRemoved, 1);
    assert.ok(await store.hasBlob(pinned));
    assert.equal(await store.hasBlob(loose), undefined);
    await pin.release();
    assert.deepEqual(await readdir(store.pinsDir), []);
    const second = await store.prune();
    assert.equal(second.blobsRemoved, 1);
    assert.equal(await store.hasBlob(pinned), undefined);
  });

  it('digests added later are kept too', async () => {
    const store = await newStore();
    const a = await putBlob(store, 'a');
    const b = await putBlob(store, 'b');
    const pin = await store.pin([a]);
    await pin.add([b]);
    assert.equal((await store.prune()).blobsRemoved, 0);
    await pin.release();
  });

  it('writes additions made while a write waits together, each kept', async () => {
    const store = await newStore();
    const digests = await Promise.all('abcdefg'.split('').map((t) => putBlob(store, t)));
    const [a, b, c, d, e, f, g] = digests as [string, ...string[]];
    // Each record write takes the index lock once: counted.
    let writes = 0;
    const place = {
      pinsDir: store.pinsDir,
      tmpDir: store.tmpDir,
      lockIndex: (o?: { signal?: AbortSignal }) => {
        writes++;
        return store.lockIndex(o);
      },
    };
    const pin = await StorePin.create(place, [a]);
    assert.equal(writes, 1);
    // Three at once, as a copy looks up its layers: one write.
    await Promise.all([pin.add([b!]), pin.add([c!]), pin.add([d!, b!])]);
    assert.equal(writes, 2);
    // One write under way (waiting for the lock), two more additions: one more write.
    const held = await store.lockIndex();
    const first = pin.add([e!]);
    await sleep(20);
    const later = [pin.add([f!]), pin.add([g!])];
    await held.release();
    await Promise.all([first, ...later]);
    assert.equal(writes, 4);
    // Nothing new: no write.
    await pin.add([a, g!]);
    assert.equal(writes, 4);
    const [name] = await readdir(store.pinsDir);
    const record = JSON.parse(await readFile(join(store.pinsDir, name!), 'utf8'));
    assert.deepEqual(new Set(record.digests), new Set(digests));
    assert.equal((await store.prune()).blobsRemoved, 0);
    await pin.release();
    assert.equal((await store.prune()).blobsRemoved, digests.length);
  });

  it("a batched addition follows its own caller's signal, not the one that queued the write", async () => {
    const store = await newStore();
    const [a, b, c, d] = await Promise.all('abcd'.split('').map((t) => putBlob(store, t)));
    const pin = await StorePin.create(store, [a!]);
    // Prune holds the index lock: one write waits for it (b), the next queues behind it
    // (c, queued with its caller's signal) and d joins that one with a signal of its own.
    const held = await store.lockIndex();
    const first = pin.add([b!]);
    await sleep(20);
    const queuing = new AbortController();
    const joining = new AbortController();
    const queued = pin.add([c!], { signal: queuing.signal });
    const joined = pin.add([d!], { signal: joining.signal });
    const settled = (p: Promise<void>) =>
      p.then(
        () => 'resolved',
        (err: Error) => err.name,
      );
    // The caller that queued the write gives up: d's caller still wants its pin, and gets it.
    queuing.abort();
    assert.equal(await settled(queued), 'AbortError');
    await sleep(20);
    await held.release();
    assert.equal(await settled(first), 'resolved');
    assert.equal(await settled(joined), 'resolved');
    const [name] = await readdir(store.pinsDir);
    const record = JSON.parse(await readFile(join(store.pinsDir, name!), 'utf8'));
    assert.ok(record.digests.includes(d), 'the joined digest is on disk');
    // A joining caller that gives up is told at once, while the write still waits.
    const again = await store.lockIndex();
    const [e, f] = await Promise.all(['e', 'f'].map((t) => putBlob(store, t)));
    const waiting = pin.add([e!]);
    await sleep(20);
    const queuer = pin.add([f!]);
    const giving = new AbortController();
    const gaveUp = settled(pin.add(['sha256:' + '0'.repeat(64)], { signal: giving.signal }));
    giving.abort();
    const early = await Promise.race([gaveUp, sleep(500).then(() => 'still waiting')]);
    assert.equal(early, 'AbortError');
    await again.release();
    await Promise.all([waiting, queuer]);
    // A joining caller without a signal waits as long as it takes: the queueing caller's
    // abort does not stop the write it joined.
    const third = await store.lockIndex();
    const [g, h, i] = await Promise.all(['g', 'h', 'i'].map((t) => putBlob(store, t)));
    const running = pin.add([g!]);
    await sleep(20);
    const impatient = new AbortController();
    const queuedFirst = settled(pin.add([h!], { signal: impatient.signal }));
    const patient = pin.add([i!]);
    impatient.abort();
    assert.equal(await queuedFirst, 'AbortError');
    await sleep(20);
    await third.release();
    await Promise.all([running, patient]);
    const [file] = await readdir(store.pinsDir);
    const last = JSON.parse(await readFile(join(store.pinsDir, file!), 'utf8'));
    assert.ok(last.digests.includes(i), 'the patient digest is on disk');
    await pin.release();
  });

  it('adding again after a failed write writes the record again', async () => {
    const store = await newStore();
    const b = await putBlob(store, 'b');
    let locks = 0;
    const place = {
      pinsDir: store.pinsDir,
      tmpDir: store.tmpDir,
      lockIndex: (o?: { signal?: AbortSignal }) => {
        locks++;
        // The first write fails as a lock timeout would (prune held it too long).
        if (locks === 1) return Promise.reject(new Error('index lock timed out'));
        return store.lockIndex(o);
      },
    };
    const pin = await StorePin.create(place, []);
    await assert.rejects(pin.add([b]), /index lock timed out/);
    // The caller tries again: the record is written this time (it was the old failure
    // again, and nothing written, ever, for these digests).
    await pin.add([b]);
    assert.equal(locks, 2);
    const [name] = await readdir(store.pinsDir);
    const record = JSON.parse(await readFile(join(store.pinsDir, name!), 'utf8'));
    assert.deepEqual(record.digests, [b]);
    assert.equal((await store.prune()).blobsRemoved, 0);
    // Written: nothing more to do.
    await pin.add([b]);
    assert.equal(locks, 2);
    await pin.release();
  });

  it('a pin waits while prune holds the index lock, so it never lands mid-sweep', async () => {
    const store = await newStore();
    const digest = await putBlob(store, 'looked at by a pull during a prune');
    const pruning = await store.lockIndex(); // what prune holds from mark to sweep
    let pinned = false;
    const pinning = store.pin([digest]).then((p) => {
      pinned = true;
      return p;
    });
    await sleep(100);
    assert.equal(pinned, false);
    await pruning.release();
    const pin = await pinning;
    assert.equal((await store.prune()).blobsRemoved, 0);
    await pin.release();
  });

  it("a dead process's pin protects nothing and is removed", async () => {
    const store = await newStore();
    const digest = await putBlob(store, 'pinned by a pull that was killed');
    const pin = await store.pin([digest]);
    const [name] = await readdir(store.pinsDir);
    const record = JSON.parse(await readFile(join(store.pinsDir, name!), 'utf8'));
    assert.deepEqual(record.digests, [digest]);
    assert.equal(record.owner.pid, process.pid);
    await pin.release();
    await mkdir(store.pinsDir, { recursive: true });
    record.owner.pid = await deadPid();
    await writeFile(join(store.pinsDir, 'dead.json'), JSON.stringify(record));
    await writeFile(join(store.pinsDir, 'garbage.json'), 'not json');
    const dry = await store.prune({ dryRun: true });
    assert.equal(dry.pinsRemoved, 2);
    assert.equal((await readdir(store.pinsDir)).length, 2);
    const result = await store.prune();
    assert.equal(result.pinsRemoved, 2);
    assert.equal(result.blobsRemoved, 1);
    assert.deepEqual(await readdir(store.pinsDir), []);
  });
});
