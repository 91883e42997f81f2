import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeName, packTarBuffer, type TarWriteEntry } from '../../../src/tar/index.js';
import { ROOTLESS_XATTR } from '../../../src/unpack/finish.js';
import { unpackLayers } from '../../../src/unpack/index.js';
import { readXattr } from '../../harness/xattrs.js';
import { layerFromBlob, type Sandbox, sandbox } from './helpers.js';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => Buffer.from(p)));
const E9 = bytes('caf', [0xe9]); // Latin-1 names: not UTF-8
const E8 = bytes('caf', [0xe8]);
const DIR = bytes('d', [0xff]);
const HARD = bytes('h', [0xfe]);
const FIFO = bytes('p', [0xfd]);
const n = (b: Buffer) => decodeName(b);
const XATTRS = { 'user.comment': 'on caf\xe9' };

const base = { uid: 0, gid: 0, mode: 0o644, mtime: 1700000000, size: 0 };
const file = (name: string, content: string): TarWriteEntry => ({
  header: { ...base, path: name, type: 'file', size: Buffer.byteLength(content) },
  body: Buffer.from(content),
});

/** Layer 0 writes every kind of entry under names that are not UTF-8; layer 1 whites some out. */
async function layers() {
  const lower = await packTarBuffer([
    // An xattr and a rootless owner record (user.rootlesscontainers) go on by the name too.
    { ...file(n(E9), 'e9'), header: { ...file(n(E9), 'e9').header, xattrs: XATTRS, uid: 7 } },
    file(n(E8), 'e8'),
    { header: { ...base, path: 'sym', type: 'symlink', mode: 0o777, linkname: n(E8) } },
    { header: { ...base, path: n(HARD), type: 'hardlink', linkname: n(E9) } },
    { header: { ...base, path: n(FIFO), type: 'fifo', mode: 0o600 } },
    { header: { ...base, path: n(DIR), type: 'dir', mode: 0o755 } },
    file(`${n(DIR)}/${n(E9)}`, 'inside'),
    { header: { ...base, path: 'gone', type: 'dir', mode: 0o755 } },
    file(`gone/${n(E8)}`, 'removed with its folder'),
  ]);
  const upper = await packTarBuffer([
    file('.wh.gone', ''),
    file(`${n(DIR)}/.wh.${n(E9)}`, ''),
    file(`${n(DIR)}/${n(E8)}`, 'added'),
  ]);
  const type = 'application/vnd.oci.image.layer.v1.tar+gzip';
  return [layerFromBlob(0, gzipSync(lower), type), layerFromBlob(1, gzipSync(upper), type)];
}

/** Every path below `root` as its bytes (latin1 keeps them 1:1), with what it holds. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: Buffer) => {
    const abs = Buffer.concat([Buffer.from(root), rel]);
    for (const name of readdirSync(abs, { encoding: 'buffer' })) {
      const child = Buffer.concat([rel, Buffer.from('/'), name]);
      const at = Buffer.concat([abs, Buffer.from('/'), name]);
      const st = lstatSync(at);
      const key = child.toString('latin1');
      if (st.isDirectory()) {
        out[key] = 'dir';
        visit(child);
      } else if (st.isSymbolicLink()) {
        out[key] = `-> ${readlinkSync(at, { encoding: 'buffer' }).toString('latin1')}`;
      } else if (st.isFIFO()) out[key] = 'fifo';
      else out[key] = `${readFileSync(at, 'latin1')} (ino ${st.ino})`;
    }
  };
  visit(Buffer.alloc(0));
  return out;
}

describe('unpack: names that are not UTF-8', () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox();
  });
  after(async () => {
    await box.remove();
  });

  for (const writerThread of [true, false]) {
    it(`writes every name as its exact bytes (${writerThread ? 'writer thread' : 'this thread'})`, async () => {
      const dir = path.join(box.base.path, `rootfs-${writerThread}`);
      const ownershipFile = path.join(dir, '..', `rootfs-${writerThread}.ownership.json`);
      const result = await unpackLayers(await layers(), dir, {
        writerThread,
        rootless: true,
        ownershipFile,
      });
      assert.deepEqual(result.warnings, []);
      const got = tree(dir);
      const ino = (p: Buffer) => lstatSync(Buffer.concat([Buffer.from(`${dir}/`), p])).ino;
      const k = (...parts: Buffer[]) => `/${Buffer.concat(parts).toString('latin1')}`;
      assert.deepEqual(got, {
        [k(E9)]: `e9 (ino ${ino(E9)})`,
        [k(E8)]: `e8 (ino ${ino(E8)})`,
        '/sym': `-> ${E8.toString('latin1')}`,
        [k(HARD)]: `e9 (ino ${ino(E9)})`,
        [k(FIFO)]: 'fifo',
        [k(DIR)]: 'dir',
        [k(DIR, Buffer.from('/'), E8)]:
          `added (ino ${ino(Buffer.concat([DIR, Buffer.from('/'), E8]))})`,
      });
      assert.equal(ino(HARD), ino(E9), 'the hard link shares its target inode');
      const e9 = Buffer.concat([Buffer.from(`${dir}/`), E9]);
      assert.equal(readXattr(e9, 'user.comment')?.toString('latin1'), 'on caf\xe9');
      assert.deepEqual(readXattr(e9, ROOTLESS_XATTR), Buffer.from([0x08, 7]), 'uid 7, gid 0');
      // The rootless ownership record names them as JSON does: \udcXX escapes.
      const record = readFileSync(ownershipFile, 'utf8');
      assert.ok(record.includes('"/caf\\udce9":'), record.slice(0, 200));
      assert.deepEqual(
        Object.keys(JSON.parse(record).entries).sort(),
        Object.keys(result.ownership!.entries).sort(),
      );
      assert.ok(`/${n(E9)}` in result.ownership!.entries);
    });
  }
});
