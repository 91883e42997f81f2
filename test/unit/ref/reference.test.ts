import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidReferenceError } from '../../../src/errors/index.js';
import { parseReference, parseRepository } from '../../../src/ref/index.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference normalises like docker', () => {
  const cases: Array<[string, string, string, string, string?, string?]> = [
    // input, registry, repository, toString, tag, digest
    ['alpine', 'docker.io', 'library/alpine', 'docker.io/library/alpine:latest', 'latest'],
    ['alpine:3.19', 'docker.io', 'library/alpine', 'docker.io/library/alpine:3.19', '3.19'],
    ['user/app', 'docker.io', 'user/app', 'docker.io/user/app:latest', 'latest'],
    [
      'docker.io/alpine',
      'docker.io',
      'library/alpine',
      'docker.io/library/alpine:latest',
      'latest',
    ],
    [
      'index.docker.io/library/alpine',
      'docker.io',
      'library/alpine',
      'docker.io/library/alpine:latest',
      'latest',
    ],
    // docker folds index.docker.io only, and only as written: registry-1.docker.io, the API
    // host, and Docker.io are kept as the names they are (registry-host-names.test.ts).
    [
      'registry-1.docker.io/x/y:1',
      'registry-1.docker.io',
      'x/y',
      'registry-1.docker.io/x/y:1',
      '1',
    ],
    ['INDEX.DOCKER.IO/y:1', 'INDEX.DOCKER.IO', 'y', 'INDEX.DOCKER.IO/y:1', '1'],
    ['localhost/app', 'localhost', 'app', 'localhost/app:latest', 'latest'],
    ['localhost:5000/a/b:tag', 'localhost:5000', 'a/b', 'localhost:5000/a/b:tag', 'tag'],
    [
      '127.0.0.1:5000/a/b/c:v1.2-rc_3',
      '127.0.0.1:5000',
      'a/b/c',
      '127.0.0.1:5000/a/b/c:v1.2-rc_3',
      'v1.2-rc_3',
    ],
    ['ghcr.io/org/img', 'ghcr.io', 'org/img', 'ghcr.io/org/img:latest', 'latest'],
    [`ghcr.io/org/img@${D}`, 'ghcr.io', 'org/img', `ghcr.io/org/img@${D}`, undefined, D],
    [`ghcr.io/org/img:1.0@${D}`, 'ghcr.io', 'org/img', `ghcr.io/org/img:1.0@${D}`, '1.0', D],
    [`alpine@${D}`, 'docker.io', 'library/alpine', `docker.io/library/alpine@${D}`, undefined, D],
    ['docker://quay.io/a/b:c', 'quay.io', 'a/b', 'quay.io/a/b:c', 'c'],
    ['[::1]:5000/app:x', '[::1]:5000', 'app', '[::1]:5000/app:x', 'x'],
    [
      'my-registry.example.com:443/ns/re__po.x:t',
      'my-registry.example.com:443',
      'ns/re__po.x',
      'my-registry.example.com:443/ns/re__po.x:t',
      't',
    ],
  ];
  for (const [input, registry, repository, full, tag, digest] of cases) {
    it(input, () => {
      const r = parseReference(input);
      assert.equal(r.registry, registry);
      assert.equal(r.repository, repository);
      assert.equal(r.tag, tag);
      assert.equal(r.digest, digest);
      assert.equal(r.toString(), full);
    });
  }

  it('uses registry-1.docker.io as the API host for Docker Hub only', () => {
    assert.equal(parseReference('alpine').apiHost, 'registry-1.docker.io');
    assert.equal(parseReference('quay.io/a/b').apiHost, 'quay.io');
    // Any name of Docker Hub's server, in any case, is served by its API host.
    assert.equal(parseReference('registry-1.docker.io/a/b').apiHost, 'registry-1.docker.io');
    assert.equal(parseReference('Docker.IO/a/b').apiHost, 'registry-1.docker.io');
  });

  it('asks for the digest when both tag and digest are present', () => {
    assert.equal(parseReference(`a/b:t@${D}`).reference, D);
    assert.equal(parseReference('a/b:t').reference, 't');
  });
});

describe('parseReference rejects bad input with a reason', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty reference/],
    ['Alpine', /lowercase/],
    ['docker.io/Library/alpine', /lowercase/],
    ['alpine:', /invalid tag/],
    ['alpine:-x', /invalid tag/],
    [`alpine:${'x'.repeat(129)}`, /invalid tag/],
    ['alpine@sha256:abc', /sha256 needs 64/],
    ['alpine@md5:abcdef', /unsupported algorithm/],
    ['a//b', /empty path component/],
    ['host:99999/a', /invalid registry port/],
    ['a b', /whitespace/],
    ['foo/-bar', /invalid repository path component/],
    ['foo/bar_', /invalid repository path component/],
    [`x/${'a'.repeat(260)}`, /longer than 255/],
  ];
  for (const [input, reason] of bad) {
    it(JSON.stringify(input), () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) =>
          err instanceof InvalidReferenceError &&
          reason.test(err.message) &&
          err.message.includes(`"${input}"`),
      );
    });
  }
});

describe('parseRepository', () => {
  it('accepts a bare repository and refuses tags', () => {
    assert.equal(parseRepository('127.0.0.1:5000/team/app').name, '127.0.0.1:5000/team/app');
    assert.equal(parseRepository('127.0.0.1:5000/team/app').tag, undefined);
    assert.throws(() => parseRepository('team/app:1'), InvalidReferenceError);
  });
});
