import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWwwAuthenticate } from '../../../src/auth/index.js';

describe('parseWwwAuthenticate', () => {
  it('parses a bearer challenge followed by a basic one', () => {
    const got = parseWwwAuthenticate(
      'Bearer realm="https://a/token",service="reg",scope="repository:x:pull", Basic realm="x"',
    );
    assert.deepEqual(got, [
      {
        scheme: 'bearer',
        params: { realm: 'https://a/token', service: 'reg', scope: 'repository:x:pull' },
      },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });

  it('keeps commas inside quotes and resolves escaped quotes and backslashes', () => {
    const got = parseWwwAuthenticate(
      'Bearer realm="https://a/t",scope="repository:a:pull,push",error="say \\"hi\\", ok",p="a\\\\b"',
    );
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.params, {
      realm: 'https://a/t',
      scope: 'repository:a:pull,push',
      error: 'say "hi", ok',
      p: 'a\\b',
    });
  });

  it('accepts unquoted values, including URLs that are not RFC tokens', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm=registry'), [
      { scheme: 'basic', params: { realm: 'registry' } },
    ]);
    assert.deepEqual(
      parseWwwAuthenticate('Bearer realm=https://auth.example/token?x=1,service=reg.example'),
      [
        {
          scheme: 'bearer',
          params: { realm: 'https://auth.example/token?x=1', service: 'reg.example' },
        },
      ],
    );
  });

  it('stores token68 forms under token68 and continues with the next challenge', () => {
    assert.deepEqual(parseWwwAuthenticate('Negotiate YIIB3gYGKwYBBQUC+/oIIB0jCCAc6g=='), [
      { scheme: 'negotiate', params: { token68: 'YIIB3gYGKwYBBQUC+/oIIB0jCCAc6g==' } },
    ]);
    assert.deepEqual(parseWwwAuthenticate('Negotiate abc=, Basic realm="x"'), [
      { scheme: 'negotiate', params: { token68: 'abc=' } },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });

  it('tolerates whitespace around names, equals signs and commas', () => {
    const got = parseWwwAuthenticate(
      '  Bearer   realm = "x" ,  service="y"  ,Basic\trealm="z" , ,',
    );
    assert.deepEqual(got, [
      { scheme: 'bearer', params: { realm: 'x', service: 'y' } },
      { scheme: 'basic', params: { realm: 'z' } },
    ]);
  });

  it('lowercases schemes and parameter names but not values', () => {
    assert.deepEqual(parseWwwAuthenticate('BEARER Realm="HTTPS://A/Token",SERVICE=Reg'), [
      { scheme: 'bearer', params: { realm: 'HTTPS://A/Token', service: 'Reg' } },
    ]);
  });

  it('reads a scheme with no parameters before another challenge', () => {
    assert.deepEqual(parseWwwAuthenticate('Negotiate, Basic realm="x", NTLM'), [
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'ntlm', params: {} },
    ]);
  });

  it('concatenates the challenges of several header values', () => {
    assert.deepEqual(parseWwwAuthenticate(['Bearer realm="a",service="s"', 'Basic realm="b"']), [
      { scheme: 'bearer', params: { realm: 'a', service: 's' } },
      { scheme: 'basic', params: { realm: 'b' } },
    ]);
  });

  it('keeps empty quoted values and space-separated scopes as written', () => {
    assert.deepEqual(
      parseWwwAuthenticate('Bearer realm="",scope="repository:a:pull repository:b:pull"'),
      [{ scheme: 'bearer', params: { realm: '', scope: 'repository:a:pull repository:b:pull' } }],
    );
  });

  it('keeps the first of duplicate parameters', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="one", realm="two"'), [
      { scheme: 'basic', params: { realm: 'one' } },
    ]);
  });

  it('returns nothing for empty or missing headers and survives garbage', () => {
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
    assert.deepEqual(parseWwwAuthenticate(''), []);
    assert.deepEqual(parseWwwAuthenticate('  ,  '), []);
    assert.deepEqual(parseWwwAuthenticate('Basic realm="unterminated'), [
      { scheme: 'basic', params: { realm: 'unterminated' } },
    ]);
    assert.deepEqual(parseWwwAuthenticate('@@ Basic realm="x"'), [
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });
});
