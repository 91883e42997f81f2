import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOcipeekError } from '../../../src/errors/index.js';
import { isS3Url, parseS3Url } from '../../../src/server/storage/s3/s3-location.js';

describe('s3://BUCKET/PREFIX', () => {
  it('splits a bucket and a prefix ending in /', () => {
    assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseS3Url('s3://my-bucket/'), { bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseS3Url('s3://my.bucket/reg/one/'), {
      bucket: 'my.bucket',
      prefix: 'reg/one/',
    });
    assert.equal(isS3Url('s3://b/x'), true);
    assert.equal(isS3Url('/srv/registry'), false);
  });

  it('refuses what is not a bucket name or a clean prefix', () => {
    for (const bad of ['s3://', 's3://Upper', 's3://b', 's3://bucket/../x', 's3://-x/y']) {
      assert.throws(
        () => parseS3Url(bad),
        (err: unknown) => isOcipeekError(err, 'ERR_INVALID_ARGUMENT'),
        bad,
      );
    }
  });
});
