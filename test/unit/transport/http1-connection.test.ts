import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { canPipeTo } from '../../../src/transport/body-sink.js';
import { HttpPool, type HttpResponse } from '../../../src/transport/http-client.js';

/**
 * A scripted HTTP server on loopback: `answer` gets each request head and writes raw bytes
 * to the socket, so the tests control exactly how responses are split, framed and broken.
 */
async function scripted(
  answer: (socket: net.Socket, request: string, index: number) => void | Promise<void>,
) {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        void answer(socket, request, requests++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/v2/x/blobs/sha256:0`),
    connections: () => connections,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Write `bytes` in pieces of `step`, pausing between them so each lands in its own read. */
async function trickle(socket: net.Socket, bytes: Buffer, step: number, pauseMs = 1) {
  for (let at = 0; at < bytes.length; at += step) {
    if (socket.destroyed) return;
    socket.write(bytes.subarray(at, at + step));
    await sleep(pauseMs);
  }
}

function pool(timeouts: { timeoutMs?: number; bodyTimeoutMs?: number } = {}) {
  return new HttpPool({
    tls: {},
    timeoutMs: timeouts.timeoutMs ?? 10_000,
    bodyTimeoutMs: timeouts.bodyTimeoutMs ?? 10_000,
  });
}

async function readAll(res: HttpResponse): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of res.body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Read with `pipeTo`, holding every view for a while and checking it was not reused meanwhile. */
async function sinkAll(res: HttpResponse, holdMs = 0): Promise<Buffer> {
  assert.ok(canPipeTo(res.body), 'a plain-HTTP body offers pipeTo');
  const parts: Buffer[] = [];
  await res.body.pipeTo((view) => {
    const copy = Buffer.from(view);
    parts.push(copy);
    if (holdMs === 0) return undefined;
    return sleep(holdMs).then(() => {
      assert.ok(view.equals(copy), 'a held view was overwritten before its promise settled');
    });
  });
  return Buffer.concat(parts);
}

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

describe('the plain-HTTP client (own HTTP/1.1 connections)', () => {
  const closers: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const close of closers) await close();
  });
  const use = <T extends { close: () => unknown }>(thing: T): T => {
    closers.push(() => void thing.close());
    return thing;
  };

  it('parses a head split across many reads and a body across many reads', async () => {
    const body = randomBytes(300_000);
    const server = use(
      await scripted(async (socket) => {
        const bytes = Buffer.concat([
          head([
            'HTTP/1.1 200 OK',
            'Content-Type: application/octet-stream',
            `Content-Length: ${body.length}`,
          ]),
          body,
        ]);
        await trickle(socket, bytes.subarray(0, 80), 1); // the head, a byte at a time
        await trickle(socket, bytes.subarray(80), 7_001);
      }),
    );
    const client = use(pool());
    let counted = 0;
    const res = await client.request('GET', server.url, {}, undefined, undefined, (n) => {
      counted += n;
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.ok((await sinkAll(res, 2)).equals(body));
    assert.equal(counted, body.length, 'every body byte counted once');
  });

  it('delivers a big body exactly through pipeTo with held views, and as a stream', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 17);
    const want = createHash('sha256').update(body).digest('hex');
    const server = use(
      await scripted((socket) => {
        socket.write(head(['HTTP/1.1 200 OK', `Content-Length: ${body.length}`]));
        socket.write(body);
      }),
    );
    const client = use(pool());
    const held = await sinkAll(
      await client.request('GET', server.url, {}, undefined, undefined),
      3,
    );
    assert.equal(createHash('sha256').update(held).digest('hex'), want);
    const streamed = await readAll(
      await client.request('GET', server.url, {}, undefined, undefined),
    );
    assert.equal(createHash('sha256').update(streamed).digest('hex'), want);
    assert.equal(server.connections(), 1, 'the second request reused the connection');
  });

  it('decodes chunked bodies with extensions and trailers, split anywhere', async () => {
    const data = randomBytes(3_000);
    const wire = Buffer.concat([
      head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']),
      Buffer.from('10;ext=1\r\n'),
      data.subarray(0, 16),
      Buffer.from(`\r\n${(data.length - 16).toString(16)} ; a="b"\r\n`),
      data.subarray(16),
      Buffer.from('\r\n0\r\nX-Trailer: yes\r\n\r\n'),
    ]);
    const server = use(
      await scripted(async (socket, _request, index) => {
        await trickle(socket, wire, index === 0 ? 7 : 1_001, 0);
      }),
    );
    const client = use(pool());
    const first = await client.request('GET', server.url, {}, undefined, undefined);
    assert.ok((await sinkAll(first)).equals(data));
    const second = await client.request('GET', server.url, {}, undefined, undefined);
    assert.ok((await readAll(second)).equals(data));
    assert.equal(server.connections(), 1, 'a chunked response leaves the connection reusable');
  });

  it('honours Connection: close and HTTP/1.0 close-delimited bodies', async () => {
    const server = use(
      await scripted((socket, _request, index) => {
        if (index % 2 === 0) {
          socket.end(
            Buffer.concat([
              head(['HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 5']),
              Buffer.from('hello'),
            ]),
          );
        } else {
          socket.end(Buffer.concat([head(['HTTP/1.0 200 OK']), Buffer.from('until the end')]));
        }
      }),
    );
    const client = use(pool());
    const first = await client.request('GET', server.url, {}, undefined, undefined);
    assert.equal((await readAll(first)).toString(), 'hello');
    const second = await client.request('GET', server.url, {}, undefined, undefined);
    assert.equal((await sinkAll(second)).toString(), 'until the end');
    assert.equal(server.connections(), 2, 'a closed connection is not reused');
  });

  it('skips interim 1xx answers; HEAD and 204 have no body', async () => {
    const server = use(
      await scripted((socket, request) => {
        if (request.startsWith('HEAD')) {
          socket.write(head(['HTTP/1.1 200 OK', 'Content-Length: 1000']));
        } else if (request.includes('/204')) {
          socket.write(head(['HTTP/1.1 204 No Content']));
        } else {
          socket.write(
            Buffer.concat([
              head(['HTTP/1.1 103 Early Hints', 'Link: </a>']),
              head(['HTTP/1.1 200 OK', 'Content-Length: 2']),
              Buffer.from('ok'),
            ]),
          );
        }
      }),
    );
    const client = use(pool());
    const headRes = await client.request('HEAD', server.url, {}, undefined, undefined);
    assert.equal(headRes.headers['content-length'], '1000');
    assert.equal((await readAll(headRes)).length, 0);
    const none = await client.request('GET', new URL('/204', server.url), {}, undefined, undefined);
    assert.equal(none.statusCode, 204);
    assert.equal((await sinkAll(none)).length, 0);
    const early = await client.request('GET', server.url, {}, undefined, undefined);
    assert.equal(early.statusCode, 200);
    assert.equal((await readAll(early)).toString(), 'ok');
    assert.equal(server.connections(), 1);
  });

  it('a body longer than its Content-Length is cut there and the connection dropped', async () => {
    const server = use(
      await scripted((socket) => {
        socket.write(
          Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Length: 4']), Buffer.from('fourEXTRA')]),
        );
      }),
    );
    const client = use(pool());
    const first = await client.request('GET', server.url, {}, undefined, undefined);
    assert.equal((await sinkAll(first)).toString(), 'four');
    const second = await client.request('GET', server.url, {}, undefined, undefined);
    assert.equal((await readAll(second)).toString(), 'four');
    assert.equal(server.connections(), 2, 'the connection that carried extra bytes was not reused');
  });

  it('a server that closes mid-body fails the body as node:http does (ECONNRESET, aborted)', async () => {
    const server = use(
      await scripted((socket) => {
        socket.end(
          Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Length: 100000']), randomBytes(1000)]),
        );
      }),
    );
    const client = use(pool());
    const viaSink = await client.request('GET', server.url, {}, undefined, undefined);
    await assert.rejects(sinkAll(viaSink), { code: 'ECONNRESET', message: 'aborted' });
    const viaStream = await client.request('GET', server.url, {}, undefined, undefined);
    await assert.rejects(readAll(viaStream), { code: 'ECONNRESET', message: 'aborted' });
  });

  it('a server that closes before answering is a hang-up; a stale kept-alive one is retried', async () => {
    const server = use(
      await scripted((socket, _request, index) => {
        if (index === 0)
          socket.write(
            Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Length: 2']), Buffer.from('ok')]),
          );
        else socket.destroy(); // the kept-alive connection dies as the next request arrives
      }),
    );
    const client = use(pool());
    assert.equal(
      (await readAll(await client.request('GET', server.url, {}, undefined, undefined))).toString(),
      'ok',
    );
    // Request 1 meets the dead kept-alive connection and is retried once on a new one
    // (request 2), which the server closes before answering too: that is reported.
    await assert.rejects(client.request('GET', server.url, {}, undefined, undefined), {
      code: 'ECONNRESET',
      message: 'socket hang up',
    });
    assert.equal(server.requests(), 3);
    assert.equal(server.connections(), 2);
  });

  for (const [what, bytes, code] of [
    [
      'not HTTP at all (a TLS alert)',
      Buffer.from([0x15, 3, 1, 0, 2, 2, 70, 13, 10, 13, 10]),
      'HPE_INVALID_CONSTANT',
    ],
    ['a bad status line', head(['HTTP/1.1 2xx OK']), 'HPE_INVALID_STATUS'],
    ['a bad header', head(['HTTP/1.1 200 OK', 'Bad Header: x']), 'HPE_INVALID_HEADER_TOKEN'],
    [
      'a head without end',
      Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'y'.repeat(70_000)}`),
      'HPE_HEADER_OVERFLOW',
    ],
    [
      'a bad chunk size',
      Buffer.concat([
        head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']),
        Buffer.from('zz\r\n'),
      ]),
      'HPE_INVALID_CHUNK_SIZE',
    ],
  ] as const) {
    it(`refuses ${what} with a clear error`, async () => {
      const server = use(await scripted((socket) => void socket.write(bytes)));
      const client = use(pool());
      const attempt = client
        .request('GET', server.url, {}, undefined, undefined)
        .then((res) => sinkAll(res));
      await assert.rejects(attempt, (err: Error & { code?: string }) => {
        assert.equal(err.code, code);
        assert.match(err.message, /^invalid HTTP response: /);
        return true;
      });
    });
  }

  it('refuses request headers that would split lines', async () => {
    const server = use(await scripted(() => {}));
    const client = use(pool());
    await assert.rejects(
      client.request('GET', server.url, { 'x-a': 'b\r\nInjected: 1' }, undefined, undefined),
      { code: 'ERR_INVALID_CHAR' },
    );
    assert.equal(server.requests(), 0);
  });

  it('times out a missing answer, and a stalled body, but not a slow consumer', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const server = use(
      await scripted((socket, request) => {
        if (request.includes('/silent')) return;
        if (request.includes('/stall')) {
          socket.write(
            Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Length: 10']), Buffer.from('12345')]),
          );
          return;
        }
        socket.write(
          Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Length: ${body.length}`]), body]),
        );
      }),
    );
    const client = use(pool({ timeoutMs: 300, bodyTimeoutMs: 300 }));
    await assert.rejects(
      client.request('GET', new URL('/silent', server.url), {}, undefined, undefined),
      {
        code: 'ETIMEDOUT_HEADERS',
      },
    );
    const stalled = await client.request(
      'GET',
      new URL('/stall', server.url),
      {},
      undefined,
      undefined,
    );
    await assert.rejects(sinkAll(stalled), { code: 'ETIMEDOUT_BODY' });
    // Every view held for 100 ms: the connection stops reading for well over 300 ms in all.
    const slow = await client.request('GET', server.url, {}, undefined, undefined);
    assert.ok((await sinkAll(slow, 100)).equals(body));
  });

  it('a body nobody starts to read times out and closes its connection', async () => {
    const server = use(
      await scripted((socket) => {
        socket.write(
          Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Length: 100000']), randomBytes(10)]),
        );
      }),
    );
    const client = use(pool({ bodyTimeoutMs: 200 }));
    const forgotten = await client.request('GET', server.url, {}, undefined, undefined);
    await sleep(400);
    await assert.rejects(sinkAll(forgotten), { code: 'ETIMEDOUT_BODY' });
  });

  it('aborts before the answer and in the middle of a body', async () => {
    const server = use(
      await scripted((socket, request) => {
        if (request.includes('/silent')) return;
        socket.write(
          Buffer.concat([head(['HTTP/1.1 200 OK', 'Content-Length: 100000']), randomBytes(10)]),
        );
      }),
    );
    const client = use(pool());
    const early = new AbortController();
    const waiting = client.request(
      'GET',
      new URL('/silent', server.url),
      {},
      undefined,
      early.signal,
    );
    setTimeout(() => early.abort(), 50);
    await assert.rejects(waiting, { name: 'AbortError' });
    const late = new AbortController();
    const res = await client.request('GET', server.url, {}, undefined, late.signal);
    const piping = sinkAll(res);
    setTimeout(() => late.abort(), 50);
    await assert.rejects(piping, { name: 'AbortError' });
  });

  it('a sink that fails ends the transfer with its error, after its pending writes', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const server = use(
      await scripted((socket) => {
        socket.write(
          Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Length: ${body.length}`]), body]),
        );
      }),
    );
    const client = use(pool());
    const res = await client.request('GET', server.url, {}, undefined, undefined);
    assert.ok(canPipeTo(res.body));
    let pending = 0;
    let calls = 0;
    const failure = new Error('disk full');
    await assert.rejects(
      res.body.pipeTo(() => {
        const call = ++calls;
        pending++;
        return sleep(20).then(() => {
          pending--;
          if (call === 2) throw failure;
        });
      }),
      (err) => err === failure,
    );
    assert.equal(pending, 0, 'pipeTo settled only after every sink promise settled');
  });
});
