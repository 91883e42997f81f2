import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkError } from '../../../src/errors/index.js';
import { nextLink } from '../../../src/registry/index.js';
import { isLoopbackRegistry } from '../../../src/transport/index.js';
import {
  isHeadersTimeout,
  isRetryableNetworkError,
  toNetworkError,
} from '../../../src/transport/network-errors.js';
import {
  backoffDelay,
  isRepeatedRegistryError,
  isRetryableStatus,
  parseRetryAfter,
} from '../../../src/transport/retry.js';

describe('retry policy', () => {
  it('retries 429 and transient 5xx only', () => {
    for (const s of [429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 501]) assert.equal(isRetryableStatus(s), false, String(s));
  });

  it('stops at a registry error answered twice alike, unless it says "later"', () => {
    const body = (code: string, message = 'broken') =>
      Buffer.from(JSON.stringify({ errors: [{ code, message }] }));
    assert.equal(isRepeatedRegistryError(body('UNKNOWN'), body('UNKNOWN')), true);
    assert.equal(isRepeatedRegistryError(body('UNKNOWN'), undefined), false, 'first answer');
    assert.equal(isRepeatedRegistryError(body('UNKNOWN', 'a'), body('UNKNOWN', 'b')), false);
    for (const code of ['UNAVAILABLE', 'TOOMANYREQUESTS']) {
      assert.equal(isRepeatedRegistryError(body(code), body(code)), false, code);
    }
    const page = Buffer.from('<html>Internal Server Error</html>');
    assert.equal(isRepeatedRegistryError(page, page), false, 'not a registry answer');
    const empty = Buffer.from('{"errors":[]}');
    assert.equal(isRepeatedRegistryError(empty, empty), false);
  });

  it('reads Retry-After as seconds or a date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('backs off exponentially within the cap', () => {
    for (let n = 0; n < 10; n++) {
      const d = backoffDelay(n, { minDelayMs: 100, maxDelayMs: 1000 });
      const ceiling = Math.min(1000, 100 * 2 ** n);
      assert.ok(d >= ceiling / 2 && d <= ceiling, `${n}: ${d}`);
    }
  });
});

describe('loopback detection', () => {
  it('allows plain HTTP fallback only for this machine', () => {
    for (const h of ['localhost:5000', '127.0.0.1:1', '127.8.9.1', '[::1]:5000', 'localhost']) {
      assert.equal(isLoopbackRegistry(h), true, h);
    }
    for (const h of [
      'docker.io',
      '10.0.0.1:5000',
      'example.com',
      '128.0.0.1',
      'localhost.example.com',
    ]) {
      assert.equal(isLoopbackRegistry(h), false, h);
    }
  });
});

describe('Link header', () => {
  it('finds rel="next" among several links', () => {
    assert.equal(
      nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"'),
      '/v2/a/tags/list?last=b&n=2',
    );
    assert.equal(
      nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel=next'),
      'https://x/next?a=1,2',
    );
    assert.equal(nextLink(undefined), undefined);
    assert.equal(nextLink('<x>; rel="prev"'), undefined);
  });
});

describe('which network failures are retried', () => {
  /** A Node socket error as `net` makes it. */
  const sysError = (code: string, message = code) => Object.assign(new Error(message), { code });

  it('fails at once on what asking again cannot change', () => {
    for (const code of [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'HPE_INVALID_CONSTANT',
    ]) {
      const wrapped = toNetworkError(sysError(code), '127.0.0.1:5000');
      assert.ok(wrapped instanceof NetworkError, code);
      assert.equal(isRetryableNetworkError(wrapped), false, code);
    }
  });

  it('retries resets and timeouts; only a response-head timeout counts as one', () => {
    for (const code of [
      'ECONNRESET',
      'EPIPE',
      'ETIMEDOUT_HEADERS',
      'ETIMEDOUT_BODY',
      'EAI_AGAIN',
    ]) {
      assert.equal(isRetryableNetworkError(toNetworkError(sysError(code), 'h')), true, code);
    }
    assert.equal(
      toNetworkError(sysError('EAI_AGAIN'), 'reg.example').message,
      'cannot reach reg.example: name lookup failed for now (EAI_AGAIN: DNS did not answer)',
    );
    assert.equal(isHeadersTimeout(toNetworkError(sysError('ETIMEDOUT_HEADERS'), 'h')), true);
    assert.equal(isHeadersTimeout(toNetworkError(sysError('ECONNRESET'), 'h')), false);
  });

  it('names a port that does not speak HTTP', () => {
    const err = toNetworkError(sysError('HPE_INVALID_CONSTANT', 'Expected HTTP/'), '127.0.0.1:22');
    assert.equal(
      err.message,
      "127.0.0.1:22 does not speak HTTP (HPE_INVALID_CONSTANT); is this the registry's port?",
    );
  });
});
