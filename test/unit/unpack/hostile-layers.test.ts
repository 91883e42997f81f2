import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  DecompressionError,
  InvalidArgumentError,
  InvalidTarError,
  LayerRuleError,
  TooLargeError,
  UnpackError,
} from '../../../src/errors/index.js';
import { unpackLayers } from '../../../src/unpack/index.js';
import { type LayerEntry, makeTar } from '../../harness/layers.js';
import { layerFromBlob, type Sandbox, sandbox, snapshot, unpackEntries } from './helpers.js';

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const TAR_GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';

describe('unpack: hostile layers never write, link or delete outside DIR', () => {
  let box: Sandbox;
  let before_: Record<string, unknown>;
  before(async () => {
    box = await sandbox();
  });
  after(async () => {
    await box.remove();
  });
  /** A fresh target per test; the outside folder is shared and must never change. */
  let n = 0;
  const target = () => {
    before_ = box.outsideState();
    return path.join(box.base.path, `rootfs${n++}`);
  };
  const assertOutsideUntouched = () => assert.deepEqual(box.outsideState(), before_);
  /** The host path of `outside`, as an absolute path inside an image would name it. */
  const hostOutside = () => box.outside;
  /** Unpack layers the rules refuse: fails as umoci does, naming the entry and why. */
  const refused = async (lists: LayerEntry[][], dir: string, entry: string, why: RegExp) => {
    const err = await unpackEntries(lists, dir).catch((e: unknown) => e);
    assert.ok(err instanceof UnpackError, String(err));
    assert.ok(err.cause instanceof LayerRuleError, String(err.cause));
    assert.equal(err.cause.path, entry);
    assert.match(err.cause.reason, why);
    assert.match(err.message, new RegExp(`${entry}: `));
  };

  it('dot-dot path entry (../../x) is confined inside DIR', async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [
          { path: '../outside/pwned', content: 'a' },
          { path: '../../../../../outside/canary', content: 'b' },
          { path: 'a/../../outside/pwned2', content: 'c' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(existsSync(path.join(box.outside, 'pwned')), false);
    assert.equal(readFileSync(path.join(dir, 'outside/pwned'), 'utf8'), 'a');
    assert.equal(readFileSync(path.join(dir, 'outside/canary'), 'utf8'), 'b');
    assert.equal(readFileSync(path.join(dir, 'outside/pwned2'), 'utf8'), 'c');
    assert.ok(r.warnings.some((w) => w.includes('../outside/pwned') && w.includes('confined')));
  });

  it('absolute path entry (/etc/passwd, /HOST/outside/x) is written inside DIR', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: '/etc/passwd', content: 'root:x:0:0\n' },
          { path: `${hostOutside()}/canary`, content: 'pwned' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(readFileSync(path.join(dir, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
    assert.equal(readFileSync(path.join(dir, hostOutside(), 'canary'), 'utf8'), 'pwned');
  });

  it('symlink to an absolute host path, then an entry written through it', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'evil', type: 'symlink', linkname: hostOutside() },
          { path: 'evil/canary', content: 'pwned' },
          { path: 'evil/secret/shadow', content: 'pwned' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    // The link is kept as written; what went through it landed inside DIR.
    assert.equal(lstatSync(path.join(dir, 'evil')).isSymbolicLink(), true);
    const inside = path.join(dir, hostOutside());
    assert.equal(readFileSync(path.join(inside, 'canary'), 'utf8'), 'pwned');
    assert.equal(readFileSync(path.join(inside, 'secret/shadow'), 'utf8'), 'pwned');
  });

  it('symlink to / then an entry written through it (evil/etc/x)', async () => {
    const dir = target();
    await unpackEntries(
      [
        [{ path: 'evil', type: 'symlink', linkname: '/' }],
        [{ path: `evil${hostOutside()}/canary`, content: 'pwned' }],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(readFileSync(path.join(dir, hostOutside(), 'canary'), 'utf8'), 'pwned');
  });

  it('symlink climbing out (evil -> ../../..) in a lower layer, written through above', async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [{ path: 'evil', type: 'symlink', linkname: '../../../../..' }],
        [
          { path: 'evil/outside/canary', content: 'pwned' },
          { path: 'evil/outside/new', content: 'pwned' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(readFileSync(path.join(dir, 'outside/canary'), 'utf8'), 'pwned');
    assert.ok(r.warnings.some((w) => w.includes('evil/outside/canary') && w.includes('above')));
  });

  it('symlink chain climbing out (a -> b, b -> ../outside) written through', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'a', type: 'symlink', linkname: 'b' },
          { path: 'b', type: 'symlink', linkname: '../outside' },
          { path: 'a/canary', content: 'pwned' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(readFileSync(path.join(dir, 'outside/canary'), 'utf8'), 'pwned');
  });

  it('symlink loop as a parent is refused without hanging', async () => {
    const dir = target();
    await refused(
      [
        [
          { path: 'x', type: 'symlink', linkname: 'y' },
          { path: 'y', type: 'symlink', linkname: 'x' },
          { path: 'x/file', content: 'z' },
        ],
      ],
      dir,
      'x/file',
      /too many symlinks/,
    );
    assertOutsideUntouched();
  });

  it('hardlink to a path outside the root (../../outside/canary)', async () => {
    const dir = target();
    await refused(
      [[{ path: 'stolen', type: 'hardlink', linkname: '../../../outside/canary' }]],
      dir,
      'stolen',
      /does not exist/,
    );
    assertOutsideUntouched();
    assert.equal(lstatSync(path.join(box.outside, 'canary')).nlink, 1);
    assert.equal(existsSync(path.join(dir, 'stolen')), false);
  });

  it('hardlink to an absolute host path links the copy inside DIR, never the host file', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: `${hostOutside()}/canary`.slice(1), content: 'inside' },
          { path: 'stolen', type: 'hardlink', linkname: `${hostOutside()}/canary` },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(lstatSync(path.join(box.outside, 'canary')).nlink, 1);
    assert.equal(readFileSync(path.join(dir, 'stolen'), 'utf8'), 'inside');
    assert.equal(lstatSync(path.join(dir, 'stolen')).nlink, 2);
  });

  it('hardlink through a symlinked parent pointing outside', async () => {
    const dir = target();
    for (const [name, link] of [
      ['stolen', 'evil/canary'],
      ['shadow', 'evil/secret/shadow'],
    ] as const) {
      const d = `${dir}-${name}`;
      await refused(
        [
          [{ path: 'evil', type: 'symlink', linkname: hostOutside() }],
          [{ path: name, type: 'hardlink', linkname: link }],
        ],
        d,
        name,
        /does not exist/,
      );
      assert.equal(existsSync(path.join(d, name)), false);
    }
    assertOutsideUntouched();
    assert.equal(lstatSync(path.join(box.outside, 'canary')).nlink, 1);
    assert.equal(lstatSync(path.join(box.outside, 'secret/shadow')).nlink, 1);
  });

  it('whiteout of ../x deletes only inside DIR', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'outside/canary', content: 'inside copy' },
          { path: 'keep', content: 'k' },
        ],
        [
          { path: '../outside/.wh.canary', content: '' },
          { path: '../../.wh.outside', content: '' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(existsSync(path.join(dir, 'outside')), false);
    assert.equal(readFileSync(path.join(dir, 'keep'), 'utf8'), 'k');
  });

  it('whiteout through a symlink pointing outside deletes nothing outside', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'evil', type: 'symlink', linkname: hostOutside() },
          { path: 'up', type: 'symlink', linkname: '../outside' },
        ],
        [
          { path: 'evil/.wh.canary', content: '' },
          { path: 'evil/.wh.secret', content: '' },
          { path: 'up/.wh.canary', content: '' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(lstatSync(path.join(dir, 'evil')).isSymbolicLink(), true);
  });

  it('opaque whiteout through a symlink pointing outside empties nothing outside', async () => {
    const dir = target();
    await unpackEntries(
      [
        [{ path: 'evil', type: 'symlink', linkname: hostOutside() }],
        [{ path: 'evil/.wh..wh..opq', content: '' }],
      ],
      dir,
    );
    assertOutsideUntouched();
  });

  it('whiteouts named .wh., .wh.. and .wh... (the directory, its parent) are refused', async () => {
    // umoci and containerd would remove the directory itself or its parent (outside the
    // root for a top-level `.wh...`): refused here.
    for (const name of ['.wh.', '.wh..', '.wh...']) {
      const dir = target();
      await refused(
        [[{ path: 'd/f', content: 'x' }], [{ path: `d/${name}`, content: '' }]],
        dir,
        `d/${name}`,
        /whiteout names no file/,
      );
      assertOutsideUntouched();
      assert.equal(readFileSync(path.join(dir, 'd/f'), 'utf8'), 'x');
    }
  });

  it('device nodes when not root (rootless) are skipped with a warning', async () => {
    const dir = target();
    const r = await unpackEntries(
      [
        [
          { path: 'dev/', type: 'dir' },
          { path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660 },
          { path: 'dev/mem', type: 'char', devmajor: 1, devminor: 1, mode: 0o640 },
        ],
      ],
      dir,
      { rootless: true, ownershipFile: false },
    );
    assertOutsideUntouched();
    assert.equal(r.devicesSkipped, 2);
    assert.equal(r.devices, 0);
    assert.deepEqual(Object.keys(snapshot(dir)), ['dev']);
    assert.ok(r.warnings.some((w) => w.includes('dev/mem') && w.includes('rootless')));
  });

  it('file over an existing symlink to a host file replaces the link (later layer)', async () => {
    const dir = target();
    await unpackEntries(
      [
        [{ path: 'etc/passwd', type: 'symlink', linkname: `${hostOutside()}/canary` }],
        [{ path: 'etc/passwd', content: 'pwned', mode: 0o600 }],
      ],
      dir,
    );
    assertOutsideUntouched();
    const st = lstatSync(path.join(dir, 'etc/passwd'));
    assert.equal(st.isFile(), true);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(readFileSync(path.join(dir, 'etc/passwd'), 'utf8'), 'pwned');
  });

  it('file over a symlink to a host file in the same layer replaces the link', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'etc/passwd', type: 'symlink', linkname: '../../outside/canary' },
          { path: 'etc/passwd', content: 'pwned' },
          { path: 'link', type: 'symlink', linkname: `${hostOutside()}/secret` },
          { path: 'link', type: 'dir', mode: 0o700 },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(lstatSync(path.join(dir, 'etc/passwd')).isFile(), true);
    assert.equal(lstatSync(path.join(dir, 'link')).isDirectory(), true);
  });

  it('fifo and symlink over a host-pointing symlink replace it, never follow it', async () => {
    const dir = target();
    await unpackEntries(
      [
        [
          { path: 'p', type: 'symlink', linkname: `${hostOutside()}/canary` },
          { path: 'q', type: 'symlink', linkname: `${hostOutside()}/canary` },
        ],
        [
          { path: 'p', type: 'fifo', mode: 0o600 },
          { path: 'q', type: 'symlink', linkname: 'elsewhere' },
        ],
      ],
      dir,
    );
    assertOutsideUntouched();
    assert.equal(lstatSync(path.join(dir, 'p')).isFIFO(), true);
  });

  it('decompression bomb (a tiny layer inflating past the limit) fails clearly', async () => {
    const dir = target();
    const tar = await makeTar([{ path: 'zeros', content: Buffer.alloc(8 << 20) }]);
    const blob = gzipSync(tar);
    assert.ok(blob.length < 64 << 10);
    const err = await unpackLayers([layerFromBlob(0, blob, TAR_GZ)], dir, {
      maxLayerBytes: 1 << 20,
    }).then(
      () => assert.fail('bomb was unpacked'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnpackError, String(err));
    assert.ok(err.cause instanceof TooLargeError);
    assert.match(err.message, /layer 0 .*exceeds the limit of 1048576 bytes.*partial/);
    assertOutsideUntouched();
  });

  it('malformed tar header (bad checksum) fails with the tar error as cause', async () => {
    const dir = target();
    const tar = await makeTar([
      { path: 'a', content: 'first' },
      { path: 'b', content: 'second' },
    ]);
    tar[1024 + 10] = tar[1024 + 10]! ^ 0xff; // the second header's name
    const err = await unpackLayers([layerFromBlob(0, tar, TAR)], dir).catch((e: unknown) => e);
    assert.ok(err instanceof UnpackError, String(err));
    assert.ok(err.cause instanceof InvalidTarError);
    assert.equal(err.completedLayers, 0);
    assert.match(err.message, /checksum/);
    assert.match(err.message, /partial root filesystem \(0 of 1 layers applied\)/);
  });

  it('truncated gzip layer fails with a decompression error', async () => {
    const dir = target();
    const tar = await makeTar([{ path: 'a', content: Buffer.alloc(100_000, 7) }]);
    const blob = gzipSync(tar);
    const err = await unpackLayers(
      [layerFromBlob(0, blob.subarray(0, blob.length - 40), TAR_GZ)],
      dir,
    ).catch((e: unknown) => e);
    assert.ok(err instanceof UnpackError, String(err));
    assert.ok(err.cause instanceof DecompressionError, String(err.cause));
  });

  it('truncated uncompressed tar (cut inside a body) fails with an invalid tar error', async () => {
    const dir = target();
    const tar = await makeTar([{ path: 'a', content: Buffer.alloc(5000, 7) }]);
    const err = await unpackLayers([layerFromBlob(0, tar.subarray(0, 2048), TAR)], dir).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnpackError, String(err));
    assert.ok(err.cause instanceof InvalidTarError, String(err.cause));
  });

  it('a non-empty DIR is refused before anything is written', async () => {
    const dir = target();
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'existing'), 'x');
    await assert.rejects(
      unpackEntries([[{ path: 'a', content: 'b' }]], dir),
      (e: unknown) => e instanceof InvalidArgumentError && /not empty/.test(e.message),
    );
    assert.deepEqual(Object.keys(snapshot(dir)), ['existing']);
  });
});
