import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type LayerEntry,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { type RootfsEntry, snapshotRootfs } from '../harness/rootfs-snapshot.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);

/** Layers that exercise the merge rules export-fs must apply, bottom first. */
const LAYERS: LayerEntry[][] = [
  [
    { path: 'etc/', type: 'dir' },
    { path: 'etc/motd', content: 'hello\n' },
    { path: 'etc/os-release', content: 'ID=fixture\n' },
    { path: 'opq/', type: 'dir', mode: 0o750 },
    { path: 'opq/lower.txt', content: 'lower\n' },
    { path: 'gone/', type: 'dir' },
    { path: 'gone/a.txt', content: 'a\n' },
    { path: 'dir2file/', type: 'dir' },
    { path: 'dir2file/x', content: 'x\n' },
    { path: 'bin/', type: 'dir' },
    { path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
    { path: 'bin/link', type: 'symlink', linkname: '/bin/tool' },
    { path: 'bin/hard', type: 'hardlink', linkname: 'bin/tool' },
    { path: 'data/', type: 'dir' },
    { path: 'data/orig', content: 'shared content\n' },
    { path: 'data/alias', type: 'hardlink', linkname: 'data/orig' },
    { path: 'empty', content: '' },
    { path: `long/${'d'.repeat(110)}/${'n'.repeat(120)}.txt`, content: 'long name\n' },
    { path: 'setuid', content: 'su\n', mode: 0o4755 },
  ],
  [
    { path: 'etc/.wh.motd' },
    { path: '.wh.gone' },
    { path: 'opq/.wh..wh..opq' },
    { path: 'opq/upper.txt', content: 'upper\n' },
    { path: 'dir2file', content: 'now a file\n' },
    { path: 'etc/os-release', content: 'ID=fixture\nVERSION=2\n', mode: 0o600 },
    // The link's original target goes; the alias keeps the content.
    { path: 'data/.wh.orig' },
    { path: 'big.bin', content: Buffer.alloc(300_000, 7) },
  ],
  [
    { path: 'etc/motd', content: 'recreated\n' },
    { path: 'bin/hard2', type: 'hardlink', linkname: 'bin/tool' },
  ],
];

/** A tree on disk as the layer-rules tests compare them (hardlinks as shared inodes), root aside. */
function tree(root: string): Map<string, RootfsEntry> {
  const snapshot = snapshotRootfs(root);
  snapshot.delete('/');
  return snapshot;
}

describe('ocipeek export-fs: the merged filesystem as one tar', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let layout: string;
  let umociTree: Map<string, RootfsEntry>;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-export-fs');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, { layerEntries: LAYERS, refName: 'v1' });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'export/fs:v1');
    const rootfs = join(dir.path, 'umoci');
    await run('sh', [
      '-c',
      'umask 022 && exec umoci raw unpack --rootless --image "$0" "$1"',
      `${layout}:v1`,
      rootfs,
    ]);
    umociTree = tree(rootfs);
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  /** Extract `tarFile` with GNU tar into a new folder and return that folder. */
  async function gnuExtract(tarFile: string, name: string): Promise<string> {
    const out = join(dir.path, name);
    await mkdir(out);
    await run('tar', ['-xpf', tarFile, '--no-same-owner', '-C', out]);
    return out;
  }

  it('GNU tar extracts exactly the tree umoci unpacks from the same layers', async () => {
    const file = join(dir.path, 'fs.tar');
    const r = await runCli(['export-fs', `${reg.host}/export/fs:v1`, '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    const root = await gnuExtract(file, 'gnu');
    assert.deepEqual(tree(root), umociTree);
    // Each path once, no whiteouts, hardlinks as links to the first path of their content.
    const { stdout: listing } = await run('tar', ['-tvf', file]);
    const names = listing
      .trim()
      .split('\n')
      .map((l) => l.replace(/^.*? \d\d:\d\d /, ''));
    const paths = names.map((n) => n.replace(/ link to .*$/, '').replace(/ -> .*$/, ''));
    assert.equal(new Set(paths).size, paths.length, 'no path twice');
    assert.ok(!paths.some((p) => p.includes('.wh.')), 'no whiteouts');
    assert.ok(
      names.includes('bin/tool link to bin/hard') || names.includes('bin/hard link to bin/tool'),
    );
    const tool = await lstat(join(root, 'bin/tool'));
    assert.equal((await lstat(join(root, 'bin/hard'))).ino, tool.ino);
    assert.equal((await lstat(join(root, 'bin/hard2'))).ino, tool.ino);
    assert.equal(tool.nlink, 3);
    assert.equal(await readFile(join(root, 'data/alias'), 'utf8'), 'shared content\n');
  });

  it('writes the same bytes to stdout, from the registry and from an OCI layout', async () => {
    const fromFile = await readFile(join(dir.path, 'fs.tar'));
    const piped = await runCli(['export-fs', `${reg.host}/export/fs:v1`]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(piped.stdout.equals(fromFile), 'stdout holds the same tar');
    const fromLayout = await runCli(['export-fs', `oci:${layout}:v1`, '-o', '-']);
    assert.equal(fromLayout.code, 0, fromLayout.stderr);
    assert.ok(fromLayout.stdout.equals(fromFile), 'the layout gives the same tar');
  });

  it('a corrupt layer fails the export and leaves no file', async () => {
    const bad = join(dir.path, 'bad-layout');
    await run('cp', ['-r', layout, bad]);
    const index = JSON.parse(await readFile(join(bad, 'index.json'), 'utf8'));
    const manifest = JSON.parse(
      await readFile(join(bad, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    // The top layer: flip its last byte (the gzip trailer), same size.
    const blob = join(bad, 'blobs/sha256', manifest.layers[2].digest.slice(7));
    const bytes = await readFile(blob);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(blob, bytes);
    const out = join(dir.path, 'bad.tar');
    const r = await runCli(['export-fs', `oci:${bad}:v1`, '-o', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ocipeek: .*(digest|gzip|crc|check)/i);
    await assert.rejects(lstat(out), { code: 'ENOENT' });
    assert.deepEqual(
      (await readdir(dir.path)).filter((n) => n.startsWith('bad.tar')),
      [],
      'no temp file left beside it',
    );
  });
});
