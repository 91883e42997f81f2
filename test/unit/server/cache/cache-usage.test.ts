import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CacheUsage, type UsageTimes, usageKey } from '../../../../src/server/cache/cache-usage.js';

describe('CacheUsage.lookup', () => {
  it('sees uses recorded after the saved times were read, and the later of both', () => {
    const usage = new CacheUsage(undefined);
    const saved: UsageTimes = new Map([
      [usageKey('a/app', 'v1'), 1_000],
      [usageKey('b/app', 'v1'), 2_000],
    ]);
    const lookup = usage.lookup(saved);
    assert.equal(lookup.get(usageKey('c/app', 'v1')), undefined);
    const before = Date.now();
    // Touched after the lookup was made: eviction listing the tags now must see it.
    usage.touch('c/app', 'v1');
    usage.touch('a/app', 'v1');
    const c = lookup.get(usageKey('c/app', 'v1'));
    assert.ok(c !== undefined && c >= before, String(c));
    assert.ok((lookup.get(usageKey('a/app', 'v1')) as number) >= before);
    assert.equal(lookup.get(usageKey('b/app', 'v1')), 2_000);
  });
});
