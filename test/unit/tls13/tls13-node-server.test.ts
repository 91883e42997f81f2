import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { ClientCredentials } from '../../../src/tls13/client-handshake.js';
import { parsePemCertificates } from '../../../src/tls13/server-chain.js';
import {
  connectTls13,
  type Tls13ConnectOptions,
  type Tls13Socket,
} from '../../../src/tls13/tls13-socket.js';
import { TlsAlertError } from '../../../src/tls13/wire.js';
import { type Tls13Pki, tls13Pki } from '../../harness/tls13-pki.js';

/**
 * The TLS 1.3 client against Node's own TLS server (OpenSSL): data both ways under every
 * cipher suite, HelloRetryRequest, client certificates, and every way the server's
 * certificate can be wrong.
 */

interface Server {
  port: number;
  /** Handshake failures the server saw (the client's alerts among them). */
  failures: Error[];
  /** Peer certificates of the client, per connection. */
  clients: { authorized: boolean; subject?: string }[];
  close(): Promise<void>;
}

async function startServer(options: tls.TlsOptions): Promise<Server> {
  const failures: Error[] = [];
  const clients: Server['clients'] = [];
  const server = tls.createServer({ minVersion: 'TLSv1.3', ...options }, (socket) => {
    const peer = socket.getPeerCertificate();
    clients.push({
      authorized: socket.authorized,
      subject: peer?.subject?.CN as string | undefined,
    });
    socket.on('error', () => {});
    socket.pipe(socket); // echo
  });
  server.on('tlsClientError', (err) => failures.push(err));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    failures,
    clients,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Write `data`, read the same number of bytes back, close. */
async function echo(socket: Tls13Socket, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= data.length) resolve();
    });
    socket.on('error', reject);
  });
  socket.write(data);
  await done;
  socket.end();
  return Buffer.concat(chunks);
}

function waitFailure(server: Server): Promise<Error> {
  return new Promise((resolve) => {
    const poll = () => {
      const failure = server.failures[0];
      if (failure) resolve(failure);
      else setTimeout(poll, 10);
    };
    poll();
  });
}

describe('TLS 1.3 client against node:tls', () => {
  let pki: Tls13Pki;
  let trusted: X509Certificate[];
  const servers: Server[] = [];

  before(async () => {
    pki = await tls13Pki();
    trusted = parsePemCertificates(pki.ca.cert);
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  async function serve(options: tls.TlsOptions): Promise<Server> {
    const server = await startServer(options);
    servers.push(server);
    return server;
  }

  function options(server: Server, extra: Partial<Tls13ConnectOptions> = {}): Tls13ConnectOptions {
    return { host: '127.0.0.1', address: '127.0.0.1', port: server.port, trusted, ...extra };
  }

  for (const suite of [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
  ]) {
    it(`moves 1 MiB both ways under ${suite}`, async () => {
      const server = await serve({ key: pki.server.key, cert: pki.server.cert, ciphers: suite });
      const socket = await connectTls13(options(server));
      const data = randomBytes(1024 * 1024);
      const back = await echo(socket, data);
      assert.ok(back.equals(data), 'the echoed bytes are the bytes sent');
    });
  }

  it('verifies RSA (RSA-PSS) and P-384 server keys, and names by DNS', async () => {
    for (const issued of [pki.serverRsa, pki.serverP384]) {
      const server = await serve({ key: issued.key, cert: issued.cert });
      const socket = await connectTls13(
        options(server, { host: 'localhost', serverName: 'localhost' }),
      );
      assert.equal((await echo(socket, Buffer.from('ping'))).toString(), 'ping');
    }
  });

  it('answers a HelloRetryRequest for P-256 (it offers x25519 first)', async () => {
    const server = await serve({ key: pki.server.key, cert: pki.server.cert, ecdhCurve: 'P-256' });
    const socket = await connectTls13(options(server));
    assert.equal((await echo(socket, Buffer.from('after retry'))).toString(), 'after retry');
  });

  it('negotiates ALPN', async () => {
    const server = await serve({
      key: pki.server.key,
      cert: pki.server.cert,
      ALPNProtocols: ['http/1.1'],
    });
    const socket = await connectTls13(options(server, { alpn: ['http/1.1'] }));
    assert.equal(socket.alpnProtocol, 'http/1.1');
    socket.destroy();
  });

  it('follows a chain through an intermediate CA', async () => {
    const server = await serve({
      key: pki.viaIntermediate.key,
      cert: pki.viaIntermediate.cert + pki.intermediate.cert,
    });
    const socket = await connectTls13(options(server));
    assert.equal((await echo(socket, Buffer.from('chain'))).toString(), 'chain');
  });

  const refusals: [string, keyof Tls13Pki, RegExp, number][] = [
    ['a CA it does not trust', 'untrusted', /not signed by a trusted CA/, 48],
    ['a certificate for another host', 'wrongHost', /not for 127\.0\.0\.1/, 42],
    ['an expired certificate', 'expired', /expired on/, 45],
    // OpenSSL's X509_check_issued (behind checkIssued) refuses an issuer whose key usage
    // lacks keyCertSign, so the path ends there.
    ['a certificate signed by a non-CA', 'viaLeaf', /not signed by a trusted CA/, 48],
  ];
  for (const [what, name, message, alert] of refusals) {
    it(`refuses ${what}, and tells the server`, async () => {
      const issued = pki[name] as { key: string; cert: string };
      const cert = name === 'viaLeaf' ? issued.cert + pki.server.cert : issued.cert;
      const server = await serve({ key: issued.key, cert });
      if (name === 'expired') await new Promise((r) => setTimeout(r, 1100));
      const err = await connectTls13(options(server)).then(
        () => assert.fail('the handshake succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TlsAlertError, String(err));
      assert.match(err.message, message);
      assert.equal(err.alert, alert);
      assert.equal(err.received, false);
      const seen = await waitFailure(server);
      assert.match(seen.message, /alert/i, 'the server received an alert');
    });
  }

  it('refuses a certificate that is not valid yet (clock before notBefore)', async () => {
    const server = await serve({ key: pki.server.key, cert: pki.server.cert });
    const err = await connectTls13(options(server, { now: () => new Date('2000-01-01') })).catch(
      (e) => e,
    );
    assert.match(String(err), /not valid before/);
  });

  it('sends a client certificate and signs with RSA-PSS; sees the raw CA names', async () => {
    const server = await serve({
      key: pki.server.key,
      cert: pki.server.cert,
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.cert,
    });
    let seenAuthorities: Buffer[] = [];
    const credentials: ClientCredentials = {
      chain: [new X509Certificate(pki.clientRsa.cert).raw],
      key: createPrivateKey(pki.clientRsa.key),
    };
    const socket = await connectTls13(
      options(server, {
        clientCertificate: async (request) => {
          seenAuthorities = request.authorities;
          assert.ok(request.signatureSchemes.includes(0x0804));
          return credentials;
        },
      }),
    );
    assert.equal((await echo(socket, Buffer.from('mutual'))).toString(), 'mutual');
    assert.deepEqual(server.clients, [{ authorized: true, subject: 'tls13 test client-rsa' }]);
    assert.equal(seenAuthorities.length, 1);
    assert.ok(seenAuthorities[0]?.includes(Buffer.from('tls13 test ca')), 'the CA name, as sent');
  });

  it('reports the server refusing a missing client certificate as the alert it sent', async () => {
    const server = await serve({
      key: pki.server.key,
      cert: pki.server.cert,
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.cert,
    });
    // TLS 1.3: the client is done before the server judges its (empty) certificate, so
    // the alert comes on the first read.
    const socket = await connectTls13(
      options(server, { clientCertificate: async () => undefined }),
    );
    const err = await echo(socket, Buffer.from('x')).catch((e) => e);
    assert.ok(err instanceof TlsAlertError, String(err));
    assert.equal(err.received, true);
    assert.equal(err.alert, 116);
    assert.match(err.message, /certificate_required/);
  });
});
