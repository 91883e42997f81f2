import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidDigestError } from '../../../src/errors/index.js';
import { isletReference } from '../../../src/ir/islet-target.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('isletReference', () => {
  it('names a tag with : and a digest with @, as islet tells them apart', () => {
    assert.equal(isletReference('localhost:1337', 'app', 'v1').toString(), 'localhost:1337/app:v1');
    assert.equal(
      isletReference('localhost:1337', 'app', DIGEST).toString(),
      `localhost:1337/app@${DIGEST}`,
    );
  });

  it("gives a malformed digest the digest parser's error, as every command does", () => {
    for (const [bad, reason] of [
      ['sha256:zz', /invalid digest "sha256:zz": sha256 needs 64 lowercase hex digits/],
      [`md5:${'a'.repeat(32)}`, /unsupported algorithm "md5"/],
      [`sha256:${'A'.repeat(64)}`, /needs 64 lowercase hex digits/],
      ['sha256:', /expected algorithm:hex/],
    ] as const) {
      assert.throws(
        () => isletReference('localhost:1337', 'app', bad),
        (err: unknown) => err instanceof InvalidDigestError && reason.test(err.message),
        bad,
      );
    }
  });
});
