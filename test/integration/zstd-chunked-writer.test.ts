import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildFilesystem } from '../../src/image/index.js';
import { openLazyImage } from '../../src/lazy/index.js';
import { openPlaceImage } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import {
  convertToZstdChunked,
  inspectRaw,
  type LayerEntry,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { appLayers } from './app-fixture.js';
import { readAll, sha } from './lazy-fixture.js';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const run = promisify(execFile);

const CHECKSUM = 'io.github.containers.zstd-chunked.manifest-checksum';
const POSITION = 'io.github.containers.zstd-chunked.manifest-position';
const TARSPLIT = 'io.github.containers.zstd-chunked.tarsplit-position';

/**
 * Content that crosses every chunking rule: random bytes (rolling-checksum cuts), a run of
 * zeros long enough to be a "zeros" chunk, and one too short to be.
 */
const MIXED = Buffer.concat([
  randomBytes(300_000),
  Buffer.alloc(70_000),
  randomBytes(200_000),
  Buffer.alloc(800),
  randomBytes(5_000),
]);

/** The app fixture, plus files with chunks, an empty file and a device. */
function layers(): LayerEntry[][] {
  return appLayers([
    [
      { path: 'data/', type: 'dir' },
      { path: 'data/mixed.bin', content: MIXED },
      { path: 'data/empty', content: '' },
      { path: 'dev/', type: 'dir' },
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    ],
    [],
    [{ path: 'app/big.bin', content: randomBytes(1_500_000) }],
  ]);
}

/** Each regular file's content as the merged image shows it (top layer wins). */
function expectedFiles(all: LayerEntry[][]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const layer of all) {
    for (const e of layer) {
      const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
      if (type === 'file' && !e.path.split('/').pop()!.startsWith('.wh.')) {
        // The top layer writes lib/added.so through the base's `lib -> usr/lib`.
        files.set(`/${e.path.replace(/^lib\//, 'usr/lib/')}`, Buffer.from(e.content ?? ''));
      }
    }
  }
  return files;
}

/** `zstd -dc` of `bytes`. */
function unzstd(bytes: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const child = execFile(
      'zstd',
      ['-dc'],
      { encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, o) => (err ? reject(err) : resolve(o)),
    );
    child.stdin!.end(bytes);
  });
}

/** The TOC of a zstd:chunked layer blob, found through its position annotation. */
async function tocOf(blob: Buffer, position: string) {
  const [offset, length] = position.split(':').map(Number) as [number, number];
  const json = await unzstd(blob.subarray(offset, offset + length));
  return JSON.parse(json.toString()) as {
    entries: Record<string, unknown>[];
    tarSplitDigest?: string;
  };
}

/** A directory tree as lines: type, path, mode, and content hash or link target. */
async function treeOf(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = `${rel}/${name}`;
    const st = await lstat(join(root, p));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) out.push(`d ${p} ${mode}`, ...(await treeOf(root, p)));
    else if (st.isSymbolicLink()) out.push(`l ${p} ${await readlink(join(root, p))}`);
    else if (st.isFile()) out.push(`f ${p} ${mode} ${sha(await readFile(join(root, p)))}`);
    else out.push(`o ${p} ${mode} ${st.rdev}`);
  }
  return out;
}

describe('ocipeek copy --dest-compress-format zstd:chunked, read back by ocipeek, zstd, skopeo', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let client: RegistryClient;
  let source: Desc[];
  let sourceConfig: string;
  let layout: string;
  const all = layers();

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('zstd-chunked-writer');
    client = new RegistryClient();
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, { refName: 'v1', layerEntries: all });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'zc/app:v1');
    const m = JSON.parse((await inspectRaw(reg, 'zc/app:v1')).toString());
    source = m.layers;
    sourceConfig = m.config.digest;
    const r = await runCli([
      'copy',
      `${reg.host}/zc/app:v1`,
      `${reg.host}/zc/app:chunked`,
      '--dest-compress-format',
      'zstd:chunked',
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
    await dir?.remove();
  });

  const manifestOf = async (ref: string) => JSON.parse((await inspectRaw(reg, ref)).toString());
  const blobOf = async (repo: string, digest: string) =>
    Buffer.from(await (await fetch(`http://${reg.host}/v2/${repo}/blobs/${digest}`)).arrayBuffer());

  it('writes zstd layers with the TOC annotations c/storage writes, the config unchanged', async () => {
    const m = await manifestOf('zc/app:chunked');
    assert.equal(m.config.digest, sourceConfig, 'the diff_ids do not change');
    assert.equal(m.layers.length, source.length);
    for (const layer of m.layers as Desc[]) {
      assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
      const a = layer.annotations ?? {};
      assert.match(a[CHECKSUM] ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.match(a[POSITION] ?? '', /^\d+:\d+:\d+:1$/);
      assert.match(a[TARSPLIT] ?? '', /^\d+:\d+:\d+$/);
      // The names c/storage used before 1.45 (podman 4.3 reads these), with the same values.
      assert.equal(a['io.containers.zstd-chunked.manifest-checksum'], a[CHECKSUM]);
      assert.equal(a['io.containers.zstd-chunked.manifest-position'], a[POSITION]);
      const blob = await blobOf('zc/app', layer.digest);
      const [offset, length] = a[POSITION]!.split(':').map(Number) as [number, number];
      const toc = blob.subarray(offset, offset + length);
      assert.equal(`sha256:${sha(toc)}`, a[CHECKSUM]);
      // The skippable frame holding the TOC starts 8 bytes before it.
      assert.equal(blob.readUInt32LE(offset - 8), 0x184d2a50);
      assert.equal(blob.readUInt32LE(offset - 4), length);
      // The 64-byte footer in its skippable frame, as c/storage 1.45+ ends a layer.
      const tail = blob.subarray(blob.length - 72);
      assert.equal(tail.readUInt32LE(0), 0x184d2a50);
      assert.equal(tail.readUInt32LE(4), 64);
      assert.equal(Number(tail.readBigUInt64LE(8)), offset);
      assert.equal(Number(tail.readBigUInt64LE(16)), length);
      assert.equal(tail.subarray(64).toString('latin1'), 'GNUlInUx');
      const [splitOffset, splitLength] = a[TARSPLIT]!.split(':').map(Number) as [number, number];
      assert.equal(Number(tail.readBigUInt64LE(40)), splitOffset);
      assert.equal(Number(tail.readBigUInt64LE(48)), splitLength);
    }
  });

  it('each layer decompresses with the zstd program to the source tar (its diff_id)', async () => {
    const config = JSON.parse(
      (await blobOf('zc/app', (await manifestOf('zc/app:chunked')).config.digest)).toString(),
    );
    const m = await manifestOf('zc/app:chunked');
    const got: string[] = [];
    for (const layer of m.layers as Desc[]) {
      const tar = await unzstd(await blobOf('zc/app', layer.digest));
      got.push(`sha256:${sha(tar)}`);
    }
    assert.deepEqual(got, config.rootfs.diff_ids);
  });

  it('ocipeek reads every file lazily, byte for byte the source', async () => {
    const image = await openPlaceImage(`${reg.host}/zc/app:chunked`, { client });
    const lazy = (await openLazyImage(image, { client }))!;
    assert.ok(lazy, 'the layers are lazily readable');
    assert.deepEqual(
      lazy.layers.map((l) => l.format),
      source.map(() => 'zstd:chunked'),
    );
    const want = expectedFiles(all);
    const seen: string[] = [];
    for (const e of lazy.fs.walk('/')) {
      if (e.type !== 'file') continue;
      const got = await readAll(lazy.openFile(e.path));
      const path = e.path.startsWith('/') ? e.path : `/${e.path}`;
      assert.ok(want.has(path), `${path} is a file of the source`);
      assert.equal(sha(got), sha(want.get(path)!), path);
      seen.push(path);
    }
    // Every regular file of the source's merged view (read in full) was read.
    const full = (await buildFilesystem(await openPlaceImage(`${reg.host}/zc/app:v1`, { client })))
      .fs;
    const files = [...full.walk('/')].filter((e) => e.type === 'file').map((e) => e.path);
    assert.deepEqual(seen.sort(), files.map((p) => (p.startsWith('/') ? p : `/${p}`)).sort());
    assert.ok(seen.length > 400);
    const mixed = await readAll(lazy.openFile('/data/mixed.bin'));
    assert.equal(sha(mixed), sha(MIXED));
  });

  it('cuts files into the same chunks, with the same TOC metadata, as skopeo 1.9.3 (c/storage)', async () => {
    const zdir = join(dir.path, 'skopeo-zc');
    await convertToZstdChunked(layout, 'v1', zdir, 'v1');
    const index = JSON.parse(await readFile(join(zdir, 'index.json'), 'utf8'));
    const blobPath = (d: string) => join(zdir, 'blobs/sha256', d.slice(7));
    const theirs = JSON.parse(await readFile(blobPath(index.manifests[0].digest), 'utf8'));
    const ours = await manifestOf('zc/app:chunked');
    // Offsets depend on the compressor; c/storage before 1.45 also wrote zero atime/ctime.
    const comparable = (entries: Record<string, unknown>[]) =>
      entries.map(({ offset: _o, endOffset: _e, accesstime: _a, changetime: _c, ...rest }) => rest);
    let chunks = 0;
    for (const [i, layer] of (theirs.layers as Desc[]).entries()) {
      const theirToc = await tocOf(
        await readFile(blobPath(layer.digest)),
        layer.annotations!['io.containers.zstd-chunked.manifest-position']!,
      );
      const ourLayer = ours.layers[i] as Desc;
      const ourToc = await tocOf(
        await blobOf('zc/app', ourLayer.digest),
        ourLayer.annotations![POSITION]!,
      );
      assert.deepEqual(comparable(ourToc.entries), comparable(theirToc.entries), `layer ${i}`);
      assert.match(ourToc.tarSplitDigest ?? '', /^sha256:/);
      chunks += ourToc.entries.filter((e) => e.type === 'chunk').length;
    }
    assert.ok(chunks > 10, `files were cut into chunks (${chunks})`);
  });

  it('skopeo copies it through docker-registry unchanged', async () => {
    const before = await inspectRaw(reg, 'zc/app:chunked');
    await skopeo([
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--preserve-digests',
      `docker://${reg.host}/zc/app:chunked`,
      `docker://${reg.host}/zc/copied:1`,
    ]);
    const after = await inspectRaw(reg, 'zc/copied:1');
    assert.equal(createHash('sha256').update(after).digest('hex'), sha(before));
    for (const layer of JSON.parse(after.toString()).layers as Desc[]) {
      assert.equal(`sha256:${sha(await blobOf('zc/copied', layer.digest))}`, layer.digest);
    }
  });

  it('convert --zstd-chunked writes the same layers as copy; one format must be named', async () => {
    const r = await runCli([
      'convert',
      `${reg.host}/zc/app:v1`,
      `${reg.host}/zc/app:converted`,
      '--zstd-chunked',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await manifestOf('zc/app:converted')).layers,
      (await manifestOf('zc/app:chunked')).layers,
    );
    const none = await runCli(['convert', `${reg.host}/zc/app:v1`, `${reg.host}/zc/app:x`]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /say which format: --estargz or --zstd-chunked/);
  });

  it('copying a zstd:chunked image to zstd:chunked again keeps every layer', async () => {
    const r = await runCli([
      'copy',
      `${reg.host}/zc/app:chunked`,
      `${reg.host}/zc/app:again`,
      '--dest-compress-format',
      'zstd:chunked',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await manifestOf('zc/app:again')).layers,
      (await manifestOf('zc/app:chunked')).layers,
    );
  });

  it('podman 4.3.1 pulls it partially (overlay, enable_partial_images), files equal to the source', async (t) => {
    const root = join(dir.path, 'podman');
    await mkdir(join(root, 'probe/l'), { recursive: true });
    for (const d of ['u', 'w', 'm']) await mkdir(join(root, 'probe', d));
    const probe = join(root, 'probe');
    const overlay = await run('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${probe}/l,upperdir=${probe}/u,workdir=${probe}/w`,
      `${probe}/m`,
    ]).then(
      () => run('umount', [`${probe}/m`]).then(() => true),
      () => false,
    );
    // c/storage pulls partially into overlay only (vfs has no ApplyDiffWithDiffer).
    if (!overlay) return t.skip('overlay mounts are not possible here: no partial pulls');
    /** `podman ARGS` on a storage of its own under `root/name`. */
    const podmanOn = async (name: string) => {
      const conf = join(root, `${name}.conf`);
      await writeFile(
        conf,
        [
          '[storage]',
          'driver = "overlay"',
          `graphroot = "${root}/${name}/storage"`,
          `runroot = "${root}/${name}/run"`,
          '[storage.options]',
          'pull_options = {enable_partial_images = "true", use_hard_links = "false", ostree_repos = ""}',
          '',
        ].join('\n'),
      );
      return (...args: string[]) =>
        run(
          'podman',
          [
            '--cgroup-manager',
            'cgroupfs',
            '--events-backend',
            'none',
            '--tmpdir',
            join(root, name, 'tmp'),
            ...args,
          ],
          { env: { ...process.env, CONTAINERS_STORAGE_CONF: conf }, maxBuffer: 64 << 20 },
        );
    };
    const podman = await podmanOn('chunked');
    // The same config, so the same image ID: the source goes into a storage of its own.
    const podmanSource = await podmanOn('source');
    const ref = `${reg.host}/zc/app:chunked`;
    const pulled = await podman('--log-level=debug', 'pull', '--tls-verify=false', ref);
    const log = pulled.stderr;
    const layers = (await manifestOf('zc/app:chunked')).layers as Desc[];
    for (const layer of layers) {
      assert.ok(
        log.includes(`Retrieved partial blob ${layer.digest}`),
        `${layer.digest} pulled partially`,
      );
    }
    assert.doesNotMatch(log, /Failed to retrieve partial blob/);
    // The source (gzip, pulled whole) as the same podman lays it out: the partial pull must
    // give the same tree. (Not ocipeek's own view: c/storage extracts each layer on its own,
    // so the top layer's lib/added.so makes a directory lib that hides the base's symlink.)
    const sourceRef = `${reg.host}/zc/app:v1`;
    await podmanSource('pull', '--tls-verify=false', sourceRef);
    const mounted = (await podman('image', 'mount', ref)).stdout.trim();
    const expected = (await podmanSource('image', 'mount', sourceRef)).stdout.trim();
    try {
      const ours = await treeOf(mounted);
      // c/storage 1.43's partial pull creates no devices or FIFOs (storage_linux.go:
      // "case tar.TypeChar: case tar.TypeBlock: case tar.TypeFifo: /* Ignore. */").
      const whole = await treeOf(expected);
      assert.ok(whole.includes('o /dev/null 666 259'), 'the full pull has the device');
      assert.deepEqual(
        ours,
        whole.filter((l) => !l.startsWith('o ')),
      );
      assert.ok(ours.length > 400);
      assert.ok(ours.includes(`f /data/mixed.bin 644 ${sha(MIXED)}`));
    } finally {
      for (const [p, r, name] of [
        [podman, ref, 'chunked'],
        [podmanSource, sourceRef, 'source'],
      ] as const) {
        await p('image', 'unmount', r).catch(() => {});
        await p('rmi', '-f', r).catch(() => {});
        // c/storage keeps its overlay home bind-mounted; the folder goes with the test's.
        await run('umount', [join(root, name, 'storage/overlay')]).catch(() => {});
      }
    }
  });
});
