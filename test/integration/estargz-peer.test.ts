import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ESTARGZ_TOC_DIGEST_ANNOTATION, openLazyImage } from '../../src/lazy/index.js';
import { openPlaceImage } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { type RunningContainerd, startContainerd } from '../harness/containerd.js';
import {
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TempDir,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

// eStargz written by stargz-snapshotter's own converter (ctr-remote, inside a private
// containerd), not by ocipeek: proves the reader follows the format, not our writer.

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Files every eStargz writer adds to each layer; not part of the image's content. */
const BOOKKEEPING = /^\/?(stargz\.index\.json|\.no\.prefetch\.landmark|\.prefetch\.landmark)$/;

/** 5 MiB: more than ctr-remote's 4 MiB default chunk, so the file spans two chunks. */
const big = randomBytes(5 * 1024 * 1024 + 4321);
const APP_CONF = 'listen = 8080\nname = "peer"\n';

interface LsEntry {
  path: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  layer: number;
}

function fetchedBytes(stderr: string): number {
  const m = /bytesFetched=(\d+)/.exec(stderr);
  assert.ok(m, `no --stats line in: ${stderr}`);
  return Number(m[1]);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

describe('eStargz written by a peer (ctr-remote in a private containerd)', () => {
  let reg: RunningRegistry;
  let ctrd: RunningContainerd;
  let dir: TempDir;
  let src: string;
  let peer: string;
  let sourceLayerSizes: number[];

  before(async () => {
    reg = await startRegistry();
    ctrd = await startContainerd();
    dir = await tempDir('estargz-peer');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    const built = await randomImage(w, {
      refName: 'v1',
      layerEntries: [
        [
          { path: 'etc/', type: 'dir' },
          { path: 'etc/app.conf', content: APP_CONF, mode: 0o640, uid: 10, gid: 20 },
          { path: 'etc/old.conf', content: 'removed above\n' },
          { path: 'data/', type: 'dir' },
          { path: 'data/big.bin', content: big },
          { path: 'bin/', type: 'dir' },
          { path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
          { path: 'bin/link', type: 'symlink', linkname: 'tool' },
          { path: 'bin/hard', type: 'hardlink', linkname: 'bin/tool' },
        ],
        [{ path: 'etc/.wh.old.conf' }, { path: 'top.txt', content: 'top layer\n' }],
        [
          { path: 'usr/', type: 'dir' },
          { path: 'usr/share/', type: 'dir' },
          { path: 'usr/share/readme.txt', content: 'third layer readme\n' },
        ],
      ],
    });
    await w.finish();
    sourceLayerSizes = built.layers.map((l) => l.size);
    await pushLayout(layout, 'v1', reg, 'peer/src:v1');
    src = `${reg.host}/peer/src:v1`;
    peer = `${reg.host}/peer/estargz:v1`;

    // Content only: nothing is unpacked, so no snapshotter or mount is needed.
    await ctrd.ctr(['content', 'fetch', '--plain-http', src]);
    await ctrd.ctrRemote(['image', 'convert', '--estargz', '--oci', src, peer]);
    await ctrd.ctr(['image', 'push', '--plain-http', peer]);
  });

  after(async () => {
    await ctrd?.stop();
    await reg?.stop();
    await dir?.remove();
  });

  it('the peer wrote eStargz layers: new digests, each with a TOC digest annotation', async () => {
    const [a, b] = await Promise.all([
      runCli(['inspect', '--json', src]),
      runCli(['inspect', '--json', peer]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const before = JSON.parse(a.out) as { layers: Array<{ digest: string }> };
    const after = JSON.parse(b.out) as {
      mediaType: string;
      layers: Array<{
        digest: string;
        mediaType: string;
        annotations?: Record<string, string>;
      }>;
    };
    assert.equal(after.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(after.layers.length, 3);
    for (const [i, layer] of after.layers.entries()) {
      assert.notEqual(layer.digest, before.layers[i]?.digest, 'the layer was rewritten');
      assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.match(
        layer.annotations?.[ESTARGZ_TOC_DIGEST_ANNOTATION] ?? '',
        /^sha256:[0-9a-f]{64}$/,
      );
    }
  });

  it('lists the same files as the source image, through the TOCs only', async (t) => {
    const full = await runCli(['ls', '-R', '--json', '--stats', src]);
    assert.equal(full.code, 0, full.stderr);
    const lazy = await runCli(['ls', '-R', '--json', '--stats', peer]);
    assert.equal(lazy.code, 0, lazy.stderr);

    const original = JSON.parse(full.out) as LsEntry[];
    const listed = JSON.parse(lazy.out) as LsEntry[];
    assert.ok(
      listed.some((e) => BOOKKEEPING.test(e.path)),
      'peer layers carry their TOC file',
    );
    const content = listed.filter((e) => !BOOKKEEPING.test(e.path));
    assert.deepEqual(content, original);
    const paths = original.map((e) => e.path);
    for (const p of ['/data/big.bin', '/etc/app.conf', '/bin/link', '/usr/share/readme.txt']) {
      assert.ok(paths.includes(p), p);
    }
    assert.ok(!paths.includes('/etc/old.conf'), 'the whiteout in layer 1 applies');

    const total = sourceLayerSizes.reduce((n, s) => n + s, 0);
    const fetched = fetchedBytes(lazy.stderr);
    assert.ok(fetched < 64 * 1024, `ls of the peer image fetched ${fetched} bytes`);
    assert.ok(fetched * 50 < total, `ls fetched ${fetched} of ${total} layer bytes`);
    // The control: the plain gzip source can only be listed by downloading it.
    assert.ok(fetchedBytes(full.stderr) >= big.length / 2);
    t.diagnostic(`ls: ${fetched} bytes fetched for ${total} bytes of layers`);
  });

  it('cats a small file with a few KiB, and the big one exactly', async (t) => {
    for (const [path, content] of [
      ['/etc/app.conf', APP_CONF],
      ['/usr/share/readme.txt', 'third layer readme\n'],
      ['/bin/hard', '#!/bin/sh\necho tool\n'],
    ] as const) {
      const cat = await runCli(['cat', '--stats', peer, path]);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout.toString('utf8'), content);
      const fetched = fetchedBytes(cat.stderr);
      assert.ok(fetched < 64 * 1024, `cat ${path} fetched ${fetched} bytes`);
      t.diagnostic(`cat ${path}: ${fetched} bytes fetched`);
    }
    const bigCat = await runCli(['cat', peer, '/data/big.bin']);
    assert.equal(bigCat.code, 0, bigCat.stderr);
    assert.equal(bigCat.stdout.length, big.length);
    assert.equal(sha(bigCat.stdout), sha(big));
  });

  it('the library verifies each peer TOC against its annotation and reads chunk by chunk', async () => {
    const client = new RegistryClient();
    const image = await openPlaceImage(peer, { client });
    const lazy = await openLazyImage(image, { client });
    assert.ok(lazy, 'every layer announces eStargz');
    assert.equal(lazy.layers.length, 3);
    for (const [i, layer] of lazy.layers.entries()) {
      assert.equal(layer.format, 'estargz');
      assert.equal(layer.tocVerified, true);
      assert.equal(
        layer.tocDigest,
        image.layers[i]?.descriptor.annotations?.[ESTARGZ_TOC_DIGEST_ANNOTATION],
      );
      // ctr-remote without --estargz-record-in marks "nothing to prefetch".
      assert.equal(layer.prefetch.landmark, 'none');
    }
    const entry = lazy.layers[0]!.entry('data/big.bin');
    assert.ok(entry && entry.chunks.length >= 2, 'the big file is chunked by the peer');
    const before = lazy.bytesRead();
    const got = await readAll(lazy.openFile('data/big.bin'));
    assert.equal(sha(got), sha(big));
    const spent = lazy.bytesRead() - before;
    assert.ok(spent < big.length + 64 * 1024, `reading ${big.length} bytes fetched ${spent}`);
  });
});
