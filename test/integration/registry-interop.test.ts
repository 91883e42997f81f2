import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ExampleLayoutResult, writeExampleLayout } from '../../src/example/index.js';
import { MediaType } from '../../src/media/index.js';
import {
  type RunningRegistryServer,
  startRegistryServer,
} from '../../src/server/registry/index.js';
import { buildahIn } from '../harness/buildah.js';
import { skopeo, skopeoRaw, tempDir } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// Real clients against `ocipeek serve --storage` on loopback: skopeo, buildah, ocipeek.
describe('ocipeek serve --storage with real clients', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let example: ExampleLayoutResult;
  let exampleDir: string;
  let storeDir: string;
  let server: RunningRegistryServer;
  let host: string;
  const noTls = ['--src-tls-verify=false', '--dest-tls-verify=false'];

  const rawManifest = (ref: string) =>
    skopeoRaw(['inspect', '--raw', '--tls-verify=false', `docker://${host}/${ref}`]);

  before(async () => {
    dir = await tempDir('registry-interop');
    exampleDir = join(dir.path, 'example');
    example = await writeExampleLayout(exampleDir);
    storeDir = join(dir.path, 'store');
    server = await startRegistryServer({ storageDir: storeDir });
    host = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('skopeo pushes a multi-platform OCI image and pulls it back, digests kept', async () => {
    await skopeo([
      'copy',
      '--all',
      ...noTls,
      `oci:${exampleDir}:1.0`,
      `docker://${host}/team/example:1.0`,
    ]);
    assert.equal(sha256(await rawManifest('team/example:1.0')), example.index.digest);
    const out = join(dir.path, 'pulled');
    await skopeo(['copy', '--all', ...noTls, `docker://${host}/team/example:1.0`, `oci:${out}:x`]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, example.index.digest);
    const blobs = new Set(await readdir(join(out, 'blobs', 'sha256')));
    for (const image of example.images) {
      for (const d of [image.manifest, image.config, ...image.layers]) {
        assert.ok(blobs.has(d.digest.slice(7)), `${d.digest} pulled`);
        const bytes = await readFile(join(out, 'blobs', 'sha256', d.digest.slice(7)));
        assert.equal(sha256(bytes), d.digest);
      }
    }
    const tags = JSON.parse(
      await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/team/example`]),
    );
    assert.deepEqual(tags.Tags, ['1.0']);
  });

  it('skopeo pushes Docker schema 2 and copies it between repositories unchanged', async () => {
    await skopeo([
      'copy',
      '--format',
      'v2s2',
      ...noTls,
      `oci:${exampleDir}:1.0-amd64`,
      `docker://${host}/team/docker:1`,
    ]);
    const raw = await rawManifest('team/docker:1');
    assert.equal(JSON.parse(raw.toString()).mediaType, MediaType.dockerManifest);
    await skopeo([
      'copy',
      ...noTls,
      `docker://${host}/team/docker:1`,
      `docker://${host}/other/docker:1`,
    ]);
    assert.equal(sha256(await rawManifest('other/docker:1')), sha256(raw));
    const info = JSON.parse(
      await skopeo(['inspect', '--tls-verify=false', `docker://${host}/other/docker:1`]),
    );
    assert.deepEqual(
      info.Layers,
      example.images[0]!.layers.map((l) => l.digest),
    );
  });

  it("ocipeek's own client pushes (in chunks) and pulls, digests kept", async () => {
    const push = await runCli([
      'copy',
      '--all-platforms',
      '--chunk-size',
      '4096',
      `oci:${exampleDir}:1.0`,
      `docker://${host}/own/example:1.0`,
    ]);
    assert.equal(push.code, 0, push.stderr);
    assert.equal(sha256(await rawManifest('own/example:1.0')), example.index.digest);
    const inspect = await runCli([
      'inspect',
      `${host}/own/example:1.0`,
      '--platform',
      'linux/arm64',
      '--json',
    ]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.out);
    assert.equal(info.digest, example.index.digest);
    assert.deepEqual(
      info.layers.map((l: { digest: string }) => l.digest),
      example.images[1]!.layers.map((l) => l.digest),
    );
    const referrers = await runCli(['referrers', `${host}/own/example:1.0`, '--json']);
    assert.equal(referrers.code, 0, referrers.stderr);
  });

  it('serves an image pulled with ocipeek pull into the store at once, as ocipeek images names it', async () => {
    const source = await startRegistryServer({ roots: exampleDir, name: 'upstream/example' });
    try {
      const ref = `127.0.0.1:${source.port}/upstream/example:1.0`;
      const pull = await runCli(['--store', storeDir, 'pull', ref, '--platform', 'linux/amd64']);
      assert.equal(pull.code, 0, pull.stderr);
      const images = JSON.parse((await runCli(['--store', storeDir, 'images', '--json'])).out);
      const pulled = images.find((i: { reference: string }) => i.reference === ref);
      assert.ok(pulled, JSON.stringify(images));
      const served = `127.0.0.1_${source.port}/upstream/example`;
      assert.equal(sha256(await rawManifest(`${served}:1.0`)), pulled.digest);
      const catalog = (await (await fetch(`${server.url}/v2/_catalog`)).json()) as {
        repositories: string[];
      };
      assert.ok(catalog.repositories.includes(served));
      const layer = example.images[0]!.layers[0]!;
      const blob = await fetch(`${server.url}/v2/${served}/blobs/${layer.digest}`);
      assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), layer.digest);
      // And what is pushed shows in `ocipeek images` under the name it was pushed as.
      assert.ok(images.some((i: { reference: string }) => i.reference === 'team/example:1.0'));
    } finally {
      await source.close();
    }
  });

  it('buildah pulls, builds on and pushes a real image', async () => {
    const root = join(dir.path, 'buildah');
    const buildah = buildahIn(root);
    const from = await buildah('from', '--tls-verify=false', `docker://${host}/team/example:1.0`);
    await writeFile(join(dir.path, 'hello.txt'), 'built by buildah\n');
    await buildah('copy', from, join(dir.path, 'hello.txt'), '/hello.txt');
    await buildah('commit', '--format', 'oci', from, 'localhost/built:1');
    await buildah(
      'push',
      '--tls-verify=false',
      'localhost/built:1',
      `docker://${host}/team/built:1`,
    );
    const manifest = JSON.parse((await rawManifest('team/built:1')).toString());
    assert.equal(manifest.mediaType ?? MediaType.ociManifest, MediaType.ociManifest);
    const base = example.images[0]!;
    const config = JSON.parse(
      Buffer.from(
        await (
          await fetch(`${server.url}/v2/team/built/blobs/${manifest.config.digest}`)
        ).arrayBuffer(),
      ).toString(),
    );
    const baseConfig = JSON.parse(
      await readFile(join(exampleDir, 'blobs', 'sha256', base.config.digest.slice(7)), 'utf8'),
    );
    // The base layers' content is kept (diff ids), one layer added on top.
    assert.deepEqual(config.rootfs.diff_ids.slice(0, -1), baseConfig.rootfs.diff_ids);
    assert.equal(config.rootfs.diff_ids.length, baseConfig.rootfs.diff_ids.length + 1);
    const cat = await runCli(['cat', `${host}/team/built:1`, '/hello.txt']);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.out, 'built by buildah\n');
    // buildah pulls what it pushed.
    const again = await buildah('pull', '--tls-verify=false', `docker://${host}/team/built:1`);
    assert.match(again, /[0-9a-f]{64}/);
  });

  it('ocipeek serve gc removes what a deleted manifest left, and nothing else', async () => {
    const raw = await rawManifest('other/docker:1');
    const digest = sha256(raw);
    const del = await fetch(`${server.url}/v2/other/docker/manifests/${digest}`, {
      method: 'DELETE',
    });
    assert.equal(del.status, 202);
    await fetch(`${server.url}/v2/team/docker/manifests/1`, { method: 'DELETE' });
    const gc = await runCli(['serve', 'gc', '--storage', storeDir, '--grace', '0', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    const result = JSON.parse(gc.out);
    assert.ok(result.blobsRemoved >= 1, gc.out);
    const left = await readdir(join(storeDir, 'blobs', 'sha256'));
    assert.ok(!left.includes(digest.slice(7)), 'the Docker manifest blob is gone');
    const gone = await fetch(`${server.url}/v2/team/docker/manifests/${digest}`, {
      method: 'HEAD',
    });
    assert.equal(gone.status, 404);
    // Everything still tagged pulls whole.
    const out = join(dir.path, 'after-gc');
    await skopeo(['copy', '--all', ...noTls, `docker://${host}/team/example:1.0`, `oci:${out}:x`]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, example.index.digest);
    const check = await runCli(['cat', `${host}/team/built:1`, '/hello.txt']);
    assert.equal(check.out, 'built by buildah\n');
  });
});
