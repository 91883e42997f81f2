import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  inspectRaw,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  SkopeoError,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/** skopeo's view of `ref` in `reg`: its manifest bytes, or undefined when it is gone. */
async function manifestOf(reg: RunningRegistry, ref: string): Promise<Buffer | undefined> {
  try {
    return await inspectRaw(reg, ref);
  } catch (err) {
    if (err instanceof SkopeoError && /manifest unknown|not found/i.test(err.stderr))
      return undefined;
    throw err;
  }
}

describe('ocipeek delete against the real registry, checked by skopeo', () => {
  let reg: RunningRegistry;
  let locked: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let layout: string;
  let image: BuiltImage;
  let other: BuiltImage;

  before(async () => {
    [reg, locked] = await Promise.all([startRegistry({ deleteEnabled: true }), startRegistry()]);
    dir = await tempDir('cli-delete');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { refName: 'v1' });
    other = await randomImage(w, { refName: 'other' });
    await w.finish();
  });
  after(async () => {
    await Promise.all([reg?.stop(), locked?.stop()]);
    await dir?.remove();
  });

  it('REPO:TAG deletes the manifest it names, with every tag naming it (as skopeo delete)', async () => {
    await pushLayout(layout, 'v1', reg, 'del/app:a');
    await pushLayout(layout, 'v1', reg, 'del/app:b');
    await pushLayout(layout, 'other', reg, 'del/app:keep');
    const r = await runCli(['delete', `${reg.host}/del/app:a`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out.trim(), `deleted ${reg.host}/del/app@${image.descriptor.digest}`);
    assert.equal(await manifestOf(reg, 'del/app:a'), undefined);
    assert.equal(await manifestOf(reg, 'del/app:b'), undefined);
    assert.equal(await manifestOf(reg, `del/app@${image.descriptor.digest}`), undefined);
    assert.deepEqual(await manifestOf(reg, 'del/app:keep'), other.manifestBytes);
  });

  it('REPO@DIGEST deletes that manifest; deleting it again is a clear not-found', async () => {
    await pushLayout(layout, 'v1', reg, 'del/digest:a');
    const ref = `${reg.host}/del/digest@${image.descriptor.digest}`;
    const r = await runCli(['delete', ref, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.out).digest, image.descriptor.digest);
    assert.equal(await manifestOf(reg, 'del/digest:a'), undefined);
    const again = await runCli(['delete', ref]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^ocipeek: .*manifest unknown.*\n$/);
  });

  it('--tag-only removes one tag; the manifest and its other tags stay', async () => {
    await pushLayout(layout, 'v1', reg, 'del/tags:a');
    await pushLayout(layout, 'v1', reg, 'del/tags:b');
    const r = await runCli(['delete', '--tag-only', `${reg.host}/del/tags:a`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    // distribution 2.8 deletes by digest only: the placeholder way was taken.
    assert.equal(JSON.parse(r.out).method, 'placeholder');
    assert.equal(await manifestOf(reg, 'del/tags:a'), undefined);
    assert.deepEqual(await manifestOf(reg, 'del/tags:b'), image.manifestBytes);
    const tags = JSON.parse(
      await skopeo(['list-tags', '--tls-verify=false', `docker://${reg.host}/del/tags`]),
    );
    assert.deepEqual(tags.Tags, ['b']);
  });

  it('a registry with deletes disabled: one clear line, and --tag-only leaves the tag where it was', async () => {
    await pushLayout(layout, 'v1', locked, 'del/locked:a');
    const r = await runCli(['delete', `${locked.host}/del/locked:a`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ocipeek: .*refuses to delete.*\n$/);
    const t = await runCli(['delete', '--tag-only', `${locked.host}/del/locked:a`]);
    assert.equal(t.code, 1);
    assert.match(t.stderr, /refuses to delete/);
    assert.deepEqual(await manifestOf(locked, 'del/locked:a'), image.manifestBytes);
  });

  it('store:REF removes the name from the store; skopeo no longer finds it there', async () => {
    const store = join(dir.path, 'store');
    await pushLayout(layout, 'v1', reg, 'del/stored:1');
    const ref = `${reg.host}/del/stored:1`;
    const pulled = await runCli(['pull', ref, '--store', store]);
    assert.equal(pulled.code, 0, pulled.stderr);
    await skopeo(['inspect', '--raw', `oci:${store}:${ref}`]);
    const r = await runCli(['delete', `store:${ref}`, '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /deleted .*del\/stored:1 from the store/);
    await assert.rejects(skopeo(['inspect', '--raw', `oci:${store}:${ref}`]), SkopeoError);
    // The registry still has it: only the store's name went.
    assert.deepEqual(await manifestOf(reg, 'del/stored:1'), image.manifestBytes);
    const again = await runCli(['delete', `store:${ref}`, '--store', store]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not in the store/);
  });

  it('places that cannot be deleted from, and --tag-only with a digest, are usage errors', async () => {
    const r = await runCli(['delete', `oci:${layout}:v1`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /registry references and store:REF/);
    const d = await runCli(['delete', '--tag-only', `${reg.host}/x/y@${image.descriptor.digest}`]);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /--tag-only needs REPO:TAG/);
  });
});
