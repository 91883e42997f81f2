import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError, TlsError } from '../../../src/errors/index.js';
import { RegistryTransport } from '../../../src/transport/index.js';
import { SchemeChoice } from '../../../src/transport/scheme-choice.js';
import { testCerts } from '../../harness/certs.js';

const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const plainAnswer = Object.assign(new Error('wrong version number'), {
  code: 'ERR_SSL_WRONG_VERSION_NUMBER',
});
const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('SchemeChoice', () => {
  it('remote registries are HTTPS whatever happens; plainHttp makes everything HTTP', () => {
    const choice = new SchemeChoice();
    assert.equal(choice.current('registry.example.com'), 'https');
    assert.equal(choice.probing('registry.example.com'), false);
    assert.equal(choice.decide('registry.example.com', 'https', { error: plainAnswer }), undefined);
    const plain = new SchemeChoice(true);
    assert.equal(plain.current('registry.example.com'), 'http');
    assert.equal(plain.decide('127.0.0.1:5000', 'http', { error: reset }), undefined);
  });

  it('a loopback registry is tried over HTTP first, and an answer settles it', () => {
    const choice = new SchemeChoice();
    for (const host of ['localhost:5000', '127.0.0.1:5000', '[::1]:5000']) {
      assert.equal(choice.current(host), 'http', host);
      assert.equal(choice.probing(host), true, host);
    }
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { status: 401 }), undefined);
    assert.equal(choice.probing('127.0.0.1:5000'), false);
    // Once known, a later reset is a network error, not a reason to switch.
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { error: reset }), undefined);
    assert.equal(choice.current('127.0.0.1:5000'), 'http');
  });

  it('a reset, a 400 or a parse error over HTTP means HTTPS; refusals say nothing', () => {
    const a = new SchemeChoice();
    assert.equal(a.decide('127.0.0.1:1', 'http', { error: refused }), undefined);
    assert.equal(a.probing('127.0.0.1:1'), true);
    assert.equal(a.decide('127.0.0.1:1', 'http', { error: reset }), 'https');
    assert.equal(a.current('127.0.0.1:1'), 'https');
    const b = new SchemeChoice();
    assert.equal(b.decide('127.0.0.1:2', 'http', { status: 400 }), 'https');
    const c = new SchemeChoice();
    const parse = Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_CONSTANT' });
    assert.equal(c.decide('127.0.0.1:3', 'http', { error: parse }), 'https');
  });

  it('HTTPS meeting a plain answer after a 400 goes back to HTTP for good', () => {
    const choice = new SchemeChoice();
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { status: 400 }), 'https');
    assert.equal(choice.decide('127.0.0.1:5000', 'https', { error: plainAnswer }), 'http');
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { status: 400 }), undefined);
    assert.equal(choice.current('127.0.0.1:5000'), 'http');
  });

  it('a registry given with a scheme is spoken to with it alone, loopback or not', () => {
    const choice = new SchemeChoice();
    choice.fix('Reg.Example:5000', 'http');
    choice.fix('127.0.0.1:5443', 'https');
    // Hosts are compared without case, as everywhere a registry is compared.
    for (const host of ['Reg.Example:5000', 'reg.example:5000']) {
      assert.equal(choice.current(host), 'http', host);
      assert.equal(choice.probing(host), false, host);
      // Nothing that comes back makes it try TLS.
      assert.equal(choice.decide(host, 'http', { error: reset }), undefined);
      assert.equal(choice.decide(host, 'http', { status: 400 }), undefined);
    }
    assert.equal(choice.current('127.0.0.1:5443'), 'https');
    assert.equal(choice.probing('127.0.0.1:5443'), false);
    assert.equal(choice.decide('127.0.0.1:5443', 'https', { error: plainAnswer }), undefined);
    assert.equal(choice.current('127.0.0.1:5443'), 'https');
    // Registries given without one keep the rule.
    assert.equal(choice.current('reg.example'), 'https');
    assert.equal(choice.current('reg.example:5001'), 'https');
    assert.equal(choice.current('127.0.0.1:5000'), 'http');
    assert.equal(choice.probing('127.0.0.1:5000'), true);
  });

  it('https:// wins over plainHttp; http:// in an HTTPS-only mode or after https:// is refused', () => {
    const plain = new SchemeChoice(true);
    plain.fix('reg.example', 'https');
    assert.equal(plain.current('reg.example'), 'https');
    assert.equal(plain.current('other.example'), 'http');
    const httpsOnly = new SchemeChoice(false, true);
    assert.throws(
      () => httpsOnly.fix('reg.example', 'http'),
      (err: unknown) => err instanceof InvalidArgumentError && /HTTPS only/.test(err.message),
    );
    httpsOnly.fix('reg.example', 'https');
    const choice = new SchemeChoice();
    choice.fix('reg.example', 'https');
    choice.fix('REG.example', 'https');
    assert.throws(
      () => choice.fix('reg.EXAMPLE', 'http'),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.message === 'reg.EXAMPLE is given both as https:// and as http://',
    );
  });

  it('a request that raced the one that found the scheme out is repeated with it', () => {
    const choice = new SchemeChoice();
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { status: 400 }), 'https');
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { status: 200 }), 'https');
    assert.equal(choice.decide('127.0.0.1:5000', 'http', { error: refused }), 'https');
  });
});

/** Start `server` on a free loopback port and return `127.0.0.1:PORT`. */
function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

describe('RegistryTransport against loopback servers of either scheme', () => {
  const seen: string[] = [];
  const answer = (scheme: string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push(`${scheme} ${req.url} ${req.headers.authorization ?? '-'}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  };
  const plain = http.createServer(answer('http'));
  let secure: https.Server;
  let plainHost: string;
  let secureHost: string;

  before(async () => {
    const certs = await testCerts();
    secure = https.createServer(
      { key: certs.server.key.pem, cert: certs.server.cert.pem },
      answer('https'),
    );
    plainHost = await listen(plain);
    secureHost = await listen(secure);
  });
  after(() => {
    plain.close();
    secure.close();
  });

  async function get(transport: RegistryTransport, registry: string): Promise<string> {
    const res = await transport.send({ registry, scope: '', method: 'GET', path: '/v2/x' });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    assert.equal(res.status, 200);
    return res.url.protocol;
  }

  it('a plain registry is answered over HTTP with no TLS attempt, and only one request', async () => {
    const lines: string[] = [];
    const transport = new RegistryTransport({ log: (l) => lines.push(l) });
    seen.length = 0;
    assert.equal(await get(transport, plainHost), 'http:');
    assert.equal(await get(transport, plainHost), 'http:');
    assert.deepEqual(seen, ['http /v2/x -', 'http /v2/x -']);
    assert.equal(transport.stats.requests, 2);
    assert.equal(lines.filter((l) => l.startsWith('* ')).length, 0, lines.join('\n'));
    await transport.close();
  });

  it('an HTTPS registry that drops a plain request is then spoken to over TLS', async () => {
    const lines: string[] = [];
    const transport = new RegistryTransport({ tls: { verify: false }, log: (l) => lines.push(l) });
    seen.length = 0;
    assert.equal(await get(transport, secureHost), 'https:');
    assert.equal(await get(transport, secureHost), 'https:');
    assert.deepEqual(seen, ['https /v2/x -', 'https /v2/x -']);
    assert.ok(
      lines.some((l) => l.includes('trying https')),
      lines.join('\n'),
    );
    await transport.close();
  });

  it('useScheme: https:// goes to TLS at once, even on loopback; against plain HTTP it says so', async () => {
    const lines: string[] = [];
    const transport = new RegistryTransport({ tls: { verify: false }, log: (l) => lines.push(l) });
    transport.useScheme(secureHost, 'https');
    transport.useScheme(plainHost, 'https');
    seen.length = 0;
    assert.equal(await get(transport, secureHost), 'https:');
    assert.deepEqual(seen, ['https /v2/x -']);
    assert.equal(lines.filter((l) => l.startsWith('* ')).length, 0, lines.join('\n'));
    await assert.rejects(
      get(transport, plainHost),
      (err: unknown) =>
        err instanceof TlsError &&
        err.message.startsWith(
          `TLS failure talking to ${plainHost} (it answered in plain HTTP, not TLS): `,
        ),
    );
    assert.deepEqual(seen, ['https /v2/x -'], 'no plain request was made');
    assert.equal(transport.baseUrl(plainHost), `https://${plainHost}`);
    await transport.close();
  });

  it('useScheme: http:// is plain HTTP with no probing, and refused in an HTTPS-only mode', async () => {
    const transport = new RegistryTransport();
    transport.useScheme(plainHost, 'http');
    seen.length = 0;
    assert.equal(await get(transport, plainHost), 'http:');
    assert.deepEqual(seen, ['http /v2/x -']);
    await transport.close();
    const tls = new RegistryTransport({ mode: 'tls' });
    assert.throws(() => tls.useScheme(plainHost, 'http'), InvalidArgumentError);
    await tls.close();
  });
});

describe('connection mode and plain HTTP', () => {
  it('refuses plainHttp with a mode that speaks HTTPS, and allows it without one or with no-tls', async () => {
    for (const mode of ['tls', 'ra-tls'] as const) {
      assert.throws(
        () => new RegistryTransport({ plainHttp: true, mode }),
        (err: unknown) =>
          err instanceof InvalidArgumentError &&
          /contradicts the connection mode/.test(err.message),
      );
    }
    for (const mode of [undefined, 'no-tls'] as const) {
      await new RegistryTransport({ plainHttp: true, mode }).close();
    }
  });
});
