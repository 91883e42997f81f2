import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRegistryServer } from '../../src/index.js';
import {
  type BuiltImage,
  inspectRaw,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

describe('ocipeek sync: repositories and images to another registry (skopeo sync)', () => {
  let src: RunningRegistry;
  let dst: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let one: BuiltImage;
  let two: BuiltImage;
  let artifact: string;

  before(async () => {
    [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
    dir = await tempDir('cli-sync');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    one = await randomImage(w, { refName: 'one' });
    two = await randomImage(w, { refName: 'two' });
    await w.finish();
    await pushLayout(layout, 'one', src, 'sync/app:1');
    await pushLayout(layout, 'two', src, 'sync/app:2');
    const file = join(dir.path, 'sig.txt');
    await writeFile(file, 'signed\n');
    const attached = await runCli([
      'artifact',
      'attach',
      `${src.host}/sync/app:1`,
      file,
      '--artifact-type',
      'application/vnd.example.sig',
      '--json',
    ]);
    assert.equal(attached.code, 0, attached.stderr);
    artifact = JSON.parse(attached.out).digest;
  });
  after(async () => {
    await Promise.all([src?.stop(), dst?.stop()]);
    await dir?.remove();
  });

  it('a repository: every tag under the prefix, bytes kept, referrers listed at the destination', async () => {
    const r = await runCli([
      'sync',
      `${src.host}/sync/app`,
      `${dst.host}/mirror`,
      '--include-referrers',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const synced = JSON.parse(r.out) as Array<{ destination: string; referrers: number }>;
    const byDest = Object.fromEntries(synced.map((s) => [s.destination, s.referrers]));
    assert.equal(byDest[`${dst.host}/mirror/app:1`], 1);
    assert.equal(byDest[`${dst.host}/mirror/app:2`], 0);
    assert.deepEqual(await inspectRaw(dst, 'mirror/app:1'), one.manifestBytes);
    assert.deepEqual(await inspectRaw(dst, 'mirror/app:2'), two.manifestBytes);
    const tags = JSON.parse(
      await skopeo(['list-tags', '--tls-verify=false', `docker://${dst.host}/mirror/app`]),
    );
    assert.ok(tags.Tags.includes('1') && tags.Tags.includes('2'), tags.Tags.join(','));
    const listed = JSON.parse(
      (await runCli(['referrers', `${dst.host}/mirror/app:1`, '--json'])).out,
    );
    assert.deepEqual(
      listed.manifests.map((d: { digest: string }) => d.digest),
      [artifact],
    );
    await inspectRaw(dst, `mirror/app@${artifact}`);
  });

  it('one image: only that tag', async () => {
    const r = await runCli(['sync', `${src.host}/sync/app:2`, `${dst.host}/single`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /1 image\(s\) synced/);
    const tags = JSON.parse(
      await skopeo(['list-tags', '--tls-verify=false', `docker://${dst.host}/single/app`]),
    );
    assert.deepEqual(tags.Tags, ['2']);
  });

  it('to oci:DIR: a layout per repository, each tag readable by skopeo, referrers listed there', async () => {
    const root = join(dir.path, 'layouts');
    const r = await runCli([
      'sync',
      `${src.host}/sync/app`,
      `oci:${root}`,
      '--include-referrers',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const synced = JSON.parse(r.out) as Array<{ destination: string; referrers: number }>;
    // The source's referrers tag index (`sha256-…`, the spec's fallback) is a tag as well.
    const tagged = synced.filter((s) => !s.destination.includes(':sha256-'));
    assert.deepEqual(tagged.map((s) => [s.destination, s.referrers]).sort(), [
      [`oci:${join(root, 'app')}:1`, 1],
      [`oci:${join(root, 'app')}:2`, 0],
    ]);
    for (const [tag, image] of [
      ['1', one],
      ['2', two],
    ] as const) {
      const raw = await skopeo(['inspect', '--raw', `oci:${join(root, 'app')}:${tag}`]);
      assert.equal(raw, image.manifestBytes.toString('utf8'));
    }
    // Served as it is (`serve --root DIR`: repository `app`), the layout lists the referrer.
    const server = await startRegistryServer({ roots: root });
    try {
      const listed = await runCli(['referrers', `${server.host}:${server.port}/app:1`, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        JSON.parse(listed.out).manifests.map((d: { digest: string }) => d.digest),
        [artifact],
      );
    } finally {
      await server.close();
    }
  });

  it('a destination with a tag is a usage error', async () => {
    const r = await runCli(['sync', `${src.host}/sync/app`, `${dst.host}/x:1`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /registry prefix/);
  });
});
