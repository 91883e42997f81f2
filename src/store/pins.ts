import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from './atomic-file.js';
import { errnoCode, storeFsError } from './fs-errors.js';
import { currentOwner, ownerState, type ProcessOwner, parseOwner } from './process-owner.js';

/** What a pin record file holds. */
interface PinRecord {
  owner: ProcessOwner;
  digests: string[];
}

/** The store folders and lock a pin needs (a `Store` provides them). */
export interface PinPlace {
  /** `.ocipeek/pins`: one record per running operation. */
  readonly pinsDir: string;
  readonly tmpDir: string;
  /** The index lock, which `prune` holds while it marks and sweeps. */
  lockIndex(options?: { signal?: AbortSignal }): Promise<{ release(): Promise<void> }>;
}

/**
 * Digests a running operation (a pull, an import) has written or is about to name, kept
 * from `prune` until the operation has written its tag: a record `pins/TOKEN.json` with
 * the owner (host, pid, boot id) and the digests, which `prune` honours while the owner
 * lives and deletes once it is dead.
 *
 * Why the index lock: records are written under it, and `prune` holds it from reading
 * the records to the end of its sweep. So a pin either lands before prune reads the
 * records (its blobs are kept) or after prune has finished (the operation's existence
 * checks, made after pinning, see the store as prune left it and fetch what is gone).
 * Without the lock, prune could read the records, the operation pin and find a blob
 * present, and prune delete it a moment later.
 */
export class StorePin {
  private readonly digests = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  /**
   * The last write while it waits for the one before it: digests added meanwhile join it
   * instead of queueing a write each. A copy pins each blob as it looks it up, the layers
   * at once; every write is a record rewritten under the index lock (~8 thread-pool round
   * trips), so N concurrent additions cost one write after the running one, not N.
   * `signals` are its callers' (`undefined` for a caller without one).
   */
  private waiting: { done: Promise<void>; signals: Set<AbortSignal | undefined> } | undefined;
  /** Writes queued or running: the last of them covers every digest in {@link digests}. */
  private pending = 0;
  /** The last write to finish failed: the record may lack digests {@link digests} holds. */
  private lastFailed = false;
  private released = false;

  private constructor(
    private readonly place: PinPlace,
    private readonly owner: ProcessOwner,
    private readonly path: string,
  ) {}

  /** Pin `digests` (more can be added later). */
  static async create(
    place: PinPlace,
    digests: Iterable<string>,
    options: { signal?: AbortSignal } = {},
  ): Promise<StorePin> {
    const owner = currentOwner();
    const pin = new StorePin(place, owner, join(place.pinsDir, `${owner.token}.json`));
    await pin.add(digests, options);
    return pin;
  }

  /**
   * Add `digests` to the pin; resolves once the record on disk holds them (nothing is
   * written when it already did). Writes are serialised; additions made while a write
   * waits for the one before it are written with it. Each call follows its own `signal`:
   * it rejects once that is aborted (its digests may still be written, with the others'),
   * and the shared write stops waiting for the index lock only once every caller it
   * serves has given up.
   */
  add(digests: Iterable<string>, options: { signal?: AbortSignal } = {}): Promise<void> {
    const fresh = [...digests].filter((d) => !this.digests.has(d));
    if (this.released) return this.chain;
    // Nothing new, and the record holds it or the write under way will: that write's
    // outcome. After a failed write nothing is under way: write again, so that a caller
    // that tries again is not handed the old failure with nothing written.
    if (fresh.length === 0 && (this.pending > 0 || !this.lastFailed)) return this.chain;
    for (const d of fresh) this.digests.add(d);
    const { signal } = options;
    if (this.waiting) {
      this.waiting.signals.add(signal);
      return untilAborted(this.waiting.done, signal);
    }
    const signals = new Set([signal]);
    const write = async () => {
      // From here on the record is taken: later additions need a write of their own.
      this.waiting = undefined;
      try {
        await this.writeRecord(signals);
        this.lastFailed = false;
      } catch (err) {
        this.lastFailed = true;
        throw err;
      } finally {
        this.pending--;
      }
    };
    this.pending++;
    this.chain = this.chain.then(write, write);
    this.waiting = { done: this.chain, signals };
    return untilAborted(this.chain, signal);
  }

  /** Write the record of every digest added so far, under the index lock. */
  private async writeRecord(signals: Set<AbortSignal | undefined>): Promise<void> {
    const record: PinRecord = { owner: this.owner, digests: [...this.digests] };
    const bytes = Buffer.from(JSON.stringify(record));
    // Not synced: a pin only matters while its owner runs, and a crash ends both.
    const how = { tmpDir: this.place.tmpDir, durable: false };
    const stop = allAborted(signals);
    const lock = await this.place.lockIndex({ signal: stop.signal }).finally(stop.done);
    try {
      await replaceFile(this.path, bytes, how).catch(async (err: unknown) => {
        // The first pin of a store makes the folder (not made up front: one call less).
        if (errnoCode(err) !== 'ENOENT') throw err;
        await mkdir(this.place.pinsDir, { recursive: true }).catch((e: unknown) => {
          throw storeFsError(e, this.place.pinsDir, 'create');
        });
        await replaceFile(this.path, bytes, how);
      });
    } finally {
      await lock.release();
    }
  }

  /** Drop the pin (once the tag is written, or the operation failed). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.chain.catch(() => {});
    await unlink(this.path).catch(() => {});
  }

  /** {@link StorePin.release}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/** `done`, or its caller's abort if `signal` is aborted first (`done` goes on regardless). */
function untilAborted(done: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return done;
  if (signal.aborted) {
    // This caller will not wait for it, and may be the only one: not an unhandled rejection.
    done.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A signal aborted once every one of `signals` is (with the reason of the last abort), or
 * undefined when one of them is undefined: a write several callers wait for stops only
 * when none of them wants it any more. Read when the write starts, after the last joined.
 * `done` removes what it listens to.
 */
function allAborted(signals: Set<AbortSignal | undefined>): {
  signal: AbortSignal | undefined;
  done(): void;
} {
  const list = [...signals];
  if (list.includes(undefined)) return { signal: undefined, done() {} };
  if (list.length === 1) return { signal: list[0], done() {} };
  const all = new AbortController();
  const listeners = (list as AbortSignal[]).map((s) => {
    const onAbort = () => {
      if (list.every((other) => other?.aborted)) all.abort(s.reason);
    };
    s.addEventListener('abort', onAbort, { once: true });
    return () => s.removeEventListener('abort', onAbort);
  });
  if (list.every((s) => s?.aborted)) all.abort(list.at(-1)?.reason);
  const done = () => {
    for (const remove of listeners) remove();
  };
  return { signal: all.signal, done };
}

/** What {@link readLivePins} found. */
export interface LivePins {
  /** Digests pinned by operations whose owner still runs (or cannot be judged). */
  digests: Set<string>;
  /** Records of dead owners (and unreadable ones), removed unless `dryRun`. */
  removed: number;
}

/** A record from another host (whose processes cannot be checked) is honoured this long. */
const FOREIGN_PIN_MS = 24 * 3600_000;

/**
 * The digests pinned by running operations, for `prune` (which must hold the index lock).
 * Records of dead owners are deleted. A record from another host cannot be judged: it is
 * honoured for a day (skipping a few blobs is cheap, deleting what a pull needs is not).
 */
export async function readLivePins(pinsDir: string, dryRun = false): Promise<LivePins> {
  const out: LivePins = { digests: new Set(), removed: 0 };
  let names: string[];
  try {
    names = await readdir(pinsDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return out;
    throw err;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(pinsDir, name);
    let record: PinRecord | undefined;
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<PinRecord>;
      const owner = parseOwner(parsed.owner);
      if (owner && Array.isArray(parsed.digests)) record = { owner, digests: parsed.digests };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue; // released meanwhile
    }
    // Records are replaced atomically, so one that does not parse is garbage.
    if (record && (await isLive(record.owner, path))) {
      for (const d of record.digests) if (typeof d === 'string') out.digests.add(d);
      continue;
    }
    out.removed++;
    if (!dryRun) await unlink(path).catch(() => {});
  }
  return out;
}

async function isLive(owner: ProcessOwner, path: string): Promise<boolean> {
  const state = ownerState(owner);
  if (state !== 'unknown') return state === 'alive';
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs < FOREIGN_PIN_MS;
}
