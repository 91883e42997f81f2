import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LayerIndexCache } from '../../../src/image/index.js';
import {
  decodeListing,
  encodeListing,
  ListingDecoder,
  ListingEncoder,
} from '../../../src/image/listing-codec.js';
import type { TarEntry } from '../../../src/tar/index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Entries with every optional field somewhere, and offsets as a real tar has them. */
function sampleEntries(): TarEntry[] {
  return [
    {
      path: '',
      type: 'dir',
      size: 0,
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 1,
      headerOffset: 0,
      dataOffset: 512,
    },
    {
      path: 'etc/passwd',
      type: 'file',
      size: 1234,
      mode: 0o644,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      mtime: 1700000000.25,
      headerOffset: 512,
      dataOffset: 1024,
    },
    {
      path: 'ünïcode/链接 "quoted"',
      type: 'symlink',
      size: 0,
      mode: 0o777,
      uid: 1000,
      gid: 1000,
      uname: '',
      linkname: '../etc/passwd',
      mtime: 2,
      headerOffset: 3072,
      dataOffset: 4608,
    },
    {
      path: 'bin/sh',
      type: 'hardlink',
      size: 0,
      mode: 0o755,
      uid: 0,
      gid: 0,
      linkname: 'bin/busybox',
      mtime: 3,
      headerOffset: 4608,
      dataOffset: 5120,
    },
    {
      path: 'dev/null',
      type: 'char',
      size: 0,
      mode: 0o666,
      uid: 0,
      gid: 0,
      devmajor: 1,
      devminor: 3,
      mtime: 4,
      headerOffset: 5120,
      dataOffset: 5632,
    },
    {
      path: 'dev/sda',
      type: 'block',
      size: 0,
      mode: 0o660,
      uid: 0,
      gid: 6,
      devmajor: 8,
      devminor: 0,
      mtime: 4,
      headerOffset: 5632,
      dataOffset: 6144,
    },
    {
      path: 'run/fifo',
      type: 'fifo',
      size: 0,
      mode: 0o600,
      uid: 0,
      gid: 0,
      mtime: 5,
      headerOffset: 6144,
      dataOffset: 6656,
    },
    {
      path: 'usr/bin/ping',
      type: 'file',
      size: 9_000_000_000,
      mode: 0o4755,
      uid: 0,
      gid: 0,
      mtime: 6,
      xattrs: { 'security.capability': '\u0001\u0000\u0000\u0002', 'user.empty': '' },
      sparse: true,
      headerOffset: 6656,
      dataOffset: 8192,
    },
  ];
}

describe('layer listing cache', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocipeek-listing-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('columns give back exactly the entries, optional fields and offsets included', () => {
    const entries = sampleEntries();
    assert.deepEqual(decodeListing(encodeListing(entries)), entries);
    assert.deepEqual(decodeListing(encodeListing([])), []);
  });

  it('a decoder gives the same entries in batches of any size, rare fields included', () => {
    const entries = Array.from({ length: 7 }, () => sampleEntries()).flat();
    const columns = encodeListing(entries);
    assert.ok(columns.rare.length > 1);
    for (const size of [1, 2, 3, 5, 100]) {
      const decoder = new ListingDecoder(columns);
      const got: unknown[] = [];
      for (let batch = decoder.next(size); batch.length > 0; batch = decoder.next(size)) {
        assert.ok(batch.length <= size);
        got.push(...batch);
      }
      assert.deepEqual(got, entries, `batches of ${size}`);
    }
    const shuffled = { ...columns, rare: [...columns.rare].reverse() };
    assert.throws(() => new ListingDecoder(shuffled), /rare fields out of order/);
    const outside = { ...columns, rare: [[columns.count, {}]] as typeof columns.rare };
    assert.throws(() => new ListingDecoder(outside), /rare fields out of order/);
  });

  it('columns are smaller than one object per entry', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({
      ...sampleEntries()[1]!,
      path: `node_modules/pkg${i}/index.js`,
      headerOffset: 100_000_000 + i * 2048,
      dataOffset: 100_000_512 + i * 2048,
    }));
    const columns = JSON.stringify(encodeListing(many)).length;
    assert.ok(columns < JSON.stringify(many).length * 0.6, `${columns}`);
  });

  it('puts and gets a listing; a second cache over the same folder reads it', async () => {
    const cache = new LayerIndexCache(join(dir, 'a'));
    const listing = {
      entries: sampleEntries(),
      tarSize: 10_240,
      contentDigests: [null, 'sha256:x'],
    };
    assert.equal(await cache.get(DIGEST), undefined);
    await cache.put(DIGEST, listing);
    assert.ok(await cache.has(DIGEST));
    assert.deepEqual(await new LayerIndexCache(join(dir, 'a')).get(DIGEST), listing);
    const files = await readdir(join(dir, 'a'));
    assert.deepEqual(files, [`sha256-${'ab'.repeat(32)}.json.gz`], 'no temp file left');
  });

  it('a listing encoded while it was scanned reads back like one put whole', async () => {
    const cache = new LayerIndexCache(join(dir, 'e'));
    const encoder = new ListingEncoder();
    for (const e of sampleEntries()) encoder.add(e);
    await cache.putEncoded(DIGEST, encoder.finish(), 4096);
    assert.deepEqual(await cache.get(DIGEST), { entries: sampleEntries(), tarSize: 4096 });
  });

  it('a listing without content digests does not answer a request for them', async () => {
    const cache = new LayerIndexCache(join(dir, 'b'));
    await cache.put(DIGEST, { entries: sampleEntries(), tarSize: 1 });
    assert.equal(await cache.get(DIGEST, { contentDigests: true }), undefined);
    assert.ok(await cache.get(DIGEST));
  });

  it('keeps names that are not UTF-8 exactly', async () => {
    const cache = new LayerIndexCache(join(dir, 'bytes'));
    const names = ['caf\udce9', 'caf\udce8', 'dir/\udcff\udcfe', 'café'];
    const entries = names.map((path, i) => ({
      ...sampleEntries()[0]!,
      path,
      headerOffset: i * 512,
      dataOffset: i * 512 + 512,
    }));
    entries.push({
      ...entries[0]!,
      path: 'link',
      type: 'symlink',
      linkname: 'caf\udce8',
      headerOffset: 4 * 512,
      dataOffset: 5 * 512,
    });
    await cache.put(DIGEST, { entries, tarSize: 1 });
    const back = await cache.get(DIGEST);
    assert.deepEqual(
      back?.entries.map((e) => [e.path, e.linkname]),
      entries.map((e) => [e.path, e.linkname]),
    );
  });

  it('ignores damaged, truncated, older-version and mismatched files', async () => {
    const cache = new LayerIndexCache(join(dir, 'c'));
    await cache.put(DIGEST, { entries: sampleEntries(), tarSize: 1 });
    const file = join(dir, 'c', `sha256-${'ab'.repeat(32)}.json.gz`);
    const good = await readFile(file);
    const bad = [
      good.subarray(0, good.length - 10),
      Buffer.from('not gzip'),
      gzipSync(
        JSON.stringify({ version: 2, digest: DIGEST, tarSize: 1, entries: sampleEntries() }),
      ),
      // Version 3 decoded names that are not UTF-8 into U+FFFD: never trusted again.
      gzipSync(
        JSON.stringify({
          version: 3,
          digest: DIGEST,
          tarSize: 1,
          entries: encodeListing(sampleEntries()),
        }),
      ),
      // Version 4 dropped xattrs with an empty value: never trusted again.
      gzipSync(
        JSON.stringify({
          version: 4,
          digest: DIGEST,
          tarSize: 1,
          entries: encodeListing(sampleEntries()),
        }),
      ),
      gzipSync(
        JSON.stringify({
          version: 5,
          digest: `sha256:${'cd'.repeat(32)}`,
          tarSize: 1,
          entries: encodeListing([]),
        }),
      ),
      gzipSync(
        JSON.stringify({
          version: 5,
          digest: DIGEST,
          tarSize: 1,
          entries: { ...encodeListing(sampleEntries()), count: 99 },
        }),
      ),
      gzipSync(
        JSON.stringify({
          version: 5,
          digest: DIGEST,
          tarSize: 1,
          entries: { ...encodeListing(sampleEntries()), type: 'fdlhcbpZ' },
        }),
      ),
    ];
    for (const [i, bytes] of bad.entries()) {
      await writeFile(file, bytes);
      assert.equal(await cache.get(DIGEST), undefined, `damaged file ${i}`);
    }
  });

  it('stays within its bound, evicting the least recently used listing first', async () => {
    const folder = join(dir, 'bounded');
    const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
    // Listings of random paths: they do not compress, so each file is a few KiB.
    const listing = (i: number) => ({
      entries: Array.from({ length: 40 }, (_, k) => ({
        ...sampleEntries()[1]!,
        path: `${i}/${randomBytes(24).toString('hex')}/${k}`,
      })),
      tarSize: 1,
    });
    const probe = new LayerIndexCache(join(dir, 'probe'));
    await probe.put(digest(0), listing(0));
    const [one] = await readdir(join(dir, 'probe'));
    const each = (await stat(join(dir, 'probe', one!))).size;
    const bound = Math.floor(each * 3.5);
    const cache = new LayerIndexCache(folder, { maxBytes: bound });
    for (const i of [1, 2, 3]) await cache.put(digest(i), listing(i));
    // Read 1 (the oldest write): now 2 is the least recently used.
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(await cache.get(digest(1)));
    await new Promise((r) => setTimeout(r, 20));
    await cache.put(digest(4), listing(4));
    const left = async () => (await readdir(folder)).sort();
    const name = (i: number) => `sha256-${digest(i).slice(7)}.json.gz`;
    assert.deepEqual(await left(), [1, 3, 4].map(name));
    // Another process's cache instance over the same folder keeps to the bound as well.
    const other = new LayerIndexCache(folder, { maxBytes: bound });
    await other.put(digest(5), listing(5));
    assert.deepEqual(await left(), [1, 4, 5].map(name));
    let total = 0;
    for (const f of await readdir(folder)) total += (await stat(join(folder, f))).size;
    assert.ok(total <= bound, `${total} > ${bound}`);
  });
});
