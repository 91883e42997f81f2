import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDigestTag } from '../../../src/digest/index.js';

const HEX = 'ab'.repeat(32);

describe('parseDigestTag', () => {
  it('reads the referrers fallback tag and cosign attachments', () => {
    assert.deepEqual(parseDigestTag(`sha256-${HEX}`), { subject: `sha256:${HEX}` });
    assert.deepEqual(parseDigestTag(`sha256-${HEX}.sig`), {
      subject: `sha256:${HEX}`,
      suffix: 'sig',
    });
    assert.deepEqual(parseDigestTag(`sha256-${HEX}.att`)?.suffix, 'att');
    assert.deepEqual(parseDigestTag(`sha512-${HEX}${HEX}`), { subject: `sha512:${HEX}${HEX}` });
  });

  it('leaves other tags alone', () => {
    for (const tag of [
      'latest',
      'v1.2.3',
      `sha256-${HEX.slice(1)}`,
      `sha256-${HEX}0`,
      `sha512-${HEX}`,
      `sha256-${HEX.toUpperCase()}`,
      `sha256-${HEX}.`,
      `sha256-${HEX}.sig.x`,
      `x-sha256-${HEX}`,
    ]) {
      assert.equal(parseDigestTag(tag), undefined, tag);
    }
  });
});
