import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryFeed } from '../../../src/image/entry-feed.js';
import { encodeListing, ListingDecoder } from '../../../src/image/listing-codec.js';
import { file } from '../fs/entries.js';

async function drain(feed: EntryFeed): Promise<string[][]> {
  const out: string[][] = [];
  for await (const batch of feed.batches()) out.push(batch.map((e) => e.path));
  return out;
}

describe('EntryFeed', () => {
  it('yields what arrived since the last look, in order, and ends with the scan', async () => {
    const feed = new EntryFeed();
    const seen = drain(feed);
    feed.push(file('a'));
    feed.push(file('b'));
    feed.flush();
    await new Promise((r) => setImmediate(r));
    feed.push(file('c'));
    feed.end();
    assert.deepEqual(await seen, [['a', 'b'], ['c']]);
    assert.deepEqual(await drain(feed), [], 'entries handed over are not kept');
  });

  it('a cached listing is given in batches of 1024 after what was pushed; fillFrom ends the feed', async () => {
    const feed = new EntryFeed();
    const names = Array.from({ length: 2500 }, (_, i) => `f${i}`);
    feed.push(file('first'));
    feed.fillFrom(new ListingDecoder(encodeListing(names.map((n) => file(n)))));
    const batches = await drain(feed);
    assert.deepEqual(
      batches.map((b) => b.length),
      [1, 1024, 1024, 452],
    );
    assert.deepEqual(batches.flat(), ['first', ...names]);
  });

  it("rethrows the scan's failure after the entries that came before it", async () => {
    const feed = new EntryFeed();
    const batches: string[][] = [];
    const consumed = (async () => {
      for await (const b of feed.batches()) batches.push(b.map((e) => e.path));
    })();
    feed.push(file('ok'));
    feed.flush();
    await new Promise((r) => setImmediate(r));
    feed.end(new Error('connection reset'));
    await assert.rejects(consumed, /connection reset/);
    assert.deepEqual(batches, [['ok']]);
  });
});
