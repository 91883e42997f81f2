import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSize } from '../../../src/util/parse-size.js';

describe('parseSize', () => {
  it('reads plain bytes and binary units in any case', () => {
    assert.equal(parseSize('262144'), 262144);
    assert.equal(parseSize('256K'), 262144);
    assert.equal(parseSize('256k'), 262144);
    assert.equal(parseSize('256KiB'), 262144);
    assert.equal(parseSize('256kib'), 262144);
    assert.equal(parseSize('256KB'), 262144);
    assert.equal(parseSize('1M'), 1048576);
    assert.equal(parseSize('1MiB'), 1048576);
    assert.equal(parseSize('1.5M'), 1572864);
    assert.equal(parseSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseSize(' 64 K '), 65536);
    assert.equal(parseSize('10B'), 10);
  });

  it('rejects junk with a message naming the input', () => {
    for (const bad of [
      '',
      'K',
      '-1',
      '0',
      '0K',
      '1.5',
      '12Q',
      '1MM',
      '1e6',
      'abc',
      '1 2K',
      '0x10',
    ]) {
      assert.throws(
        () => parseSize(bad),
        (err: Error & { code?: string }) =>
          err.code === 'ERR_INVALID_ARGUMENT' && err.message.includes(`"${bad}"`),
        bad,
      );
    }
  });

  it('rejects sizes beyond exact integers', () => {
    assert.throws(() => parseSize('99999999999G'), /positive whole number/);
  });
});
