import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type BuiltImage,
  type FaultProxy,
  type LayerEntry,
  LayoutWriter,
  makeLayer,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);
const long = `deep/${'d'.repeat(120)}/${'n'.repeat(150)}.txt`;

/** Layers that exercise every merge rule, bottom first. */
const LAYERS: LayerEntry[][] = [
  [
    { path: 'etc/', type: 'dir' },
    { path: 'etc/os-release', content: 'ID=fixture\n' },
    { path: 'etc/motd', content: 'hello\n' },
    { path: 'opq/', type: 'dir' },
    { path: 'opq/lower.txt', content: 'lower\n' },
    { path: 'opq/sub/', type: 'dir' },
    { path: 'opq/sub/deep.txt', content: 'deep\n' },
    { path: 'gone/', type: 'dir' },
    { path: 'gone/a.txt', content: 'a\n' },
    { path: 'dir2file/', type: 'dir' },
    { path: 'dir2file/x', content: 'x\n' },
    { path: 'file2dir', content: 'was a file\n' },
    { path: 'bin/', type: 'dir' },
    { path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
    { path: 'bin/link1', type: 'symlink', linkname: 'link2' },
    { path: 'bin/link2', type: 'symlink', linkname: '/bin/tool' },
    { path: 'bin/escape', type: 'symlink', linkname: '../../../../etc/os-release' },
    { path: 'bin/hard', type: 'hardlink', linkname: 'bin/tool' },
    { path: long, content: 'long name\n' },
    { path: 'setuid', content: 'su\n', mode: 0o4755 },
  ],
  [
    { path: 'etc/.wh.motd' },
    { path: '.wh.gone' },
    { path: 'opq/.wh..wh..opq' },
    { path: 'opq/upper.txt', content: 'upper\n' },
    { path: 'dir2file', content: 'now a file\n' },
    { path: 'file2dir/', type: 'dir' },
    { path: 'file2dir/inside', content: 'inside\n' },
    { path: 'etc/os-release', content: 'ID=fixture\nVERSION=2\n', mode: 0o600 },
  ],
  [
    { path: 'etc/motd', content: 'recreated\n' },
    { path: 'top.txt', content: 'top layer only\n' },
    { path: 'bin/hard2', type: 'hardlink', linkname: 'bin/tool' },
  ],
];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Seen {
  path: string;
  type: string;
  mode: number;
  size: number;
  link?: string;
  sha?: string;
}

/** Walk a directory umoci unpacked into the shape `ls -R --json` reports. */
async function walkDisk(root: string, rel = ''): Promise<Seen[]> {
  const out: Seen[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = join(rel, name);
    const st = await lstat(join(root, p));
    const path = `/${p}`;
    if (st.isDirectory()) {
      out.push({ path, type: 'dir', mode: st.mode & 0o7777, size: 0 });
      out.push(...(await walkDisk(root, p)));
    } else if (st.isSymbolicLink()) {
      out.push({
        path,
        type: 'symlink',
        mode: 0o777,
        size: 0,
        link: await readlink(join(root, p)),
      });
    } else {
      const bytes = await readFile(join(root, p));
      out.push({ path, type: 'file', mode: st.mode & 0o7777, size: st.size, sha: sha256(bytes) });
    }
  }
  return out;
}

/** `gzip` grown to exactly `size` bytes with a header comment (FCOMMENT), still valid gzip. */
function padGzip(gzip: Buffer, size: number): Buffer {
  const comment = size - gzip.length - 1;
  assert.ok(comment >= 0 && (gzip[3]! & 0x1e) === 0, 'a plain gzip header, smaller than size');
  const header = Buffer.from(gzip.subarray(0, 10));
  header[3] = header[3]! | 0x10;
  return Buffer.concat([header, Buffer.alloc(comment, 0x61), Buffer.alloc(1), gzip.subarray(10)]);
}

describe('filesystem commands against the real registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let dir: { path: string; remove(): Promise<void> };
  const images: Record<string, BuiltImage> = {};
  let n = 0;
  const store = () => join(dir.path, `store-${n++}`);
  const ref = (tag: string) => `${reg.host}/fs/rules:${tag}`;

  before(async () => {
    reg = await startRegistry();
    proxy = await startFaultProxyFor(reg);
    dir = await tempDir('cli-fs');
    const w = new LayoutWriter(join(dir.path, 'layout'));
    for (const compression of ['gzip', 'none', 'zstd'] as const) {
      images[compression] = await randomImage(w, {
        layerEntries: LAYERS,
        compression,
        refName: compression,
      });
    }
    images.waste = await randomImage(w, {
      refName: 'waste',
      layerEntries: [
        [
          { path: 'a', content: 'A'.repeat(100) },
          { path: 'b', content: 'B'.repeat(50) },
          { path: 'keep', content: 'K'.repeat(10) },
        ],
        [{ path: 'a', content: 'a'.repeat(100) }, { path: '.wh.b' }],
      ],
    });
    await w.finish();
    for (const tag of Object.keys(images))
      await pushLayout(join(dir.path, 'layout'), tag, reg, `fs/rules:${tag}`);
  });
  after(async () => {
    await proxy?.close();
    await reg?.stop();
    await dir?.remove();
  });

  it('ls -R --json matches what umoci unpacks, file by file', async () => {
    const rootfs = join(dir.path, 'umoci-rootfs');
    await run('umoci', [
      'raw',
      'unpack',
      '--rootless',
      '--image',
      `${join(dir.path, 'layout')}:gzip`,
      rootfs,
    ]);
    const disk = await walkDisk(rootfs);
    const r = await runCli(['ls', ref('gzip'), '-R', '--json', '--store', store()]);
    assert.equal(r.code, 0, r.stderr);
    const entries = JSON.parse(r.out) as Array<{
      path: string;
      type: string;
      mode: number;
      size: number;
      linkname?: string;
      layer: number;
    }>;
    const cat = async (p: string) =>
      (await runCli(['cat', ref('gzip'), p, '--store', store()])).stdout;
    const ours: Seen[] = [];
    for (const e of entries) {
      if (e.type === 'dir') ours.push({ path: e.path, type: 'dir', mode: e.mode, size: 0 });
      else if (e.type === 'symlink')
        ours.push({ path: e.path, type: 'symlink', mode: 0o777, size: 0, link: e.linkname });
      else {
        // A hardlink is a file on disk with its target's content and mode.
        const content = await cat(e.path);
        const mode =
          e.type === 'hardlink'
            ? entries.find((x) => x.path === `/${e.linkname?.replace(/^\//, '')}`)!.mode
            : e.mode;
        ours.push({ path: e.path, type: 'file', mode, size: content.length, sha: sha256(content) });
      }
    }
    assert.deepEqual(ours, disk);
  });

  it('unpack writes the same tree as umoci, from the registry and from the store', async () => {
    const umociRoot = join(dir.path, 'umoci-rootfs');
    const expected = await walkDisk(umociRoot);
    const fromRegistry = join(dir.path, 'unpacked-registry');
    const r = await runCli(['unpack', ref('gzip'), fromRegistry, '--rootless', '--store', store()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /unpacked 3 layers into /);
    assert.deepEqual(await walkDisk(fromRegistry), expected);
    const s = store();
    const pulled = await runCli(['pull', ref('zstd'), '--store', s]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const fromStore = join(dir.path, 'unpacked-store');
    const u = await runCli(['unpack', ref('zstd'), fromStore, '--rootless', '--store', s]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(await walkDisk(fromStore), expected, 'zstd layers from the store, same tree');
    const again = await runCli(['unpack', ref('gzip'), fromStore, '--store', s]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^ocipeek: .*not empty/);
  });

  it('unpack from the store refuses a stored layer whose bytes were swapped, by its diff_id', async () => {
    // Unpack skips re-hashing stored compressed bytes because the diff_id covers every
    // byte it writes: a blob replaced by another valid gzip layer must still be refused.
    const s = store();
    assert.equal((await runCli(['pull', ref('gzip'), '--store', s])).code, 0);
    const top = images.gzip!.layers.at(-1)!;
    const blobFile = join(s, 'blobs', 'sha256', top.digest.slice(7));
    const impostor = await makeLayer([{ path: 'planted', content: 'not in the image' }]);
    // Another size is refused before a byte is read (the store checks sizes first).
    await writeFile(blobFile, impostor.blob);
    const sized = await runCli(['unpack', ref('gzip'), join(dir.path, 'sized'), '--store', s]);
    assert.notEqual(sized.code, 0);
    assert.match(
      sized.stderr,
      new RegExp(`has ${impostor.blob.length} bytes, its descriptor says ${top.size}`),
    );
    // The same size (a gzip comment pads it) reaches the diff_id check.
    await writeFile(blobFile, padGzip(impostor.blob, top.size));
    const target = join(dir.path, 'unpacked-swapped');
    const r = await runCli(['unpack', ref('gzip'), target, '--rootless', '--store', s]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /layer 2 .*diff_id|diff_id.*layer 2/);
    assert.match(r.stderr, new RegExp(top.diffId.slice(7, 19)));

    // Run again, the interrupted unpack of the same image is named and redone (no --force):
    // still refused while the blob is bad, equal to umoci's tree once it is good.
    const again = await runCli(['unpack', ref('gzip'), target, '--rootless', '--store', s]);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^redoing an interrupted unpack of .*fs\/rules:gzip \(2 of 3 layers applied\) in .*unpacked-swapped: clearing it and unpacking again\n/,
    );
    assert.match(again.stderr, /layer 2 .*diff_id|diff_id.*layer 2/);
    await writeFile(blobFile, top.blob);
    const forced = await runCli(['unpack', ref('gzip'), target, '--rootless', '--store', s]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /^redoing an interrupted unpack of .*\(2 of 3 layers applied\)/);
    assert.deepEqual(await walkDisk(target), await walkDisk(join(dir.path, 'umoci-rootfs')));
    // A finished unpack is not redone by itself: that takes --force.
    const done = await runCli(['unpack', ref('gzip'), target, '--rootless', '--store', s]);
    assert.equal(done.code, 2);
    assert.match(
      done.stderr,
      /^ocipeek: .*unpacked-swapped is not empty: it holds an unpack of .*fs\/rules:gzip; add --force to clear it and unpack again\n$/,
    );
    const redone = await runCli([
      'unpack',
      ref('gzip'),
      target,
      '--rootless',
      '--force',
      '--store',
      s,
    ]);
    assert.equal(redone.code, 0, redone.stderr);
    assert.deepEqual(await walkDisk(target), await walkDisk(join(dir.path, 'umoci-rootfs')));
    // The owners are recorded in the store, nothing is written beside DIR.
    const owners = /owners recorded in (\S+)\)/.exec(forced.stderr)?.[1];
    assert.ok(owners?.startsWith(join(s, '.ocipeek', 'unpacks')), forced.stderr);
    const record = JSON.parse(await readFile(owners!, 'utf8'));
    assert.deepEqual(record.entries['/bin/tool'], { type: 'file', uid: 0, gid: 0, mode: 0o755 });
    assert.ok(!(await readdir(dir.path)).some((n) => n.includes('ownership')));

    // --force clears only what ocipeek unpacked.
    const foreign = join(dir.path, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'keep.txt'), 'mine\n');
    const refused = await runCli(['unpack', ref('gzip'), foreign, '--force', '--store', s]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /records no unpack into it: --force clears only what ocipeek unpacked/,
    );
    assert.deepEqual(await readdir(foreign), ['keep.txt']);

    // prune forgets unpacks whose folder is gone (the failed one into `sized` stays).
    const unpacks = join(s, '.ocipeek', 'unpacks');
    const recorded = async () =>
      Promise.all(
        (await readdir(unpacks))
          .filter((n) => !n.endsWith('.ownership.json'))
          .map(async (n) => JSON.parse(await readFile(join(unpacks, n), 'utf8')).dir as string),
      );
    assert.deepEqual((await recorded()).sort(), [join(dir.path, 'sized'), target].sort());
    await rm(target, { recursive: true });
    assert.equal((await runCli(['prune', '--store', s])).code, 0);
    assert.deepEqual(await recorded(), [join(dir.path, 'sized')]);
    assert.ok(!(await readdir(unpacks)).some((n) => n.endsWith('.ownership.json')));
  });

  it('zstd and uncompressed layers give the same tree as gzip', async () => {
    const listing = async (tag: string) =>
      JSON.parse((await runCli(['ls', ref(tag), '-R', '--json', '--store', store()])).out).map(
        (e: Record<string, unknown>) => [
          e.path,
          e.type,
          e.size,
          e.mode,
          e.linkname ?? null,
          e.layer,
        ],
      );
    const gzip = await listing('gzip');
    assert.deepEqual(await listing('zstd'), gzip);
    assert.deepEqual(await listing('none'), gzip);
  });

  it('applies the layer rules: whiteouts, opaque dirs, re-creation, dir<->file', async () => {
    const s = store();
    const ls = async (p: string) =>
      (await runCli(['ls', ref('zstd'), p, '--store', s])).out.trim().split('\n');
    assert.deepEqual(await ls('/'), [
      'bin',
      'deep',
      'dir2file',
      'etc',
      'file2dir',
      'opq',
      'setuid',
      'top.txt',
    ]);
    assert.deepEqual(await ls('/opq'), ['upper.txt']);
    assert.deepEqual(await ls('/file2dir'), ['inside']);
    const motd = await runCli(['stat', ref('zstd'), '/etc/motd', '--json', '--store', s]);
    assert.equal(JSON.parse(motd.out).layer, 2, 're-created by the top layer');
    const d2f = JSON.parse(
      (await runCli(['stat', ref('zstd'), '/dir2file', '--json', '--store', s])).out,
    );
    assert.deepEqual([d2f.type, d2f.layer], ['file', 1]);
    const gone = await runCli(['stat', ref('zstd'), '/gone/a.txt', '--store', s]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'ocipeek: /gone/a.txt: no such file or directory\n');
    const setuid = JSON.parse(
      (await runCli(['stat', ref('gzip'), '/setuid', '--json', '--store', s])).out,
    );
    assert.equal(setuid.mode, 0o4755);
  });

  it('stat --json prints one entry in the documented shape', async () => {
    const r = await runCli(['stat', ref('gzip'), '/etc/os-release', '--json', '--store', store()]);
    const e = JSON.parse(r.out);
    assert.deepEqual(Object.keys(e).sort(), [
      'gid',
      'layer',
      'mode',
      'mtime',
      'path',
      'size',
      'type',
      'uid',
    ]);
    assert.deepEqual(
      [e.path, e.type, e.size, e.mode, e.layer],
      ['/etc/os-release', 'file', 'ID=fixture\nVERSION=2\n'.length, 0o600, 1],
    );
    const link = JSON.parse(
      (await runCli(['stat', ref('gzip'), '/bin/link1', '--json', '--store', store()])).out,
    );
    assert.deepEqual([link.type, link.linkname], ['symlink', 'link2']);
  });

  it('hardlinks show as the files they name, with link counts, as GNU ls, stat and find see the unpacked tree', async () => {
    const s = store();
    const rootfs = join(dir.path, 'hardlinks-umoci');
    await run('umoci', [
      'raw',
      'unpack',
      '--rootless',
      '--image',
      `${join(dir.path, 'layout')}:gzip`,
      rootfs,
    ]);
    // GNU stat on umoci's tree: type letter and mode, link count, size of each name.
    const gnu = async (p: string) =>
      (await run('stat', ['-c', '%A %h %s', join(rootfs, p)])).stdout.trim();
    const long = await runCli(['ls', '-l', ref('gzip'), '/bin', '--store', s]);
    assert.equal(long.code, 0, long.stderr);
    const cells = new Map(
      long.out
        .trimEnd()
        .split('\n')
        .map((line) => {
          const c = line.split(/\s+/);
          const linked = c.at(-2) === '=>' || c.at(-2) === '->';
          return [linked ? c.at(-3)! : c.at(-1)!, c] as const;
        }),
    );
    for (const name of ['tool', 'hard', 'hard2']) {
      const row = cells.get(name);
      assert.ok(row, `${name} in ${long.out}`);
      const [mode, links, , size] = row;
      assert.equal(`${mode} ${links} ${size}`, await gnu(`bin/${name}`), name);
    }
    assert.match(long.out, /^-rwxr-xr-x +3 +0\/0 +20 .* hard => \/bin\/tool$/m);
    // Directories count 2 plus their subdirectories, as on disk.
    const root = await runCli(['ls', '-l', ref('gzip'), '/', '--store', s]);
    const etcRow = root.out.split('\n').find((l) => l.endsWith(' etc'))!;
    assert.equal(etcRow.split(/\s+/)[1], (await gnu('etc')).split(' ')[1]);

    const stat = await runCli(['stat', ref('gzip'), '/bin/hard', '--store', s]);
    assert.match(stat.out, /^Type: +file \(hardlink to \/bin\/tool\)$/m);
    assert.match(stat.out, /^Size: +20$/m);
    assert.match(stat.out, /^Links: +3$/m);
    assert.match(stat.out, /^Mode: +-rwxr-xr-x \(0755\)$/m);
    const json = JSON.parse(
      (await runCli(['stat', ref('gzip'), '/bin/hard2', '--json', '--store', s])).out,
    );
    assert.deepEqual(
      [json.type, json.contentType, json.size, json.nlink, json.linkname, json.mode, json.layer],
      ['hardlink', 'file', 20, 3, '/bin/tool', 0o755, 2],
    );
    const tool = JSON.parse(
      (await runCli(['stat', ref('gzip'), '/bin/tool', '--json', '--store', s])).out,
    );
    assert.deepEqual([tool.type, tool.nlink, tool.size], ['file', 3, 20]);
    const plain = JSON.parse(
      (await runCli(['stat', ref('gzip'), '/top.txt', '--json', '--store', s])).out,
    );
    assert.equal(plain.nlink, undefined, 'a file with one name carries no nlink');

    // find -type f counts hardlinks as the files they are, exactly as GNU find does.
    const ours = await runCli(['find', ref('gzip'), '/', '--type', 'f', '--store', s]);
    const theirs = await run('find', ['.', '-type', 'f'], { cwd: rootfs });
    assert.deepEqual(
      ours.out.trim().split('\n').sort(),
      theirs.stdout
        .trim()
        .split('\n')
        .map((p) => p.slice(1))
        .sort(),
    );
    const onlyLinks = await runCli(['find', ref('gzip'), '/', '--type', 'h', '--store', s]);
    assert.deepEqual(onlyLinks.out.trim().split('\n'), ['/bin/hard', '/bin/hard2']);
    const found = JSON.parse(
      (await runCli(['find', ref('gzip'), '/bin', '--type', 'f', '--json', '--store', s])).out,
    ) as Array<{ path: string; size: number; nlink?: number }>;
    assert.deepEqual(
      found.map((e) => [e.path, e.size, e.nlink]),
      [
        ['/bin/hard', 20, 3],
        ['/bin/hard2', 20, 3],
        ['/bin/tool', 20, 3],
      ],
    );
  });

  it('cat follows symlink chains, hardlinks and contained escapes', async () => {
    const s = store();
    const cat = async (p: string) => runCli(['cat', ref('gzip'), p, '--store', s]);
    assert.equal((await cat('/bin/link1')).out, '#!/bin/sh\necho tool\n');
    assert.equal((await cat('/bin/hard2')).out, '#!/bin/sh\necho tool\n');
    assert.equal(
      (await cat('/bin/escape')).out,
      'ID=fixture\nVERSION=2\n',
      '.. stops at the image root',
    );
    assert.equal((await cat(`/${long}`)).out, 'long name\n');
    const dirCat = await cat('/etc');
    assert.equal(dirCat.code, 2);
    assert.equal(dirCat.stderr, 'ocipeek: /etc: is a directory\n');
    assert.equal((await cat('/etc/motd')).out, 'recreated\n');
  });

  it('cat of a top-layer file fetches no other layer; a base file stops at the first layer that has it', async () => {
    const img = images.gzip!;
    const blobGets = () =>
      proxy.log.filter(
        (e) =>
          e.method === 'GET' &&
          e.url.includes('/blobs/') &&
          e.url.includes(':') &&
          !e.url.includes(img.configDescriptor.digest),
      );
    proxy.resetLog();
    const top = await runCli([
      'cat',
      `${proxy.host}/fs/rules:gzip`,
      '/top.txt',
      '--store',
      store(),
    ]);
    assert.equal(top.out, 'top layer only\n');
    assert.deepEqual(
      blobGets().map((e) => e.url.split('/').pop()),
      [img.layers[2]!.digest],
    );
    proxy.resetLog();
    const base = await runCli([
      'cat',
      `${proxy.host}/fs/rules:gzip`,
      '/bin/tool',
      '--store',
      store(),
    ]);
    assert.equal(base.out, '#!/bin/sh\necho tool\n');
    assert.deepEqual(
      blobGets().map((e) => e.url.split('/').pop()),
      [img.layers[2]!.digest, img.layers[1]!.digest, img.layers[0]!.digest],
    );
  });

  it('find filters by glob and type', async () => {
    const r = await runCli([
      'find',
      ref('gzip'),
      '/',
      '--name',
      '*.txt',
      '--type',
      'f',
      '--store',
      store(),
    ]);
    assert.deepEqual(r.out.trim().split('\n'), [`/${long}`, '/opq/upper.txt', '/top.txt']);
    const links = await runCli([
      'find',
      ref('gzip'),
      '/bin',
      '--type',
      'l',
      '--json',
      '--store',
      store(),
    ]);
    assert.deepEqual(
      JSON.parse(links.out).map((e: { path: string }) => e.path),
      ['/bin/escape', '/bin/link1', '/bin/link2'],
    );
  });

  it('tree draws the hierarchy with --depth', async () => {
    const r = await runCli(['tree', ref('gzip'), '/opq', '--store', store()]);
    assert.equal(r.out, '/opq\n└── upper.txt\n');
    const shallow = await runCli(['tree', ref('gzip'), '--depth', '1', '--store', store()]);
    assert.ok(shallow.out.includes('├── bin/\n') && !shallow.out.includes('tool'));
  });

  it('layers reports sizes, counts and dive-style efficiency on a hand-computed fixture', async () => {
    const r = await runCli(['layers', ref('waste'), '--json', '--store', store()]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.out);
    const img = images.waste!;
    assert.deepEqual(
      out.layers.map((l: Record<string, number>) => [
        l.compressedSize,
        l.uncompressedSize,
        l.filesAdded,
        l.filesModified,
        l.filesDeleted,
      ]),
      [
        [img.layers[0]!.size, img.layers[0]!.tar.length, 3, 0, 0],
        [img.layers[1]!.size, img.layers[1]!.tar.length, 0, 1, 1],
      ],
    );
    // /a: 100 then 100 (min 100, total 200); /b: 50 then deleted (min 0, total 50); /keep once.
    assert.equal(out.wastedBytes, 250);
    assert.equal(out.efficiency, (100 + 0 + 10) / (200 + 50 + 10));
    assert.equal(out.shadowedBytes, 150);
  });

  it('diff reports added, removed and changed paths with content digests; exit 1 when they differ, 0 when not, 2 on failure', async () => {
    const r = await runCli(['diff', ref('gzip'), ref('waste'), '--json', '--store', store()]);
    assert.equal(r.code, 1, r.stderr);
    const d = JSON.parse(r.out);
    assert.deepEqual(
      d.added.map((e: { path: string }) => e.path),
      ['/a', '/keep'],
    );
    assert.ok(d.removed.some((e: { path: string }) => e.path === '/etc/os-release'));
    const same = await runCli(['diff', ref('gzip'), ref('zstd'), '--json', '--store', store()]);
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(JSON.parse(same.out), { added: [], removed: [], changed: [] });
    // As diff(1): nothing at all on stdout when they are the same.
    const sameText = await runCli(['diff', ref('gzip'), ref('zstd'), '--store', store()]);
    assert.equal(sameText.code, 0, sameText.stderr);
    assert.equal(sameText.out, '');
    const missing = await runCli(['diff', ref('gzip'), ref('no-such-tag'), '--store', store()]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  });

  it('a second listing of the same image reads no layer again (cached index)', async () => {
    const s = store();
    await runCli(['ls', ref('gzip'), '-R', '--store', s]);
    proxy.resetLog();
    const again = await runCli([
      'ls',
      `${proxy.host}/fs/rules:gzip`,
      '-R',
      '--stats',
      '--store',
      s,
    ]);
    assert.equal(again.code, 0);
    const blobs = proxy.log.filter((e) => e.url.includes('/blobs/'));
    assert.equal(blobs.length, 1, 'only the config blob');
  });
});
