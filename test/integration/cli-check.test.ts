import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type BuiltImage,
  LayoutWriter,
  makeLayer,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  SkopeoError,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);

describe('ocipeek check: every blob of an image or of the store', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let layout: string;
  let image: BuiltImage;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-check');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 2, layerSize: 50_000, refName: 'v1' });
    await multiPlatformIndex(w, { refName: 'multi', attestation: true });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'check/app:v1');
    await pushLayout(layout, 'multi', reg, 'check/multi:1');
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  /** A copy of the layout to damage. */
  async function copyLayout(name: string): Promise<string> {
    const copy = join(dir.path, name);
    await run('cp', ['-r', layout, copy]);
    return copy;
  }
  const blobPath = (root: string, digest: string) => join(root, 'blobs/sha256', digest.slice(7));

  it('a sound image passes from the registry and the layout; every blob is read', async () => {
    for (const place of [`${reg.host}/check/app:v1`, `oci:${layout}:v1`]) {
      const r = await runCli(['check', place, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.out);
      assert.deepEqual(result.problems, []);
      assert.equal(result.manifests, 1);
      assert.equal(result.blobs, 3);
      const bytes = image.configDescriptor.size + image.layers.reduce((n, l) => n + l.size, 0);
      assert.equal(result.bytes, bytes);
    }
  });

  it('--all-platforms reads every manifest of an index (attestations too)', async () => {
    const one = JSON.parse((await runCli(['check', `${reg.host}/check/multi:1`, '--json'])).out);
    const all = JSON.parse(
      (await runCli(['check', `${reg.host}/check/multi:1`, '--all-platforms', '--json'])).out,
    );
    assert.equal(one.manifests, 2, 'the index and the host platform');
    assert.ok(all.manifests > one.manifests + 1, `${all.manifests} manifests`);
    assert.deepEqual(all.problems, []);
  });

  it('a corrupt, a missing and a lying layer are each named, exit 1', async () => {
    const bad = await copyLayout('bad');
    const [first, second] = image.layers;
    const corrupt = await readFile(blobPath(bad, first!.digest));
    corrupt[100] = corrupt[100]! ^ 0xff;
    await writeFile(blobPath(bad, first!.digest), corrupt);
    await rm(blobPath(bad, second!.digest));
    // skopeo, a peer, refuses the same layout.
    await assert.rejects(
      skopeo(['copy', `oci:${bad}:v1`, `oci:${join(dir.path, 'skopeo-out')}:v1`]),
      SkopeoError,
    );
    const r = await runCli(['check', `oci:${bad}:v1`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.out, new RegExp(`corrupt: layer ${first!.digest}: .*digest`));
    assert.match(r.out, new RegExp(`missing: layer ${second!.digest}`));
    assert.match(r.out, /: 2 problem\(s\)/);
  });

  it('a layer whose content is not the config diff_id is a diff-id problem', async () => {
    const w = new LayoutWriter(join(dir.path, 'lying'));
    const real = await makeLayer([{ path: 'a.txt', content: 'real\n' }]);
    const img = await randomImage(w, { layerEntries: [[{ path: 'a.txt', content: 'claimed\n' }]] });
    // Swap in another layer's bytes under a manifest that names them, config unchanged.
    await w.writeBlob(real.blob);
    const manifest = {
      ...img.manifest,
      layers: [{ ...img.manifest.layers[0]!, digest: real.digest, size: real.size }],
    };
    const written = await w.writeManifest(manifest as unknown as Record<string, unknown>, {});
    const { platform: _p, ...top } = written.descriptor;
    w.addToIndex(top, 'v1');
    await w.finish();
    const r = await runCli(['check', `oci:${join(dir.path, 'lying')}:v1`, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const { problems } = JSON.parse(r.out);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].kind, 'diff-id');
    assert.equal(problems[0].digest, real.digest);
    assert.match(
      problems[0].message,
      new RegExp(`hash to ${real.diffId}, the config says ${img.layers[0]!.diffId}`),
    );
    const skip = await runCli(['check', `oci:${join(dir.path, 'lying')}:v1`, '--no-diff-ids']);
    assert.equal(skip.code, 0, skip.out);
  });

  it('check with no image checks the store; a damaged blob there is found', async () => {
    const store = join(dir.path, 'store');
    const pulled = await runCli(['pull', `${reg.host}/check/app:v1`, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const ok = await runCli(['check', '--store', store]);
    assert.equal(ok.code, 0, ok.out + ok.stderr);
    assert.match(ok.out, /: ok$/m);
    const blob = blobPath(store, image.layers[1]!.digest);
    const bytes = await readFile(blob);
    bytes[10] = bytes[10]! ^ 1;
    await writeFile(blob, bytes);
    const r = await runCli(['check', '--store', store]);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`digest-mismatch: blob ${image.layers[1]!.digest} hashes to`));
    const img = await runCli(['check', `store:${reg.host}/check/app:v1`, '--store', store]);
    assert.equal(img.code, 1);
    assert.match(img.out, /corrupt: layer/);
  });
});
