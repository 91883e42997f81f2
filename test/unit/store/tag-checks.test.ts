import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lastTagCheck, recordTagCheck, Store } from '../../../src/store/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const NAME = '127.0.0.1:5000/app:1.0';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('tag-check records', () => {
  it('are written without formatting a Date (which loads the time zone), and read back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocipeek-tag-checks-'));
    dirs.push(dir);
    const store = await Store.open(dir);
    const at = new Date(Date.UTC(2026, 11, 3, 21, 55, 7, 42));
    // Any Date-to-string on this path would load ICU's zone data (bench/ANALYSIS.md): the
    // record must be made from the UTC fields.
    const formatters = ['toISOString', 'toJSON', 'toString', 'toUTCString'] as const;
    const saved = formatters.map((f) => Date.prototype[f]);
    for (const f of formatters) {
      Date.prototype[f] = () => {
        throw new Error(`Date.prototype.${f} called`);
      };
    }
    try {
      await recordTagCheck(store, NAME, DIGEST, at);
    } finally {
      formatters.forEach((f, i) => {
        (Date.prototype as unknown as Record<string, unknown>)[f] = saved[i];
      });
    }
    const folder = join(dir, '.ocipeek', 'tag-checks');
    const files = await readdir(folder);
    assert.equal(files.length, 1);
    const record = JSON.parse(await readFile(join(folder, files[0]!), 'utf8'));
    assert.deepEqual(record, { name: NAME, digest: DIGEST, checkedAt: '2026-12-03T21:55:07.042Z' });
    assert.equal((await lastTagCheck(store, NAME, DIGEST))?.getTime(), at.getTime());
    assert.equal(await lastTagCheck(store, NAME, `sha256:${'cd'.repeat(32)}`), undefined);
  });
});
