import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, InvalidDigestError } from '../../../src/errors/index.js';
import { isletReference, isletRegistryHost } from '../../../src/ir/islet-target.js';

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

  it('a one-label host is the registry, as islet connects to it (not a Docker Hub path)', () => {
    const ref = isletReference('myhost', 'team/app', 'v1');
    assert.deepEqual([ref.registry, ref.repository, ref.tag], ['myhost', 'team/app', 'v1']);
    assert.equal(ref.apiHost, 'myhost');
    assert.equal(isletReference('myhost', 'app', DIGEST).digest, DIGEST);
    assert.equal(isletReference('myhost', 'app').repository, 'app');
  });
});

describe('isletRegistryHost', () => {
  it("holds -a to the references' registry host rule", () => {
    for (const ok of ['localhost:1337', 'myhost', '[::1]:1337', 'Reg.Example:1']) {
      assert.equal(isletRegistryHost(ok, 'no-tls'), ok);
    }
    assert.equal(isletRegistryHost('http://myhost:1337/', 'no-tls'), 'myhost:1337');
    for (const [bad, reason] of [
      ['a_b:1', /invalid registry host "a_b"/],
      ['host:99999', /invalid registry port "99999"/],
      ['host/x', /invalid registry host "host\/x"/],
      ['', /invalid registry host ""/],
      ['user@host', /invalid registry host "user@host"/],
    ] as const) {
      assert.throws(
        () => isletRegistryHost(bad, 'no-tls'),
        (err: unknown) => err instanceof InvalidArgumentError && reason.test(err.message),
        bad,
      );
    }
  });
});
