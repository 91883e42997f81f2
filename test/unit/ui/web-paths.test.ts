import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageUrl, splitRefAndPath } from '../../../src/ui/web/web-paths.js';

describe('explorer URLs', () => {
  it('split a reference with a registry port from the path after its tag', () => {
    assert.deepEqual(splitRefAndPath('127.0.0.1:5000/lazy/app:v1/etc/motd'), {
      ref: '127.0.0.1:5000/lazy/app:v1',
      path: '/etc/motd',
    });
    assert.deepEqual(splitRefAndPath('localhost/a/b@sha256:' + 'a'.repeat(64) + '/x'), {
      ref: `localhost/a/b@sha256:${'a'.repeat(64)}`,
      path: '/x',
    });
  });

  it('normalise Docker Hub names and read an untagged reference whole', () => {
    assert.deepEqual(splitRefAndPath('library/alpine:3/etc'), {
      ref: 'docker.io/library/alpine:3',
      path: '/etc',
    });
    assert.deepEqual(splitRefAndPath('example.com/repo'), {
      ref: 'example.com/repo:latest',
      path: '/',
    });
  });

  it('round-trip names with spaces, percent signs, colons and non-UTF-8 bytes', () => {
    const ref = 'example.com:5000/team/app:v1';
    for (const path of ['/a b/100%.txt', '/x:y/@z', '/caf\udce9', '/']) {
      const url = imageUrl('image', ref, path);
      assert.ok(url.startsWith(`/image/${ref}`), url);
      assert.deepEqual(splitRefAndPath(url.slice('/image/'.length)), { ref, path });
    }
    assert.equal(imageUrl('raw', ref, '/caf\udce9'), `/raw/${ref}/caf%5Cxe9`);
  });

  it('refuse a URL without an image and bad percent-encoding', () => {
    assert.throws(() => splitRefAndPath(''), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => splitRefAndPath('example.com/a:v1/%zz'), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
