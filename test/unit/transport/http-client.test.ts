import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpPool } from '../../../src/transport/http-client.js';

/** A local server that sends `payload` in pieces of 300 KiB, and counts connections. */
function startServer(payload: Buffer) {
  let connections = 0;
  const server = http.createServer(async (req, res) => {
    res.writeHead(200, { 'content-length': payload.length });
    for (let at = 0; at < payload.length; at += 300 * 1024) {
      if (!res.write(payload.subarray(at, at + 300 * 1024))) {
        await new Promise((r) => res.once('drain', r));
      }
    }
    res.end();
    req.resume();
  });
  server.on('connection', () => connections++);
  return {
    server,
    connections: () => connections,
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/blob`),
        ),
      ),
  };
}

describe('HttpPool over plain HTTP (connections read into a few reused buffers)', () => {
  const payload = randomBytes(9 * 1024 * 1024 + 123);
  const want = createHash('sha256').update(payload).digest('hex');
  const local = startServer(payload);
  let url: URL;
  const pool = new HttpPool({ tls: {}, timeoutMs: 10_000, bodyTimeoutMs: 10_000 });

  before(async () => {
    url = new URL(await local.listen());
  });
  after(() => {
    pool.close();
    local.server.close();
  });

  it('chunks kept by a slow reader stay intact, and counted bytes match', async () => {
    let counted = 0;
    const res = await pool.request('GET', url, {}, undefined, undefined, (n) => {
      counted += n;
    });
    assert.equal(res.statusCode, 200);
    const kept: Buffer[] = [];
    // Read slowly so the socket is paused and resumed many times while chunks are held:
    // if a streamed chunk were a view of a reused read buffer, later reads would
    // overwrite it.
    for await (const chunk of res.body) {
      kept.push(chunk as Buffer);
      if (kept.length % 4 === 0) await sleep(2);
    }
    const got = Buffer.concat(kept);
    assert.equal(got.length, payload.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), want);
    assert.equal(counted, payload.length);
    const distinct = new Set(kept.map((c) => c.buffer));
    assert.equal(distinct.size, kept.length, 'every chunk has its own memory');
  });

  it('reuses the kept-alive connection for the next request', async () => {
    const before = local.connections();
    for (let i = 0; i < 3; i++) {
      const res = await pool.request('GET', url, {}, undefined, undefined);
      const hash = createHash('sha256');
      for await (const chunk of res.body) hash.update(chunk as Buffer);
      assert.equal(hash.digest('hex'), want);
    }
    assert.ok(local.connections() - before <= 1, 'one connection at most for three requests');
  });
});
