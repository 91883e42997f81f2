import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goUnixTime } from '../../../src/util/go-unix-time.js';

describe('goUnixTime', () => {
  it("writes a PAX time's text to the nanosecond, cut like Go's parsePAXTime", () => {
    assert.equal(goUnixTime('1704164645.123456789'), '2024-01-02T03:04:05.123456789Z');
    // A double cannot hold these nanoseconds: the number gives the microsecond.
    assert.equal(goUnixTime(1704164645.1234567), '2024-01-02T03:04:05.123457Z');
    assert.equal(goUnixTime('1704164645.1234567891'), '2024-01-02T03:04:05.123456789Z');
    assert.equal(goUnixTime('1704164645.500'), '2024-01-02T03:04:05.5Z');
    assert.equal(goUnixTime('1704164645.'), '2024-01-02T03:04:05Z');
    assert.equal(goUnixTime('0'), '1970-01-01T00:00:00Z');
    assert.equal(goUnixTime('-1.5'), '1969-12-31T23:59:58.5Z');
    assert.equal(goUnixTime('-0.25'), '1969-12-31T23:59:59.75Z');
    assert.equal(goUnixTime(1.5), '1970-01-01T00:00:01.5Z');
    assert.equal(goUnixTime(0.9999999), '1970-01-01T00:00:01Z');
  });

  it("gives '' outside Go's years 0-9999, and refuses text that is no decimal time", () => {
    assert.equal(goUnixTime(253402300800), '');
    assert.equal(goUnixTime('-62167219201'), '');
    assert.equal(goUnixTime('99999999999999999999999'), '');
    assert.throws(() => goUnixTime('1e9'), /is not a decimal time/);
  });
});
