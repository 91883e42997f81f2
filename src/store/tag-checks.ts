import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isoTime } from '../util/iso-time.js';
import { replaceFile } from './atomic-file.js';
import type { Store } from './store.js';

/**
 * When the store last saw a tag confirmed by its registry: a pull, or a HEAD that found
 * the tag where the store has it. Readers that fall back to the store when the registry
 * cannot be asked say how old their answer may be ("tag last checked at ...").
 *
 * One small file per name under `.ocipeek/tag-checks/` (named by the name's sha256, since
 * names hold `/` and `:`), written by atomic rename; its content names the tag and digest,
 * so a file is only believed for the digest it was written for.
 */
interface TagCheckRecord {
  name: string;
  digest: string;
  checkedAt: string;
}

function recordPath(store: Store, name: string): string {
  const hash = createHash('sha256').update(name).digest('hex');
  return join(store.dir, '.ocipeek', 'tag-checks', hash);
}

/**
 * Record that the registry served `digest` for `name` at `at`. Best effort: a store that
 * cannot be written (a read-only mount) simply keeps no record.
 */
export async function recordTagCheck(
  store: Store,
  name: string,
  digest: string,
  at: Date = new Date(),
): Promise<void> {
  const path = recordPath(store, name);
  // Not `toISOString`: it would load the time zone into every pull (iso-time.ts).
  const record: TagCheckRecord = { name, digest, checkedAt: isoTime(at) };
  const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
  try {
    await mkdir(join(store.dir, '.ocipeek', 'tag-checks'), { recursive: true });
    await replaceFile(path, bytes, { tmpDir: store.tmpDir, durable: false });
  } catch {
    // Only a hint for later messages; reading must not fail for it.
  }
}

/** When `name` was last confirmed to be `digest` in its registry, if the store knows. */
export async function lastTagCheck(
  store: Store,
  name: string,
  digest: string,
): Promise<Date | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath(store, name), 'utf8')) as TagCheckRecord;
    if (record.name !== name || record.digest !== digest) return undefined;
    const at = new Date(record.checkedAt);
    return Number.isNaN(at.getTime()) ? undefined : at;
  } catch {
    return undefined;
  }
}
