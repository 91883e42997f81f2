import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tagOfRefName } from '../../../src/layout/index.js';

describe('tagOfRefName', () => {
  it('reads bare tags and the tag of full references', () => {
    assert.equal(tagOfRefName('1.0'), '1.0');
    assert.equal(tagOfRefName('latest'), 'latest');
    assert.equal(tagOfRefName('example:1.0'), '1.0');
    assert.equal(tagOfRefName('docker.io/library/alpine:3.19'), '3.19');
    assert.equal(tagOfRefName('localhost:5000/app:v2'), 'v2');
  });

  it('finds no tag where there is none', () => {
    assert.equal(tagOfRefName('localhost:5000/app'), undefined);
    assert.equal(tagOfRefName('example.com/app'), undefined);
    assert.equal(tagOfRefName(`app@sha256:${'a'.repeat(64)}`), undefined);
    assert.equal(tagOfRefName('app:'), undefined);
    assert.equal(tagOfRefName(''), undefined);
  });

  it('ignores a digest after the tag', () => {
    assert.equal(tagOfRefName(`app:1.2@sha256:${'a'.repeat(64)}`), '1.2');
  });
});
