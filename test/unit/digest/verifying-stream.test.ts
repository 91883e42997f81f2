import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { digestOf, isDigest, parseDigest, VerifyingStream } from '../../../src/digest/index.js';
import {
  DigestMismatchError,
  InvalidDigestError,
  SizeMismatchError,
} from '../../../src/errors/index.js';

async function drain(data: Buffer[], digest: string, size?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const v = new VerifyingStream({ digest, size });
  await pipeline(Readable.from(data), v, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

describe('digests', () => {
  it('parses sha256 and sha512 and refuses the rest', () => {
    assert.equal(parseDigest(digestOf('x')).algorithm, 'sha256');
    assert.equal(parseDigest(digestOf('x', 'sha512')).hex.length, 128);
    assert.throws(() => parseDigest('sha256:ABC'), InvalidDigestError);
    assert.throws(() => parseDigest(`sha256:${'A'.repeat(64)}`), InvalidDigestError);
    assert.throws(() => parseDigest(`sha256:../${'a'.repeat(61)}`), InvalidDigestError);
    assert.equal(isDigest(`md5:${'a'.repeat(32)}`), false);
  });

  it('passes bytes that match, in sha256 and sha512', async () => {
    const data = [Buffer.from('hello '), Buffer.from('world')];
    for (const alg of ['sha256', 'sha512'] as const) {
      const out = await drain(data, digestOf('hello world', alg), 11);
      assert.equal(out.toString(), 'hello world');
    }
  });

  it('fails before the end on a digest mismatch', async () => {
    await assert.rejects(
      drain([Buffer.from('hellO world')], digestOf('hello world'), 11),
      DigestMismatchError,
    );
  });

  it('refuses more bytes than declared as soon as they arrive', async () => {
    const v = new VerifyingStream({ digest: digestOf('abc'), size: 3 });
    let passed = 0;
    await assert.rejects(
      pipeline(
        Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]),
        v,
        async (src: AsyncIterable<Buffer>) => {
          for await (const c of src) passed += c.length;
        },
      ),
      SizeMismatchError,
    );
    assert.ok(passed <= 3, `passed ${passed} bytes, more than the declared 3`);
  });

  it('refuses fewer bytes than declared', async () => {
    await assert.rejects(drain([Buffer.from('ab')], digestOf('ab'), 3), SizeMismatchError);
  });
});
