import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type AuthChallenge,
  Authenticator,
  globalFetchTokenFetcher,
  Keychain,
  parseWwwAuthenticate,
  registryScope,
  repositoryScope,
} from '../../../src/auth/index.js';
import { RegistryError, UnauthorizedError } from '../../../src/errors/index.js';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
/** Extra fields for the next token responses (expires_in, issued_at). */
let extra: Record<string, unknown> = {};
let delayMs = 0;

const PASSWORD = 's3cret-Pa55';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => resolve(text));
  });
}

before(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body,
    });
    const n = seen.length;
    const reply = (status: number, data: unknown) => {
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      }, delayMs);
    };
    if (url.pathname === '/broken') return reply(500, { details: 'backend down' });
    if (url.pathname === '/refuse') return reply(403, { details: 'no access' });
    if (req.method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('refresh_token') !== 'refresh-ok') return reply(401, { error: 'invalid_grant' });
      return reply(200, { access_token: `oauth-${n}`, ...extra });
    }
    const auth = req.headers.authorization;
    if (!auth) return reply(200, { token: `anon-${n}`, ...extra });
    const [user, pass] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (pass !== PASSWORD) {
      // Some servers echo what they were sent; the error must still not show it.
      return reply(401, { details: `bad password ${pass} for ${user}` });
    }
    return reply(200, { token: `user-${user}-${n}`, ...extra });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  extra = {};
  delayMs = 0;
});

function bearer(path = '/token', scope?: string): AuthChallenge[] {
  return parseWwwAuthenticate(
    `Bearer realm="${base}${path}",service="reg.test"${scope ? `,scope="${scope}"` : ''}`,
  );
}

const SCOPE = repositoryScope('team/app');

describe('Authenticator', () => {
  it('builds scopes', () => {
    assert.equal(repositoryScope('library/alpine'), 'repository:library/alpine:pull');
    assert.equal(repositoryScope('a/b', ['pull', 'push']), 'repository:a/b:pull,push');
    assert.equal(registryScope('catalog', ['*']), 'registry:catalog:*');
  });

  it('gets an anonymous token for the requested scope and caches it per scope', async () => {
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    assert.equal(auth.cached('reg.test', SCOPE), undefined);
    const value = await auth.authorize('reg.test', 'team/app', SCOPE, bearer());
    assert.equal(value, 'Bearer anon-1');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'GET');
    assert.equal(seen[0]!.authorization, undefined);
    assert.equal(seen[0]!.query.get('service'), 'reg.test');
    assert.deepEqual(seen[0]!.query.getAll('scope'), [SCOPE]);
    assert.equal(auth.cached('reg.test', SCOPE), 'Bearer anon-1');
    assert.equal(auth.cached('reg.test', repositoryScope('team/other')), undefined);
    assert.equal(auth.cached('other.test', SCOPE), undefined);
    // A second authorize is answered from the cache.
    assert.equal(await auth.authorize('reg.test', 'team/app', SCOPE, bearer()), 'Bearer anon-1');
    assert.equal(seen.length, 1);
  });

  it('asks for the scopes the challenge names, each as its own parameter', async () => {
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    const challenges = bearer('/token', 'repository:a:pull repository:b:pull,push');
    await auth.authorize('reg.test', 'a', repositoryScope('a'), challenges);
    assert.deepEqual(seen[0]!.query.getAll('scope'), [
      'repository:a:pull',
      'repository:b:pull,push',
    ]);
  });

  it('presents basic credentials from the keychain to the token server', async () => {
    const keychain = new Keychain({ credentials: { username: 'alice', password: PASSWORD } });
    const auth = new Authenticator({ keychain, fetchToken: globalFetchTokenFetcher });
    const value = await auth.authorize('reg.test', 'team/app', SCOPE, bearer());
    assert.equal(value, 'Bearer user-alice-1');
    const expected = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
    assert.equal(seen[0]!.authorization, expected);
    assert.equal(seen[0]!.query.get('account'), 'alice');
  });

  it('asks the keychain for the registry and repository being accessed', async () => {
    const asked: Array<[string, string | undefined]> = [];
    const keychain = {
      async resolve(registry: string, repository?: string) {
        asked.push([registry, repository]);
        return repository === 'team/app' ? { username: 'bob', password: PASSWORD } : undefined;
      },
    };
    const auth = new Authenticator({ keychain, fetchToken: globalFetchTokenFetcher });
    assert.equal(
      await auth.authorize('reg.test', 'team/app', SCOPE, bearer()),
      'Bearer user-bob-1',
    );
    const other = repositoryScope('other/x');
    assert.equal(await auth.authorize('reg.test', 'other/x', other, bearer()), 'Bearer anon-2');
    assert.deepEqual(asked, [
      ['reg.test', 'team/app'],
      ['reg.test', 'other/x'],
    ]);
  });

  it('honours expires_in, issued_at and the 60 s default, a few seconds early', async () => {
    let now = Date.parse('2024-05-01T12:00:00Z');
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher, now: () => now });
    extra = { expires_in: 120 };
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, bearer()), 'Bearer anon-1');
    now += 110_000;
    assert.equal(auth.cached('reg.test', SCOPE), 'Bearer anon-1');
    now += 6_000; // 116 s: inside the early-expiry margin
    assert.equal(auth.cached('reg.test', SCOPE), undefined);
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, bearer()), 'Bearer anon-2');

    extra = {};
    const scope2 = repositoryScope('b');
    assert.equal(await auth.authorize('reg.test', 'b', scope2, bearer()), 'Bearer anon-3');
    now += 50_000;
    assert.equal(auth.cached('reg.test', scope2), 'Bearer anon-3');
    now += 6_000;
    assert.equal(auth.cached('reg.test', scope2), undefined);

    // A token the server issued 100 s ago with a 120 s life has 20 s left (less the margin).
    extra = { expires_in: 120, issued_at: new Date(now - 100_000).toISOString() };
    const scope3 = repositoryScope('c');
    await auth.authorize('reg.test', 'c', scope3, bearer());
    now += 14_000;
    assert.equal(auth.cached('reg.test', scope3), 'Bearer anon-4');
    now += 2_000;
    assert.equal(auth.cached('reg.test', scope3), undefined);
  });

  it('shares one token request among concurrent callers', async () => {
    delayMs = 50;
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    const values = await Promise.all(
      Array.from({ length: 6 }, () => auth.authorize('reg.test', 'a', SCOPE, bearer())),
    );
    assert.deepEqual(new Set(values), new Set(['Bearer anon-1']));
    assert.equal(seen.length, 1);
  });

  it('keeps a shared request going when only one of its waiters aborts', async () => {
    delayMs = 100;
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    const ac = new AbortController();
    const leaving = auth.authorize('reg.test', 'a', SCOPE, bearer(), { signal: ac.signal });
    const staying = auth.authorize('reg.test', 'a', SCOPE, bearer(), {
      signal: new AbortController().signal,
    });
    ac.abort(new Error('caller gave up'));
    await assert.rejects(leaving, /caller gave up/);
    assert.equal(await staying, 'Bearer anon-1');
    assert.equal(seen.length, 1);
  });

  it('aborts the token request when every waiter aborts, and starts afresh after', async () => {
    delayMs = 100;
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    const ac = new AbortController();
    const first = auth.authorize('reg.test', 'a', SCOPE, bearer(), { signal: ac.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    ac.abort(new Error('all gone'));
    await assert.rejects(first, /all gone/);
    delayMs = 0;
    const value = await auth.authorize('reg.test', 'a', SCOPE, bearer());
    assert.match(value, /^Bearer anon-\d$/);
    assert.equal(auth.cached('reg.test', SCOPE), value);
    await assert.rejects(
      auth.authorize('reg.test', 'a', SCOPE, bearer(), {
        signal: AbortSignal.abort(new Error('pre')),
      }),
      /pre/,
    );
  });

  it('throws UnauthorizedError without the secret when the token server refuses', async () => {
    const keychain = new Keychain({ credentials: { username: 'alice', password: 'wrong-pw-123' } });
    const auth = new Authenticator({ keychain, fetchToken: globalFetchTokenFetcher });
    await assert.rejects(auth.authorize('reg.test', 'a', SCOPE, bearer()), (err: Error) => {
      assert.ok(err instanceof UnauthorizedError);
      assert.equal(err.status, 401);
      assert.match(err.message, /refused the credentials \(HTTP 401\)/);
      assert.match(err.message, /reg\.test/);
      assert.ok(!err.message.includes('wrong-pw-123'), err.message);
      return true;
    });
    assert.equal(auth.cached('reg.test', SCOPE), undefined);
    const anon = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    await assert.rejects(
      anon.authorize('reg.test', 'a', SCOPE, bearer('/refuse')),
      (err: Error) => err instanceof UnauthorizedError && err.status === 403,
    );
    await assert.rejects(
      anon.authorize('reg.test', 'a', SCOPE, bearer('/broken')),
      (err: Error) => err instanceof RegistryError && err.status === 500,
    );
  });

  it('exchanges an identity token with the OAuth2 form', async () => {
    const keychain = new Keychain({ credentials: { identityToken: 'refresh-ok' } });
    const auth = new Authenticator({ keychain, fetchToken: globalFetchTokenFetcher });
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, bearer()), 'Bearer oauth-1');
    assert.equal(seen[0]!.method, 'POST');
    const form = new URLSearchParams(seen[0]!.body);
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('refresh_token'), 'refresh-ok');
    assert.equal(form.get('service'), 'reg.test');
    assert.equal(form.get('scope'), SCOPE);
    assert.equal(form.get('client_id'), 'ocipeek');

    const bad = new Authenticator({
      keychain: new Keychain({ credentials: { identityToken: 'refresh-bad-xyz' } }),
      fetchToken: globalFetchTokenFetcher,
    });
    await assert.rejects(bad.authorize('reg.test', 'a', SCOPE, bearer()), (err: Error) => {
      assert.ok(err instanceof UnauthorizedError);
      assert.ok(!err.message.includes('refresh-bad-xyz'));
      return true;
    });
  });

  it('sends a registry token as the bearer token without asking the realm', async () => {
    const keychain = new Keychain({ credentials: { registryToken: 'direct-tok' } });
    const auth = new Authenticator({ keychain, fetchToken: globalFetchTokenFetcher });
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, bearer()), 'Bearer direct-tok');
    assert.equal(seen.length, 0);
  });

  it('answers a Basic challenge from credentials, for every scope, until invalidated', async () => {
    const challenges = parseWwwAuthenticate('Basic realm="Registry Realm"');
    const keychain = new Keychain({ credentials: { username: 'carol', password: PASSWORD } });
    const auth = new Authenticator({ keychain, fetchToken: globalFetchTokenFetcher });
    const expected = `Basic ${Buffer.from(`carol:${PASSWORD}`).toString('base64')}`;
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, challenges), expected);
    assert.equal(auth.cached('reg.test', registryScope('catalog')), expected);
    auth.invalidate('reg.test', SCOPE);
    assert.equal(auth.cached('reg.test', SCOPE), undefined);

    const anon = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    await assert.rejects(anon.authorize('reg.test', 'a', SCOPE, challenges), UnauthorizedError);
    await assert.rejects(
      anon.authorize('reg.test', 'a', SCOPE, parseWwwAuthenticate('Negotiate abc==')),
      /does not support \(negotiate\)/,
    );
    await assert.rejects(anon.authorize('reg.test', 'a', SCOPE, []), UnauthorizedError);
    assert.equal(seen.length, 0);
  });

  it('fetches a new token after invalidate', async () => {
    const auth = new Authenticator({ fetchToken: globalFetchTokenFetcher });
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, bearer()), 'Bearer anon-1');
    auth.invalidate('reg.test', SCOPE);
    assert.equal(auth.cached('reg.test', SCOPE), undefined);
    assert.equal(await auth.authorize('reg.test', 'a', SCOPE, bearer()), 'Bearer anon-2');
  });
});
