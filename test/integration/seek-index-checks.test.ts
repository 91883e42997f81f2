import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publishReferrer } from '../../src/artifact/index.js';
import { copyImage } from '../../src/copy/index.js';
import { digestOf } from '../../src/digest/index.js';
import {
  buildSeekIndex,
  encodeLayerSeekIndex,
  SEEK_INDEX_ARTIFACT_TYPE,
  writeSeekIndex,
} from '../../src/lazy/index.js';
import { openDestination, openPlaceImage, openSource } from '../../src/places/index.js';
import { parseReference } from '../../src/ref/index.js';
import { tempDir } from '../harness/index.js';
import { type LazyFixture, startLazyFixture } from './lazy-fixture.js';
import { BIG, layerBlobs, storeCli } from './seek-index-setup.js';

describe('seek index: diff through it, -o, and indexes that lie', () => {
  let fixture: LazyFixture;
  let work: { path: string; remove(): Promise<void> };

  before(async () => {
    fixture = await startLazyFixture(BIG);
    work = await tempDir('seek-index-checks');
  });
  after(async () => {
    await fixture?.close();
    await work?.remove();
  });

  const cli = (args: string[], store: string) => storeCli(work.path)(args, store);

  it('diff through the index: the same output as reading the layers, only undecided files read', async () => {
    const reg = fixture.reg.host;
    const dst = await openDestination(`${reg}/lazy/d:v1`, { client: fixture.client });
    await copyImage(await openSource(`${reg}/lazy/src:v1`, { client: fixture.client }), dst, {});
    // The new layer: /top.txt rewritten at the same size (only its content tells), a
    // config grown, a new file; the base layer (with the 20 MiB file) is shared.
    const folder = join(work.path, 'diff-layer');
    await mkdir(join(folder, 'etc'), { recursive: true });
    await writeFile(join(folder, 'top.txt'), 'TOP LAYER\n');
    await writeFile(join(folder, 'etc', 'middle.conf'), 'in the middle, and longer\n');
    await writeFile(join(folder, 'new.txt'), 'new\n');
    const appended = await cli(
      ['append', `${reg}/lazy/d:v1`, '-f', folder, '-t', `${reg}/lazy/d:v2`],
      'diff-build',
    );
    assert.equal(appended.code, 0, appended.stderr);
    for (const tag of ['v1', 'v2']) {
      const r = await cli(['index', `${reg}/lazy/d:${tag}`, '--push'], 'diff-build');
      assert.equal(r.code, 0, r.stderr);
    }
    const [v1, v2] = ['v1', 'v2'].map((t) => `${fixture.proxy.host}/lazy/d:${t}`);
    const plain = await cli(['diff', v1!, v2!, '--no-index'], 'diff-plain');
    assert.equal(plain.code, 1, plain.stderr);
    const lines = plain.out.trim().split('\n');
    assert.ok(lines.includes('+ /new.txt'), plain.out);
    assert.ok(
      lines.some((l) => /^~ \/top\.txt \(.*content.*\)$/.test(l)),
      plain.out,
    );
    assert.ok(
      lines.some((l) => /^~ \/etc\/middle\.conf \(.*size.*\)$/.test(l)),
      plain.out,
    );
    const image = await openPlaceImage(v2!, { client: fixture.client });
    const layers = image.layers.map((l) => l.descriptor.digest);
    const layerBytes = image.layers.reduce((n, l) => n + l.descriptor.size, 0);
    await image.close();
    fixture.proxy.resetLog();
    const lazy = await cli(['diff', v1!, v2!, '--verbose'], 'diff-lazy');
    assert.equal(lazy.code, 1, lazy.stderr);
    assert.equal(lazy.out, plain.out, 'the same diff as reading the layers');
    assert.match(lazy.stderr, /source: seek index/);
    const reads = layerBlobs(fixture.proxy, layers);
    assert.ok(reads.length > 0, 'the same-size /top.txt was read on both sides');
    assert.ok(
      reads.every((r) => r.range && r.status === 206),
      'ranges only',
    );
    const bytes = reads.reduce((n, r) => n + r.bytesSent, 0);
    assert.ok(bytes < layerBytes / 20, `${bytes} of ${layerBytes} layer bytes`);
    // JSON too, and the same images compared with themselves differ in nothing.
    const plainJson = await cli(['diff', v1!, v2!, '--json', '--no-index'], 'diff-plain');
    const lazyJson = await cli(['diff', v1!, v2!, '--json'], 'diff-lazy');
    assert.deepEqual(JSON.parse(lazyJson.out), JSON.parse(plainJson.out));
    const same = await cli(['diff', v2!, v2!], 'diff-lazy');
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.out.trim(), '');
  });

  it('-o oci:DIR writes the artifact with the image manifest as subject', async () => {
    const out = join(work.path, 'index-layout');
    const r = await cli(['index', `${fixture.reg.host}/lazy/src:v1`, '-o', `oci:${out}`], 'o');
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    const [hex] = [index.manifests[0].digest.slice(7)];
    const manifest = JSON.parse(await readFile(join(out, 'blobs', 'sha256', hex), 'utf8'));
    assert.equal(manifest.artifactType, SEEK_INDEX_ARTIFACT_TYPE);
    const image = await openPlaceImage(`${fixture.reg.host}/lazy/src:v1`, {
      client: fixture.client,
    });
    assert.equal(manifest.subject.digest, image.manifestDigest);
    assert.equal(manifest.layers.length, 2 * image.layers.length, 'a table and records a layer');
    await image.close();
  });

  it('a lying index (wrong checkpoint offsets) fails cat with one clear line and no bytes', async () => {
    const src = `${fixture.reg.host}/lazy/src:v1`;
    const dst = await openDestination(`${fixture.reg.host}/lazy/lie:v1`, {
      client: fixture.client,
    });
    await copyImage(await openSource(src, { client: fixture.client }), dst, {});
    const image = await openPlaceImage(`${fixture.reg.host}/lazy/lie:v1`, {
      client: fixture.client,
    });
    const built = await buildSeekIndex(image, { span: 1024 * 1024 });
    // Every checkpoint of the layer with the big file is placed one byte late (the big
    // file is random, so its blocks are stored and a wrong window would change nothing).
    const target = built.blobs.find((b) => b.index.entries.some((e) => e.path === 'zz/end.txt'))!;
    for (const cp of target.index.checkpoints.slice(1)) cp.bit += 8;
    await publishEdited(
      built,
      target,
      image.manifestDigest,
      `${fixture.reg.host}/lazy/lie`,
      fixture.client,
    );
    await image.close();
    const r = await cli(['cat', `${fixture.reg.host}/lazy/lie:v1`, '/zz/end.txt'], 'lie');
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout.length, 0, 'no byte was written');
    // zlib refuses the stream entered a byte late, or inflates it to other bytes than the
    // piece digests say (which depends on the bytes): a clear line either way.
    assert.match(r.stderr, /seek index does not match the layer|the seek index says sha256:/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    const plain = await cli(
      ['cat', `${fixture.reg.host}/lazy/lie:v1`, '/zz/end.txt', '--no-index'],
      'lie',
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.out, 'at the end\n');
  });

  it('the limit: a table forged consistently is believed; rebuilding the index tells', async () => {
    const repo = `${fixture.reg.host}/lazy/forged`;
    const dst = await openDestination(`${repo}:v1`, { client: fixture.client });
    await copyImage(
      await openSource(`${fixture.reg.host}/lazy/src:v1`, { client: fixture.client }),
      dst,
      {},
    );
    const image = await openPlaceImage(`${repo}:v1`, { client: fixture.client });
    const built = await buildSeekIndex(image);
    const honest = built.blobs.map((b) => b.descriptor.digest);
    // Someone who may push to the repository renames a file in a table and publishes
    // the index again: table, records and manifest agree with each other.
    const target = built.blobs.find((b) => b.index.entries.some((e) => e.path === 'top.txt'))!;
    target.index.entries.find((e) => e.path === 'top.txt')!.path = 'forged.txt';
    const forged = await publishEdited(built, target, image.manifestDigest, repo, fixture.client);
    await image.close();
    // Believed: the listing comes from the table alone (README, "Seek indexes").
    const lazy = await cli(['ls', `${repo}:v1`, '/'], 'forged');
    assert.equal(lazy.code, 0, lazy.stderr);
    assert.match(lazy.out, /forged\.txt/);
    const plain = await cli(['ls', `${repo}:v1`, '/', '--no-index'], 'forged');
    assert.doesNotMatch(plain.out, /forged\.txt/);
    assert.match(plain.out, /top\.txt/);
    // Told: the build is deterministic, so the same index built again from the layers has
    // other table digests than the published one.
    const out = join(work.path, 'forged-check');
    const again = await cli(['index', `${repo}:v1`, '-o', `oci:${out}`, '--json'], 'forged');
    assert.equal(again.code, 0, again.stderr);
    const rebuilt = (JSON.parse(again.out) as { layers: Array<{ digest: string }> }).layers;
    const published = forged.blobs.map((b) => b.descriptor.digest);
    assert.deepEqual(
      rebuilt.map((l) => l.digest),
      honest,
      'the same tables as the first honest build',
    );
    assert.deepEqual(
      rebuilt.map((l) => l.digest).filter((d) => !published.includes(d)),
      [honest[built.blobs.indexOf(target)]],
      'exactly the forged table differs',
    );
  });
});

type BuiltIndex = Awaited<ReturnType<typeof buildSeekIndex>>;

/**
 * Publish `built` as the index of `subject` in `repo` after the table of `target` (one of
 * its blobs) was edited: the table encoded again and the artifact manifest over it.
 */
async function publishEdited(
  built: BuiltIndex,
  target: BuiltIndex['blobs'][number],
  subject: string,
  repo: string,
  client: Parameters<typeof publishReferrer>[0],
): Promise<BuiltIndex> {
  target.bytes = encodeLayerSeekIndex(target.index);
  target.descriptor = {
    ...target.descriptor,
    digest: digestOf(target.bytes),
    size: target.bytes.length,
  };
  const edited = await buildLyingManifest(built, subject);
  const ref = parseReference(`${repo}@${edited.digest}`);
  await writeSeekIndex(await openDestination(ref.toString(), { client }), edited);
  await publishReferrer(client, parseReference(repo), subject, edited.descriptor);
  return edited;
}

/** The artifact manifest again, over blobs that were changed after building. */
async function buildLyingManifest(
  built: Awaited<ReturnType<typeof buildSeekIndex>>,
  subject: string,
): Promise<Awaited<ReturnType<typeof buildSeekIndex>>> {
  const { buildArtifactManifest } = await import('../../src/artifact/artifact-manifest.js');
  const manifest = JSON.parse(built.manifest.toString());
  const rebuilt = buildArtifactManifest({
    artifactType: SEEK_INDEX_ARTIFACT_TYPE,
    layers: built.blobs.flatMap((b) => [b.descriptor, b.records.descriptor]),
    subject: { ...manifest.subject, digest: subject },
  });
  return {
    ...built,
    manifest: rebuilt.bytes,
    digest: rebuilt.digest,
    descriptor: { ...built.descriptor, digest: rebuilt.digest, size: rebuilt.bytes.length },
  };
}
