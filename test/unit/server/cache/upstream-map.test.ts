import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../../src/errors/index.js';
import { UpstreamMap } from '../../../../src/server/cache/upstream-map.js';

describe('UpstreamMap', () => {
  it('routes NAME/repo to upstream NAME and other names to the default', () => {
    const map = UpstreamMap.parse([
      'ghcr=https://ghcr.io',
      'local=http://127.0.0.1:5000/',
      'quay.io',
    ]);
    assert.deepEqual(map.route('ghcr/org/app'), {
      upstream: { name: 'ghcr', registry: 'ghcr.io', scheme: 'https' },
      repository: 'org/app',
    });
    assert.deepEqual(map.route('local/team/app'), {
      upstream: { name: 'local', registry: '127.0.0.1:5000', scheme: 'http' },
      repository: 'team/app',
    });
    assert.deepEqual(map.route('coreos/etcd'), {
      upstream: { name: '', registry: 'quay.io' },
      repository: 'coreos/etcd',
    });
    // A prefix only counts as a whole path component.
    assert.equal(map.route('ghcrx/app')?.upstream.registry, 'quay.io');
    assert.equal(map.all().length, 3);
  });

  it('maps Docker Hub one-component names to library/', () => {
    const map = UpstreamMap.parse(['hub=https://registry-1.docker.io'], 'hub');
    assert.deepEqual(map.route('hub/alpine'), {
      upstream: { name: 'hub', registry: 'docker.io', scheme: 'https' },
      repository: 'library/alpine',
    });
    assert.equal(map.route('alpine')?.repository, 'library/alpine');
    assert.equal(map.route('bitnami/redis')?.repository, 'bitnami/redis');
    assert.equal(map.route('hub/bitnami/redis')?.repository, 'bitnami/redis');
    const ref = UpstreamMap.referenceOf(map.route('alpine')!, '3.19');
    assert.equal(ref.toString(), 'docker.io/library/alpine:3.19');
  });

  it('keeps the scheme an upstream is given with, in any case; a bare host has none', () => {
    const map = UpstreamMap.parse([
      'plain=HTTP://Reg.Example:5000',
      'tls=https://127.0.0.1:5443/',
      'bare=myreg:5000',
    ]);
    const of = (name: string) => map.route(`${name}/app`)?.upstream;
    assert.deepEqual(of('plain'), { name: 'plain', registry: 'Reg.Example:5000', scheme: 'http' });
    assert.deepEqual(of('tls'), { name: 'tls', registry: '127.0.0.1:5443', scheme: 'https' });
    assert.deepEqual(of('bare'), { name: 'bare', registry: 'myreg:5000' });
    assert.equal('scheme' in (of('bare') as object), false);
  });

  it('without a default, names no upstream claims route nowhere', () => {
    const map = UpstreamMap.parse(['a=127.0.0.1:5000']);
    assert.equal(map.route('b/app'), undefined);
    assert.equal(map.route('app'), undefined);
  });

  it('refuses bad specifications with a clear error', () => {
    const bad = [
      [[], /at least one --upstream/],
      [['Bad=ghcr.io'], /upstream name "Bad"/],
      [['a=ghcr.io', 'a=quay.io'], /given twice/],
      [['ghcr.io', 'quay.io'], /only one default/],
      [['a=ftp://x'], /only http/],
      [['a=https://ghcr.io/v2/'], /origin only/],
      [['a=not a host'], /not a registry/],
    ] as const;
    for (const [specs, message] of bad) {
      assert.throws(
        () => UpstreamMap.parse([...specs]),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError);
          assert.match(err.message, message);
          return true;
        },
      );
    }
    assert.throws(() => UpstreamMap.parse(['a=ghcr.io'], 'b'), /--default-upstream "b"/);
  });
});
