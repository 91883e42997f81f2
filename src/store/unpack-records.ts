import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from './atomic-file.js';
import { errnoCode } from './fs-errors.js';
import { currentOwner, ownerState, type ProcessOwner, parseOwner } from './process-owner.js';
import type { Store } from './store.js';

/** What the store remembers of one `ocipeek unpack` into a folder. */
export interface UnpackRecord {
  /** The folder unpacked into (absolute, symlinks resolved). */
  dir: string;
  /** The image, as the command named it, and its manifest digest. */
  image: string;
  digest: string;
  /** Layers applied so far, of `layers`. */
  applied: number;
  layers: number;
  /** `complete` once every layer and the final pass are done. */
  state: 'unpacking' | 'complete';
  /** The process that unpacks (or did). */
  owner: ProcessOwner;
  /** Rootless: the ownership record's file (beside this record). */
  ownershipFile?: string;
}

/**
 * The store's memory of the folders `ocipeek unpack` wrote (`.ocipeek/unpacks/`), one
 * JSON file per folder, named by the hash of its path, and beside it the rootless
 * ownership record (`KEY.ownership.json`). An unpack stops being recorded when its
 * folder is gone ({@link UnpackRecords.prune}).
 *
 * Why in the store: an unpack must write nothing outside its folder, and nothing but the
 * image inside it; yet an interrupted unpack has to be told from a folder someone else
 * filled, so that `--force` clears only what ocipeek wrote.
 */
export class UnpackRecords {
  readonly dir: string;

  constructor(private readonly store: Store) {
    this.dir = join(store.dir, '.ocipeek', 'unpacks');
  }

  private key(dir: string): string {
    return createHash('sha256').update(dir).digest('hex').slice(0, 32);
  }

  /** Where the record of an unpack into `dir` (absolute) lives. */
  recordFile(dir: string): string {
    return join(this.dir, `${this.key(dir)}.json`);
  }

  /** Where the rootless ownership record of an unpack into `dir` (absolute) goes. */
  ownershipFile(dir: string): string {
    return join(this.dir, `${this.key(dir)}.ownership.json`);
  }

  /** The record of the last unpack into `dir` (absolute), if the store has one. */
  async read(dir: string): Promise<UnpackRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.recordFile(dir), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const record = JSON.parse(text) as UnpackRecord;
      const owner = parseOwner(record.owner);
      return record.dir === dir && owner ? { ...record, owner } : undefined;
    } catch {
      return undefined; // written atomically: a broken file is not a record
    }
  }

  /** Start (or restart) the record of an unpack by this process into `record.dir`. */
  async begin(record: Omit<UnpackRecord, 'owner' | 'state' | 'applied'>): Promise<UnpackRecord> {
    const full: UnpackRecord = { ...record, applied: 0, state: 'unpacking', owner: currentOwner() };
    await this.write(full);
    return full;
  }

  /** Save `record` as it is now. */
  async write(record: UnpackRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await replaceFile(this.recordFile(record.dir), Buffer.from(JSON.stringify(record)), {
      tmpDir: this.store.tmpDir,
      durable: false,
    });
  }

  /** Forget the unpack into `dir` (absolute) and drop its ownership record. */
  async remove(dir: string): Promise<void> {
    await rm(this.recordFile(dir), { force: true });
    await rm(this.ownershipFile(dir), { force: true });
  }

  /**
   * Drop the records (and ownership records) of folders that no longer exist; an
   * interrupted unpack keeps its record while its folder exists, so that `--force` can
   * clear it. Returns how many records went.
   */
  async prune(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith('.json') || name.endsWith('.ownership.json')) continue;
      const file = join(this.dir, name);
      let dir: string | undefined;
      try {
        dir = (JSON.parse(await readFile(file, 'utf8')) as Partial<UnpackRecord>).dir;
      } catch {
        dir = undefined;
      }
      if (typeof dir === 'string' && (await exists(dir))) continue;
      await unlink(file).catch(() => {});
      await rm(join(this.dir, name.replace(/\.json$/, '.ownership.json')), { force: true });
      removed++;
    }
    return removed;
  }
}

/** Whether the process that wrote `record` may still be unpacking. */
export function stillUnpacking(record: UnpackRecord): boolean {
  return record.state === 'unpacking' && ownerState(record.owner) !== 'dead';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    return errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR';
  }
}
