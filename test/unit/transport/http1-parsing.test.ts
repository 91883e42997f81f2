import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ChunkedDecoder } from '../../../src/transport/chunked-decoder.js';
import {
  bodyFraming,
  findHeadEnd,
  HttpParseError,
  keepsAlive,
  parseResponseHead,
} from '../../../src/transport/http1-head.js';

/** Feed `wire` to a decoder in pieces of `step` bytes; the body bytes and where it ended. */
function decodeInPieces(wire: Buffer, step: number): { body: Buffer; used: number } {
  const decoder = new ChunkedDecoder();
  const parts: Buffer[] = [];
  let used = 0;
  for (let at = 0; at < wire.length && !decoder.done; at += step) {
    const piece = Buffer.from(wire.subarray(at, Math.min(wire.length, at + step)));
    const end = decoder.decode(piece, 0, piece.length, (from, to) =>
      parts.push(Buffer.from(piece.subarray(from, to))),
    );
    used = at + end;
  }
  assert.equal(decoder.done, true, 'the decoder saw the end of the body');
  return { body: Buffer.concat(parts), used };
}

function chunked(pieces: Buffer[], extra = ''): Buffer {
  const out: Buffer[] = [];
  for (const p of pieces)
    out.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'));
  out.push(Buffer.from(`0\r\n${extra}\r\n`));
  return Buffer.concat(out);
}

describe('chunked transfer decoding', () => {
  const data = randomBytes(70_000);
  const pieces = [data.subarray(0, 1), data.subarray(1, 40_000), data.subarray(40_000)];

  it('gives back the exact bytes however the wire is split, stopping at the end', () => {
    const wire = Buffer.concat([chunked(pieces), Buffer.from('HTTP/1.1 200 OK\r\n')]);
    const bodyEnd = wire.length - 'HTTP/1.1 200 OK\r\n'.length;
    for (const step of [1, 2, 3, 7, 4096, wire.length]) {
      const { body, used } = decodeInPieces(wire, step);
      assert.ok(body.equals(data), `step ${step}`);
      assert.equal(used, bodyEnd, `step ${step}: bytes after the body are not consumed`);
    }
  });

  it('skips chunk extensions (with whitespace) and trailer fields', () => {
    const wire = Buffer.concat([
      Buffer.from('5 ; name=value;quoted="a;b"\r\nhello\r\n'),
      Buffer.from('6;x\r\n world\r\n'),
      Buffer.from('0;last\r\nDigest: sha-256=abc\r\nX-Other: 1\r\n\r\n'),
    ]);
    for (const step of [1, 5, wire.length]) {
      assert.equal(decodeInPieces(wire, step).body.toString(), 'hello world');
    }
  });

  it('accepts upper- and lower-case hex sizes', () => {
    const body = randomBytes(0xab);
    const wire = Buffer.concat([Buffer.from('aB\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
    assert.ok(decodeInPieces(wire, 3).body.equals(body));
  });

  for (const [what, wire] of [
    ['a size that is not hex', '5x\r\nhello\r\n0\r\n\r\n'],
    ['a missing size', '\r\nhello\r\n0\r\n\r\n'],
    ['a size line ended by a bare LF', '5\nhello\r\n0\r\n\r\n'],
    ['data longer than its size', '3\r\nhello\r\n0\r\n\r\n'],
    ['a size too large to be real', 'fffffffffffffff\r\n'],
    ['an endless extension', `1;${'x'.repeat(5000)}\r\n`],
  ] as const) {
    it(`refuses ${what}`, () => {
      const decoder = new ChunkedDecoder();
      const bytes = Buffer.from(wire);
      assert.throws(
        () => decoder.decode(bytes, 0, bytes.length, () => {}),
        (err: unknown) => err instanceof HttpParseError && err.code === 'HPE_INVALID_CHUNK_SIZE',
      );
    });
  }
});

describe('response heads', () => {
  it('finds the end of a head, also when the search starts inside the terminator', () => {
    const wire = Buffer.from('HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody');
    assert.equal(findHeadEnd(wire, 0, wire.length), wire.length - 4);
    assert.equal(findHeadEnd(wire, 22, wire.length), wire.length - 4);
    assert.equal(findHeadEnd(wire, 0, wire.length - 5), -1);
  });

  it('parses status, version and fields, combining repeats as node:http does', () => {
    const head = parseResponseHead(
      [
        'HTTP/1.1 401 Unauthorized',
        'Content-Type: application/json',
        'content-type: text/plain',
        'WWW-Authenticate: Bearer realm="a"',
        'Www-Authenticate: Basic realm="b"',
        'Set-Cookie: a=1',
        'Set-Cookie: b=2',
        'X-Empty:',
        'X-Spaces:  \t padded value \t',
        'Content-Length: 10',
        'Content-Length: 10',
      ].join('\r\n'),
    );
    assert.equal(head.statusCode, 401);
    assert.equal(head.statusMessage, 'Unauthorized');
    assert.equal(head.minorVersion, 1);
    assert.equal(head.headers['content-type'], 'application/json');
    assert.equal(head.headers['www-authenticate'], 'Bearer realm="a", Basic realm="b"');
    assert.deepEqual(head.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(head.headers['x-empty'], '');
    assert.equal(head.headers['x-spaces'], 'padded value');
    assert.equal(head.headers['content-length'], '10');
  });

  it('accepts a status line without a reason phrase', () => {
    assert.equal(parseResponseHead('HTTP/1.0 204').statusCode, 204);
  });

  for (const [what, text, code] of [
    ['a TLS alert', '\x15\x03\x01\x00\x02\x02\x46', 'HPE_INVALID_CONSTANT'],
    ['HTTP/2', 'HTTP/2 200 OK', 'HPE_INVALID_VERSION'],
    ['a two-digit status', 'HTTP/1.1 20 OK', 'HPE_INVALID_STATUS'],
    ['a field without a colon', 'HTTP/1.1 200 OK\r\nbroken', 'HPE_INVALID_HEADER_TOKEN'],
    ['space before the colon', 'HTTP/1.1 200 OK\r\nName : v', 'HPE_INVALID_HEADER_TOKEN'],
    ['a folded field', 'HTTP/1.1 200 OK\r\nA: b\r\n  c', 'HPE_INVALID_HEADER_TOKEN'],
    ['a bare LF in a value', 'HTTP/1.1 200 OK\r\nA: b\nInjected: x', 'HPE_INVALID_HEADER_TOKEN'],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\nA: b\0c', 'HPE_INVALID_HEADER_TOKEN'],
    [
      'differing Content-Lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
  ] as const) {
    it(`refuses ${what} with a clear error`, () => {
      assert.throws(
        () => parseResponseHead(text),
        (err: unknown) =>
          err instanceof HttpParseError &&
          err.code === code &&
          err.message.startsWith('invalid HTTP response: '),
      );
    });
  }

  it('frames bodies by method, status, Transfer-Encoding and Content-Length', () => {
    const head = (lines: string) => parseResponseHead(`HTTP/1.1 200 OK${lines}`);
    assert.deepEqual(bodyFraming('HEAD', head('\r\nContent-Length: 5')), { kind: 'none' });
    assert.deepEqual(bodyFraming('GET', parseResponseHead('HTTP/1.1 304 Not Modified')), {
      kind: 'none',
    });
    assert.deepEqual(bodyFraming('GET', head('\r\nContent-Length: 5')), {
      kind: 'length',
      length: 5,
    });
    assert.deepEqual(
      bodyFraming('GET', head('\r\nTransfer-Encoding: Chunked\r\nContent-Length: 5')),
      { kind: 'chunked' },
    );
    assert.deepEqual(bodyFraming('GET', head('')), { kind: 'close' });
    assert.throws(() => bodyFraming('GET', head('\r\nContent-Length: -1')), /Content-Length/);
    assert.throws(() => bodyFraming('GET', head('\r\nContent-Length: 1e3')), /Content-Length/);
    assert.throws(
      () => bodyFraming('GET', head('\r\nTransfer-Encoding: gzip, chunked')),
      /Transfer-Encoding/,
    );
  });

  it('keeps connections alive by version and Connection tokens', () => {
    assert.equal(keepsAlive(parseResponseHead('HTTP/1.1 200 OK')), true);
    assert.equal(keepsAlive(parseResponseHead('HTTP/1.1 200 OK\r\nConnection: Close')), false);
    assert.equal(keepsAlive(parseResponseHead('HTTP/1.1 200 OK\r\nConnection: x, close')), false);
    assert.equal(keepsAlive(parseResponseHead('HTTP/1.0 200 OK')), false);
    assert.equal(keepsAlive(parseResponseHead('HTTP/1.0 200 OK\r\nConnection: keep-alive')), true);
  });
});
