import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeName,
  encodeName,
  escapeName,
  fsPath,
  hasEscapedBytes,
  unescapeName,
} from '../../../src/tar/name-codec.js';

const bytes = (...b: number[]) => Buffer.from(b);
const CAFE_E9 = bytes(0x63, 0x61, 0x66, 0xe9); // "caf" + Latin-1 é
const CAFE_E8 = bytes(0x63, 0x61, 0x66, 0xe8); // "caf" + Latin-1 è

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random names biased towards what breaks decoders: high bytes, UTF-8 lead bytes, cuts. */
function randomNames(count: number, seed: number): Buffer[] {
  const rand = prng(seed);
  const pieces = [
    () => Buffer.from('a/b.txt'),
    () => Buffer.from('é'),
    () => Buffer.from('😀'),
    () => Buffer.from('€'),
    () => bytes(0x80 + Math.floor(rand() * 0x80)),
    () => bytes(0xc0 + Math.floor(rand() * 0x40)),
    () => bytes(0xed, 0xa0 + Math.floor(rand() * 0x20), 0x80),
    () => Buffer.from('😀').subarray(0, 1 + Math.floor(rand() * 3)),
    () => bytes(Math.floor(rand() * 256)),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const parts: Buffer[] = [];
    const n = 1 + Math.floor(rand() * 8);
    for (let j = 0; j < n; j++) parts.push(pieces[Math.floor(rand() * pieces.length)]!());
    out.push(Buffer.concat(parts));
  }
  return out;
}

describe('name codec (bytes <-> strings, PEP 383 surrogateescape)', () => {
  it('decodes ASCII and valid UTF-8 as ordinary strings', () => {
    assert.equal(decodeName(Buffer.from('usr/bin/env')), 'usr/bin/env');
    assert.equal(decodeName(Buffer.from('café/😀/€')), 'café/😀/€');
    assert.equal(decodeName(Buffer.from('xcafé'), 1, 6), 'café');
    assert.equal(
      decodeName(Buffer.from('xcafé'), 1, 5),
      'caf\udcc3',
      'a sequence cut by the range',
    );
    assert.equal(hasEscapedBytes('café/😀'), false);
  });

  it('keeps two Latin-1 names distinct and gives their exact bytes back', () => {
    const e9 = decodeName(CAFE_E9);
    const e8 = decodeName(CAFE_E8);
    assert.equal(e9, 'caf\udce9');
    assert.equal(e8, 'caf\udce8');
    assert.notEqual(e9, e8);
    assert.ok(hasEscapedBytes(e9));
    assert.deepEqual(encodeName(e9), CAFE_E9);
    assert.deepEqual(encodeName(e8), CAFE_E8);
    // What Node does without the codec: both collapse into one name.
    assert.equal(CAFE_E9.toString('utf8'), CAFE_E8.toString('utf8'));
  });

  it('escapes each byte of an invalid sequence and decodes valid ones around it', () => {
    // Overlong NUL, a UTF-16 surrogate in UTF-8, a lead byte cut off at the end, a lone
    // continuation byte, bytes over F4, then valid UTF-8 right after.
    assert.equal(decodeName(bytes(0xc0, 0x80)), '\udcc0\udc80');
    assert.equal(decodeName(bytes(0xed, 0xa0, 0x80, 0x41)), '\udced\udca0\udc80A');
    assert.equal(decodeName(bytes(0x61, 0xe2, 0x82)), 'a\udce2\udc82');
    assert.equal(decodeName(bytes(0x80, 0xc3, 0xa9)), '\udc80é');
    assert.equal(decodeName(bytes(0xf5, 0x80, 0x80, 0x80)), '\udcf5\udc80\udc80\udc80');
    assert.equal(decodeName(bytes(0xf4, 0x90, 0x80, 0x80)), '\udcf4\udc90\udc80\udc80');
  });

  it('round-trips every byte string exactly, and decodes valid UTF-8 as Node does', () => {
    for (const name of randomNames(3000, 14)) {
      const text = decodeName(name);
      assert.deepEqual(encodeName(text), name, name.toString('hex'));
      if (Buffer.from(name.toString('utf8'), 'utf8').equals(name)) {
        assert.equal(text, name.toString('utf8'));
        assert.equal(hasEscapedBytes(text), false);
      } else assert.ok(hasEscapedBytes(text), name.toString('hex'));
    }
  });

  it('encodes a surrogate pair as its character even when its low half is in the escape range', () => {
    const u10080 = String.fromCodePoint(0x10080); // \ud800\udc80
    assert.equal(hasEscapedBytes(u10080), false);
    assert.deepEqual(
      encodeName(`${u10080}\udce9`),
      Buffer.concat([Buffer.from(u10080), bytes(0xe9)]),
    );
  });

  it('gives fs a plain string unless the path holds escaped bytes', () => {
    const plain = '/tmp/x/café';
    assert.equal(fsPath(plain), plain);
    assert.deepEqual(
      fsPath(`/tmp/${decodeName(CAFE_E9)}`),
      Buffer.concat([Buffer.from('/tmp/'), CAFE_E9]),
    );
  });

  it('escapes names for display and reads the escapes back', () => {
    assert.equal(escapeName(decodeName(CAFE_E9)), 'caf\\xe9');
    assert.equal(escapeName('two\nlines\tand\x7f'), 'two\\x0alines\\x09and\\x7f');
    assert.equal(escapeName('back\\slash'), 'back\\\\slash');
    const plain = 'usr/share/café 😀';
    assert.equal(escapeName(plain), plain);
    assert.equal(unescapeName('caf\\xe9'), decodeName(CAFE_E9));
    assert.equal(unescapeName('caf\\xc3\\xa9'), 'café');
    assert.equal(unescapeName('back\\\\slash'), 'back\\slash');
    assert.equal(unescapeName('C:\\Windows\\x'), 'C:\\Windows\\x', 'unknown escapes stay literal');
    for (const name of randomNames(1000, 83)) {
      const text = decodeName(name);
      assert.equal(unescapeName(escapeName(text)), text, name.toString('hex'));
      assert.doesNotMatch(escapeName(text), /[\u0000-\u001f]|[\udc80-\udcff]/u);
    }
  });
});
