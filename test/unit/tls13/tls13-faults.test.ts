import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { parsePemCertificates } from '../../../src/tls13/server-chain.js';
import { connectTls13 } from '../../../src/tls13/tls13-socket.js';
import { TlsAlertError } from '../../../src/tls13/wire.js';
import { tls13Pki } from '../../harness/tls13-pki.js';

/**
 * Malformed, oversized and truncated records, from a scripted server (which also records
 * the alert the client sends back) and from a proxy that damages a real server's records.
 */

interface Scripted {
  port: number;
  /** Everything the client sent after its ClientHello, once it closed. */
  rest: Promise<Buffer>;
  close(): Promise<void>;
}

/** A server that reads the ClientHello record, then answers with `reply` (and closes if asked). */
async function scripted(reply: Buffer, closeAfter = false): Promise<Scripted> {
  let resolveRest: (b: Buffer) => void = () => {};
  const rest = new Promise<Buffer>((r) => {
    resolveRest = r;
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let got = Buffer.alloc(0);
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (!answered && got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
        answered = true;
        got = got.subarray(5 + got.readUInt16BE(3));
        if (closeAfter) socket.end(reply);
        else socket.write(reply);
      }
    });
    socket.on('close', () => resolveRest(got));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    rest,
    close: () => closeServer(server, sockets),
  };
}

/** Close a server and every connection it still has, so the file ends by itself. */
function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

function record(type: number, body: Buffer, length = body.length): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3, length >> 8, length & 0xff]), body]);
}

/** A ServerHello that negotiates TLS 1.2 (no supported_versions). */
function tls12ServerHello(): Buffer {
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0]), // session id
    Buffer.from([0xc0, 0x2f, 0]), // suite, compression
    Buffer.from([0, 0]), // no extensions
  ]);
  return record(
    22,
    Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body]),
  );
}

describe('TLS 1.3 client against broken servers', () => {
  let trusted: X509Certificate[];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    trusted = parsePemCertificates((await tls13Pki()).ca.cert);
  });
  after(async () => {
    for (const close of closers) await close();
  });

  async function tryAgainst(reply: Buffer, closeAfter = false) {
    const server = await scripted(reply, closeAfter);
    closers.push(server.close);
    const err = await connectTls13({ host: '127.0.0.1', port: server.port, trusted }).then(
      (s) => {
        s.destroy();
        assert.fail('the handshake succeeded');
      },
      (e: unknown) => e as Error,
    );
    return { err, rest: await server.rest };
  }

  /** The fatal alert record the client sent (plaintext: no keys yet). */
  function alertIn(bytes: Buffer): number | undefined {
    return bytes[0] === 21 && bytes.readUInt16BE(3) === 2 ? bytes[6] : undefined;
  }

  it('says a plain HTTP answer is not TLS', async () => {
    const { err, rest } = await tryAgainst(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    assert.ok(err instanceof TlsAlertError);
    assert.match(err.message, /not TLS/);
    assert.equal(alertIn(rest), 10);
  });

  it('refuses a record longer than 2^14 bytes with record_overflow', async () => {
    const { err, rest } = await tryAgainst(record(22, Buffer.alloc(10), (1 << 14) + 1));
    assert.ok(err instanceof TlsAlertError);
    assert.equal(err.alert, 22);
    assert.equal(alertIn(rest), 22);
  });

  it('refuses a server that only speaks TLS 1.2 with protocol_version', async () => {
    const { err, rest } = await tryAgainst(tls12ServerHello());
    assert.ok(err instanceof TlsAlertError);
    assert.match(err.message, /does not speak TLS 1\.3/);
    assert.equal(alertIn(rest), 70);
  });

  it('refuses a truncated ServerHello inside a whole record with decode_error', async () => {
    const hello = tls12ServerHello().subarray(5);
    const cut = Buffer.concat([Buffer.from([2, 0, 0, 10]), hello.subarray(4, 14)]);
    const { err, rest } = await tryAgainst(record(22, cut));
    assert.ok(err instanceof TlsAlertError);
    assert.equal(err.alert, 50);
    assert.equal(alertIn(rest), 50);
  });

  it('reports a connection closed in the middle of a record during the handshake', async () => {
    const { err } = await tryAgainst(record(22, Buffer.alloc(3), 100), true);
    assert.equal((err as { code?: string }).code, 'ECONNRESET');
    assert.match(err.message, /closed the connection during the TLS handshake/);
  });

  it('reports an alert the server sends during the handshake', async () => {
    const { err } = await tryAgainst(record(21, Buffer.from([2, 40])));
    assert.ok(err instanceof TlsAlertError);
    assert.equal(err.received, true);
    assert.match(err.message, /handshake_failure/);
  });

  describe('damaged records from a real server', () => {
    /** A proxy in front of an echo TLS server that hands `damage` each server→client chunk. */
    async function damagingProxy(damage: (chunk: Buffer, index: number) => Buffer | 'cut') {
      const pki = await tls13Pki();
      const sockets = new Set<net.Socket>();
      const real = tls.createServer(
        { key: pki.server.key, cert: pki.server.cert, minVersion: 'TLSv1.3' },
        (s) => {
          s.on('error', () => {});
          s.pipe(s);
        },
      );
      real.on('connection', (s: net.Socket) => sockets.add(s));
      real.on('tlsClientError', () => {});
      await new Promise<void>((resolve) => real.listen(0, '127.0.0.1', resolve));
      const proxy = net.createServer((client) => {
        const upstream = net.connect((real.address() as AddressInfo).port, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.on('close', () => upstream.destroy());
        let index = 0;
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream);
        upstream.on('data', (chunk: Buffer) => {
          const out = damage(chunk, index++);
          if (out === 'cut') {
            client.end(chunk.subarray(0, chunk.length - 7));
            upstream.destroy();
          } else client.write(out);
        });
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      closers.push(
        () => closeServer(proxy, sockets),
        () => closeServer(real, sockets),
      );
      return (proxy.address() as AddressInfo).port;
    }

    /** Connect, send `ping`, wait for what comes back: data or an error. */
    async function pingThrough(port: number): Promise<Error | string> {
      const socket = await connectTls13({ host: '127.0.0.1', port, trusted });
      return new Promise((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString();
        });
        socket.on('error', (e) => resolve(e));
        socket.on('end', () => resolve(text));
        socket.write('ping');
      });
    }

    it('refuses a record whose ciphertext was changed with bad_record_mac', async () => {
      // Chunk 0 is the server's first flight; the echo of `ping` comes later, flipped.
      const port = await damagingProxy((chunk, i) => {
        if (i === 0 || chunk[0] !== 23) return chunk;
        const copy = Buffer.from(chunk);
        copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 1;
        return copy;
      });
      const result = await pingThrough(port);
      assert.ok(result instanceof TlsAlertError, String(result));
      assert.equal(result.alert, 20);
    });

    it('reports a connection cut in the middle of a record after the handshake', async () => {
      const port = await damagingProxy((chunk, i) =>
        i > 0 && chunk[0] === 23 && chunk.length > 30 ? 'cut' : chunk,
      );
      const result = await pingThrough(port);
      assert.ok(result instanceof Error, String(result));
      assert.match(result.message, /closed in the middle of a TLS record/);
    });
  });
});
