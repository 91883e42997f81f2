import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactHeaders, redactUrl } from '../../../src/auth/index.js';

describe('redactHeaders', () => {
  it('hides credentials, keeps the auth scheme and everything else', () => {
    const got = redactHeaders({
      Authorization: 'Bearer eyJhbGciOi.payload.sig',
      'proxy-authorization': 'Basic YWxpY2U6cHc=',
      Cookie: 'session=abc',
      'set-cookie': ['a=1', 'b=2'],
      'X-Registry-Token': 'tok',
      'x-api-key': 'k',
      Accept: 'application/json',
      'www-authenticate': 'Bearer realm="x"',
      'content-length': 12 as unknown as string,
      missing: undefined,
    });
    assert.deepEqual(got, {
      Authorization: 'Bearer <redacted>',
      'proxy-authorization': 'Basic <redacted>',
      Cookie: '<redacted>',
      'set-cookie': ['<redacted>', '<redacted>'],
      'X-Registry-Token': '<redacted>',
      'x-api-key': '<redacted>',
      Accept: 'application/json',
      'www-authenticate': 'Bearer realm="x"',
      'content-length': '12',
    });
    assert.deepEqual(redactHeaders({ authorization: 'opaque' }), { authorization: '<redacted>' });
  });

  it('accepts a Headers object', () => {
    const h = new Headers({ authorization: 'Basic Zm9vOmJhcg==', accept: '*/*' });
    assert.deepEqual(redactHeaders(h), { authorization: 'Basic <redacted>', accept: '*/*' });
  });
});

describe('redactUrl', () => {
  it('hides secret query parameters and a user-info password', () => {
    assert.equal(
      redactUrl('https://auth.example/token?service=reg&scope=repository:a:pull&access_token=abc'),
      'https://auth.example/token?service=reg&scope=repository%3Aa%3Apull&access_token=<redacted>',
    );
    const signed = redactUrl(
      'https://bucket.s3.example/blob?X-Amz-Credential=AKIA&X-Amz-Signature=ff&X-Amz-Expires=300&sig=zz',
    );
    assert.ok(!signed.includes('AKIA') && !signed.includes('=ff') && !signed.includes('zz'));
    assert.ok(signed.includes('X-Amz-Expires=300'));
    assert.equal(
      redactUrl(new URL('https://user:hunter2@reg.example/v2/?password=x&secret=y')),
      'https://user:<redacted>@reg.example/v2/?password=<redacted>&secret=<redacted>',
    );
  });

  it('leaves harmless URLs and non-URLs unchanged', () => {
    assert.equal(
      redactUrl('https://reg.example/v2/a/b/blobs/sha256:00?n=1'),
      'https://reg.example/v2/a/b/blobs/sha256:00?n=1',
    );
    assert.equal(redactUrl('not a url'), 'not a url');
  });
});
