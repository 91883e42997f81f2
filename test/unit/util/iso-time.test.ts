import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime } from '../../../src/util/iso-time.js';

describe('isoTime', () => {
  it('writes what toISOString writes, across the years toISOString spells differently', () => {
    const times = [
      0,
      1,
      -1,
      Date.UTC(2026, 11, 3, 21, 55, 7, 42),
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1),
      Date.UTC(-1, 0, 1),
      Date.UTC(0, 0, 1), // Date.UTC maps 0 to 1900
      -62167219200000, // year 0
      8.64e15,
      -8.64e15,
    ];
    // And a spread of ordinary times, milliseconds included.
    for (let t = Date.UTC(1970, 0, 1); t < Date.UTC(2100, 0, 1); t += 987_654_321_123) {
      times.push(t);
    }
    for (const t of times) {
      const date = new Date(t);
      assert.equal(isoTime(date), date.toISOString(), `time ${t}`);
    }
  });

  it('refuses an invalid date as toISOString does', () => {
    assert.throws(() => new Date(Number.NaN).toISOString(), RangeError);
    assert.throws(() => isoTime(new Date(Number.NaN)), RangeError);
  });
});
