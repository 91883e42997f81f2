import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { decompressStream } from '../../../src/compression/index.js';
import { diffTrees, ImageFilesystem } from '../../../src/fs/index.js';
import { readTar } from '../../../src/tar/index.js';
import { collect } from '../tar/raw-tar.js';

type Item = {
  name: string;
  content?: string;
  type?: 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
  uid?: number;
};

async function layerTar(items: Item[]): Promise<Buffer> {
  const p = pack();
  for (const it of items) {
    const { content, ...header } = it;
    if (it.type) p.entry({ mode: 0o644, ...header });
    else p.entry({ mode: 0o644, ...header }, content ?? '');
  }
  p.finalize();
  return collect(p as unknown as AsyncIterable<Buffer>);
}

/** Apply gzip-compressed layers through the real pipeline: decompress → readTar → fs. */
async function image(layers: Item[][]): Promise<{ fs: ImageFilesystem; tars: Buffer[] }> {
  const fs = new ImageFilesystem();
  const tars: Buffer[] = [];
  for (let i = 0; i < layers.length; i++) {
    const tar = await layerTar(layers[i]!);
    tars.push(tar);
    const gz = gzipSync(tar);
    const stream = await decompressStream(Readable.from([gz]), {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    });
    // The layer's real digest: equal digests mean equal bytes, which diff relies on.
    const digest = `sha256:${createHash('sha256').update(gz).digest('hex')}`;
    await fs.applyLayer(readTar(stream), i, digest);
  }
  return { fs, tars };
}

describe('ImageFilesystem over real layer tars', () => {
  it('records offsets: the bytes at dataOffset in the uncompressed layer are the file', async () => {
    const long = `opt/${'p'.repeat(180)}/file.txt`;
    const { fs, tars } = await image([
      [
        { name: 'etc/', type: 'directory', mode: 0o755 },
        { name: 'etc/os-release', content: 'ID=base\n' },
        { name: 'bin/busybox', content: 'B'.repeat(5000) },
        { name: long, content: 'behind a PAX header' },
      ],
      [
        { name: 'etc/os-release', content: 'ID=upper\nVERSION=2\n' },
        { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
        { name: 'etc/.wh.gone' },
      ],
    ]);
    const cases: [string, string][] = [
      ['/etc/os-release', 'ID=upper\nVERSION=2\n'],
      ['/bin/busybox', 'B'.repeat(5000)],
      ['/bin/sh', 'B'.repeat(5000)],
      [`/${long}`, 'behind a PAX header'],
    ];
    for (const [path, want] of cases) {
      const e = fs.stat(path);
      const tar = tars[e.layer]!;
      assert.equal(tar.subarray(e.dataOffset, e.dataOffset + e.size).toString(), want, path);
      const gz = gzipSync(tars[e.layer]!);
      assert.equal(e.layerDigest, `sha256:${createHash('sha256').update(gz).digest('hex')}`);
      // The header at headerOffset is a tar header (checksum field is octal digits).
      assert.match(
        tar.subarray(e.headerOffset + 148, e.headerOffset + 154).toString('latin1'),
        /^[0-7 ]+$/,
      );
    }
    assert.equal(fs.stat('/etc/os-release').layer, 1);
    assert.equal(fs.lstat('/bin/sh').layer, 1);
    assert.equal(fs.stat('/bin/sh').layer, 0);
  });

  it('diffTrees reports added, removed and changed paths', async () => {
    const { fs: a } = await image([
      [
        { name: 'same', content: 'x' },
        { name: 'grows', content: 'x' },
        { name: 'chmod', content: 'x', mode: 0o600 },
        { name: 'chown', content: 'x', uid: 1 },
        { name: 'link', type: 'symlink', linkname: 'same' },
        { name: 'old', content: 'x' },
        { name: 'content', content: 'aaa' },
      ],
    ]);
    const { fs: b } = await image([
      [
        { name: 'same', content: 'x' },
        { name: 'grows', content: 'xx' },
        { name: 'chmod', content: 'x', mode: 0o644 },
        { name: 'chown', content: 'x', uid: 2 },
        { name: 'link', type: 'symlink', linkname: 'grows' },
        { name: 'new/file', content: 'x' },
        { name: 'content', content: 'bbb' },
      ],
    ]);
    const asked: string[] = [];
    const d = diffTrees(a, b, {
      sameContent: (x, y) => {
        assert.equal(x.path, y.path);
        asked.push(x.path);
        if (x.path === '/content') return false;
        return x.path === '/same' ? true : undefined;
      },
    });
    assert.deepEqual(asked.sort(), ['/chmod', '/chown', '/content', '/grows', '/same']);
    assert.deepEqual(
      d.unknownContent.map((p) => p.path).sort(),
      ['/chmod', '/chown', '/grows'],
      'what sameContent could not decide',
    );
    assert.deepEqual(
      d.added.map((e) => e.path),
      ['/new', '/new/file'],
    );
    assert.deepEqual(
      d.removed.map((e) => e.path),
      ['/old'],
    );
    assert.deepEqual(
      d.changed.map((c) => [c.path, c.fields]),
      [
        ['/chmod', ['mode']],
        ['/chown', ['owner']],
        ['/content', ['content']],
        ['/grows', ['size']],
        ['/link', ['link']],
      ],
    );
  });
});
