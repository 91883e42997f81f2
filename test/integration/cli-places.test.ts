import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  type BuiltIndex,
  LayoutWriter,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/** Two layers: a file replaced, one whited out, one added on top. */
const LAYERS = [
  [
    { path: 'etc/', type: 'dir' as const },
    { path: 'etc/motd', content: 'bottom\n' },
    { path: 'etc/gone', content: 'whited out above\n' },
    { path: 'bin/', type: 'dir' as const },
    { path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
  ],
  [
    { path: 'etc/motd', content: 'top layer wins\n' },
    { path: 'etc/.wh.gone' },
    { path: 'top.txt', content: 'only on top\n' },
  ],
];

/**
 * Every command that reads an image takes every place form, through one parser: the
 * registry (bare and docker://), the store, an OCI layout, an oci-archive and a
 * docker-archive (the archives written by skopeo, a peer).
 */
describe('CLI: every image-reading command accepts every place', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let image: BuiltImage;
  let multi: BuiltIndex;
  let layout: string;
  let store: string;
  const places: Record<string, string> = {};
  /** Where archives are extracted: checked to be empty after each run. */
  let tmp: string;
  const cli = (args: string[]) => runCli([...args, '--store', store], { env: { TMPDIR: tmp } });

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-places');
    layout = join(dir.path, 'layout');
    store = join(dir.path, 'store');
    tmp = join(dir.path, 'tmp');
    await mkdir(tmp);
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layerEntries: LAYERS, refName: 'v1' });
    multi = await multiPlatformIndex(w, { refName: 'multi' });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'places/app:v1');
    await pushLayout(layout, 'multi', reg, 'places/multi:1');
    const ociArchive = join(dir.path, 'app-oci.tar');
    const dockerArchive = join(dir.path, 'app-docker.tar');
    await skopeo(['copy', `oci:${layout}:v1`, `oci-archive:${ociArchive}:v1`]);
    await skopeo([
      'copy',
      `oci:${layout}:v1`,
      `docker-archive:${dockerArchive}:example.com/app:v1`,
    ]);
    const pulled = await runCli(['pull', `${reg.host}/places/app:v1`, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    places.registry = `${reg.host}/places/app:v1`;
    places['docker://'] = `docker://${reg.host}/places/app:v1`;
    places.store = `store:${reg.host}/places/app:v1`;
    places.oci = `oci:${layout}:v1`;
    places['oci-archive'] = `oci-archive:${ociArchive}:v1`;
    places['docker-archive'] = `docker-archive:${dockerArchive}`;
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  /** Run `args` and check it worked and left no extracted archive behind. */
  async function ok(args: string[]): Promise<{ out: string; stdout: Buffer; stderr: string }> {
    const r = await cli(args);
    assert.equal(r.code, 0, `ocipeek ${args.join(' ')}: ${r.stderr}`);
    assert.deepEqual(await readdir(tmp), [], `ocipeek ${args.join(' ')} left temp files`);
    return r;
  }

  it('unpack oci:DIR:TAG OUTDIR works (it failed with "invalid registry port")', async () => {
    const out = join(dir.path, 'unpacked-oci');
    await ok(['unpack', places.oci!, out, '--rootless']);
    assert.equal(await readFile(join(out, 'etc/motd'), 'utf8'), 'top layer wins\n');
    assert.equal(await readFile(join(out, 'top.txt'), 'utf8'), 'only on top\n');
    assert.deepEqual((await readdir(join(out, 'etc'))).sort(), ['motd']);
  });

  it('inspect, config and history read the same image from every place', async () => {
    for (const [kind, place] of Object.entries(places)) {
      const info = JSON.parse((await ok(['inspect', place, '--json'])).out);
      // docker-archive converts layers (uncompressed) but keeps the config byte for byte.
      assert.equal(info.config.digest, image.configDescriptor.digest, kind);
      assert.equal(info.platform, 'linux/amd64', kind);
      assert.equal(info.layers.length, 2, kind);
      if (kind !== 'docker-archive') assert.equal(info.manifestDigest, image.descriptor.digest);
      const config = (await ok(['config', place])).stdout;
      assert.ok(config.equals(image.configBytes), `${kind}: config bytes as stored`);
      const history = JSON.parse((await ok(['history', place, '--json'])).out);
      assert.deepEqual(
        history.map((s: { createdBy: string }) => s.createdBy),
        ['layer 0', 'layer 1'],
        kind,
      );
    }
    const oci = JSON.parse((await ok(['inspect', places.oci!, '--json'])).out);
    assert.equal(oci.name, places.oci, 'a layout is named by its place');
    const bare = JSON.parse((await ok(['inspect', places.registry!, '--json'])).out);
    assert.equal(bare.name, places.registry, 'a registry image by its reference');
  });

  it('digest and manifest agree between the registry, the store and the layout', async () => {
    for (const kind of ['registry', 'docker://', 'store', 'oci', 'oci-archive']) {
      const digest = (await ok(['digest', places[kind]!])).out.trim();
      assert.equal(digest, image.descriptor.digest, kind);
      const manifest = (await ok(['manifest', places[kind]!])).stdout;
      assert.ok(manifest.equals(image.manifestBytes), `${kind}: manifest bytes as stored`);
    }
  });

  it('ls, tree, find, stat and cat show the merged tree from every place', async () => {
    const listings = new Map<string, string>();
    for (const [kind, place] of Object.entries(places)) {
      const ls = await ok(['ls', place, '-R']);
      listings.set(kind, ls.out);
      assert.deepEqual(
        ls.out.trim().split('\n'),
        ['/bin', '/bin/tool', '/etc', '/etc/motd', '/top.txt'],
        kind,
      );
      assert.equal((await ok(['cat', place, '/etc/motd'])).out, 'top layer wins\n', kind);
      assert.equal((await ok(['cat', place, '/bin/tool'])).out, '#!/bin/sh\necho tool\n', kind);
      const stat = JSON.parse((await ok(['stat', place, '/bin/tool', '--json'])).out);
      assert.equal(stat.mode, 0o755, kind);
      assert.equal(stat.layer, 0, kind);
      assert.match((await ok(['find', place, '--name', 'motd'])).out, /^\/etc\/motd$/m, kind);
      assert.match((await ok(['tree', place])).out, /top\.txt/, kind);
    }
    const missing = await cli(['cat', places['oci-archive']!, '/etc/gone']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^ocipeek: .*etc\/gone/);
    assert.deepEqual(await readdir(tmp), [], 'a failed command removes its extraction too');
  });

  it('layers and diff compare images across places', async () => {
    for (const kind of ['oci', 'oci-archive', 'docker-archive', 'store', 'registry']) {
      const layers = JSON.parse((await ok(['layers', places[kind]!, '--json'])).out);
      assert.deepEqual(
        layers.layers.map((l: { filesAdded: number; filesDeleted: number }) => [
          l.filesAdded,
          l.filesDeleted,
        ]),
        [
          [3, 0],
          [1, 1],
        ],
        kind,
      );
    }
    const diff = JSON.parse(
      (await ok(['diff', places.oci!, places['docker-archive']!, '--json'])).out,
    );
    assert.deepEqual(diff, { added: [], removed: [], changed: [] });
  });

  it('unpack writes the same tree from every place', async () => {
    for (const [kind, place] of Object.entries(places)) {
      const out = join(dir.path, `every-${kind.replace(/\W/g, '')}`);
      await ok(['unpack', place, out, '--rootless']);
      assert.equal(await readFile(join(out, 'etc/motd'), 'utf8'), 'top layer wins\n', kind);
      assert.deepEqual((await readdir(out)).sort(), ['bin', 'etc', 'top.txt'], kind);
    }
  });

  it('pull and copy take places too: an archive lands in the store under its recorded name', async () => {
    const r = await ok(['pull', places['docker-archive']!, '--json']);
    assert.equal(JSON.parse(r.out).destination, 'store:example.com/app:v1');
    const stored = JSON.parse((await ok(['inspect', 'store:example.com/app:v1', '--json'])).out);
    assert.equal(stored.config.digest, image.configDescriptor.digest);
    const unnamed = await cli(['pull', places.oci!]);
    assert.equal(unnamed.code, 2, unnamed.stderr);
    assert.match(unnamed.stderr, /records no image name; name it: ocipeek copy oci:/);
    const target = join(dir.path, 'copied');
    await ok(['copy', places['oci-archive']!, `oci:${target}:v1`]);
    assert.equal((await ok(['cat', `oci:${target}:v1`, '/top.txt'])).out, 'only on top\n');
    // Someone else's layout gets the image and nothing of ocipeek's own.
    assert.deepEqual((await readdir(target)).sort(), ['blobs', 'index.json', 'oci-layout']);
    await ok(['copy', places.oci!, `oci:${target}:again`]);
    assert.deepEqual((await readdir(target)).sort(), ['blobs', 'index.json', 'oci-layout']);
    const raw = await skopeo(['inspect', '--raw', `oci:${target}:again`]);
    assert.equal(JSON.parse(raw).config.digest, image.configDescriptor.digest);
    // A store given as oci:DIR keeps its work area.
    const own = join(dir.path, 'own-store');
    const toStore = await runCli(['copy', places.oci!, 'store:example.com/own:1', '--store', own]);
    assert.equal(toStore.code, 0, toStore.stderr);
    await ok(['copy', places.oci!, `oci:${own}:plain`]);
    assert.ok((await readdir(own)).includes('.ocipeek'));
    assert.ok((await readdir(join(own, '.ocipeek'))).includes('version'));
  });

  it('a bare reference reads the store when it holds the image; docker:// asks the registry', async () => {
    // Nothing listens on port 1: only the store can answer for this name.
    const offline = '127.0.0.1:1/nowhere/app:v1';
    await ok(['copy', places.oci!, `store:${offline}`]);
    assert.equal((await ok(['cat', offline, '/top.txt'])).out, 'only on top\n');
    assert.equal((await ok(['digest', offline])).out.trim(), image.descriptor.digest);
    const remote = await cli(['cat', `docker://${offline}`, '/top.txt']);
    assert.notEqual(remote.code, 0, 'docker:// does not read the store');
    assert.match(remote.stderr, /^ocipeek: .*127\.0\.0\.1:1/);
  });

  it('a stored index without the asked platform is read from the registry, store: refuses', async () => {
    const ref = `${reg.host}/places/multi:1`;
    await ok(['pull', ref, '--platform', 'linux/amd64']);
    const arm = multi.images[1]!;
    const info = JSON.parse(
      (await ok(['inspect', ref, '--platform', 'linux/arm64', '--json'])).out,
    );
    assert.equal(info.digest, multi.descriptor.digest);
    assert.equal(info.manifestDigest, arm.descriptor.digest, 'the arm64 image, from the registry');
    const amd = JSON.parse((await ok(['inspect', `store:${ref}`, '--json'])).out);
    assert.equal(amd.manifestDigest, multi.images[0]!.descriptor.digest);
    const stored = await cli(['inspect', `store:${ref}`, '--platform', 'linux/arm64']);
    assert.notEqual(stored.code, 0, 'the store alone lacks arm64');
    assert.match(
      stored.stderr,
      /^ocipeek: no manifest for platform linux\/arm64 \(available: linux\/amd64\): the store holds the platforms pulled; pull .*places\/multi:1 with --platform linux\/arm64 or --all-platforms\n$/,
    );
  });
});
