import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parsePemCertificates } from '../../src/tls13/server-chain.js';
import { connectTls13, type Tls13Socket } from '../../src/tls13/tls13-socket.js';
import { freePort } from '../harness/ports.js';
import { stopChild } from '../harness/stop-child.js';
import { type Tls13Pki, tls13Pki } from '../harness/tls13-pki.js';

/**
 * The TLS 1.3 client against `openssl s_server`, a second, independent server: each
 * cipher suite and group, RSA-PSS client certificates, and KeyUpdate both ways (typed
 * into s_server's console: `K` asks for the client's update too).
 */

interface SServer {
  child: ChildProcess;
  port: number;
  /** Resolves once s_server's output contains `text`. */
  waitFor(text: string): Promise<string>;
  type(line: string): void;
  stop(): Promise<void>;
}

async function startSServer(args: string[]): Promise<SServer> {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-tls1_3', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: { text: string; resolve: (s: string) => void }[] = [];
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString('latin1');
    for (const w of [...waiters]) {
      if (output.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(output);
      }
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const waitFor = (text: string) =>
    new Promise<string>((resolve, reject) => {
      if (output.includes(text)) return resolve(output);
      const timer = setTimeout(
        () => reject(new Error(`s_server never printed ${text}:\n${output}`)),
        30_000,
      );
      waiters.push({
        text,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
    });
  await waitFor('ACCEPT');
  return {
    child,
    port,
    waitFor,
    type: (line) => child.stdin?.write(`${line}\n`),
    stop: async () => {
      await stopChild(child, 'SIGKILL');
    },
  };
}

function readUntil(socket: Tls13Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.includes(text)) {
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('TLS 1.3 client against openssl s_server', () => {
  let pki: Tls13Pki;
  let trusted: X509Certificate[];
  const running: SServer[] = [];

  before(async () => {
    pki = await tls13Pki();
    trusted = parsePemCertificates(pki.ca.cert);
  });
  after(async () => {
    for (const s of running) await s.stop();
  });

  async function serve(args: string[]): Promise<SServer> {
    const server = await startSServer(args);
    running.push(server);
    return server;
  }

  async function exchange(server: SServer, socket: Tls13Socket): Promise<void> {
    socket.write('ping from ocipeek\n');
    await server.waitFor('ping from ocipeek');
    const reply = readUntil(socket, 'pong from s_server');
    server.type('pong from s_server');
    await reply;
  }

  const cases: [string, string[]][] = [
    ['TLS_AES_128_GCM_SHA256, x25519', ['-ciphersuites', 'TLS_AES_128_GCM_SHA256']],
    ['TLS_AES_256_GCM_SHA384', ['-ciphersuites', 'TLS_AES_256_GCM_SHA384']],
    ['TLS_CHACHA20_POLY1305_SHA256', ['-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256']],
    ['P-256 after a HelloRetryRequest', ['-groups', 'P-256']],
    ['P-384 after a HelloRetryRequest', ['-groups', 'P-384']],
    ['512-byte records', ['-max_send_frag', '512']],
  ];
  for (const [what, args] of cases) {
    it(`talks both ways with ${what}`, async () => {
      const server = await serve([
        '-cert',
        pki.server.certPath,
        '-key',
        pki.server.keyPath,
        ...args,
      ]);
      const socket = await connectTls13({ host: '127.0.0.1', port: server.port, trusted });
      await exchange(server, socket);
      socket.destroy();
    });
  }

  it('verifies an RSA server certificate (RSA-PSS CertificateVerify)', async () => {
    const server = await serve(['-cert', pki.serverRsa.certPath, '-key', pki.serverRsa.keyPath]);
    const socket = await connectTls13({
      host: 'localhost',
      serverName: 'localhost',
      address: '127.0.0.1',
      port: server.port,
      trusted,
    });
    await exchange(server, socket);
    socket.destroy();
  });

  it('authenticates with an RSA client certificate s_server verifies', async () => {
    const server = await serve([
      '-cert',
      pki.server.certPath,
      '-key',
      pki.server.keyPath,
      '-Verify',
      '1',
      '-CAfile',
      pki.ca.certPath,
      '-verify_return_error',
    ]);
    const socket = await connectTls13({
      host: '127.0.0.1',
      port: server.port,
      trusted,
      clientCertificate: async () => ({
        chain: [new X509Certificate(pki.clientRsa.cert).raw],
        key: createPrivateKey(pki.clientRsa.key),
      }),
    });
    await exchange(server, socket);
    const output = await server.waitFor('tls13 test client-rsa');
    assert.match(output, /subject=CN = tls13 test client-rsa/);
    socket.destroy();
  });

  it('follows a KeyUpdate that asks for one back, in both directions', async () => {
    const server = await serve(['-cert', pki.server.certPath, '-key', pki.server.keyPath]);
    const socket = await connectTls13({ host: '127.0.0.1', port: server.port, trusted });
    await exchange(server, socket);
    server.type('K'); // KeyUpdate with update_requested
    await server.waitFor('SSL_do_handshake -> 1'); // what s_server prints after `K`
    const reply = readUntil(socket, 'after the update');
    server.type('after the update'); // under the server's new key
    await reply;
    socket.write('client after the update\n'); // under the client's new key
    await server.waitFor('client after the update');
    socket.destroy();
  });
});
