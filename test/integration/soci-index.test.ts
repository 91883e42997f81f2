import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_SOCI_SPAN,
  parseZtoc,
  readZtocRange,
  SOCI_INDEX_ARTIFACT_TYPE,
} from '../../src/lazy/index.js';
import { registryFetch, tempDir } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { type LazyFixture, startLazyFixture } from './lazy-fixture.js';

/*
 * `ocipeek index REF --format soci` end to end against docker-registry: the SOCI index
 * pushed as the image's referrer (the referrers tag: the registry has no referrers API),
 * its manifest as soci writes it, and its zTOC read by range from the registry by this
 * project's zTOC reader.
 */

/** Above soci's default min-layer-size (10 MiB), so the big layer gets a zTOC. */
const BIG = 12 * 1024 * 1024;
const REPO = 'lazy/src';
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ocipeek index --format soci', () => {
  let fixture: LazyFixture;
  let work: { path: string; remove(): Promise<void> };
  let ref: string;
  let pushed: {
    digest: string;
    referrers: string;
    layers: Array<{ layer: string; ztoc: string; size: number; spans: number; entries: number }>;
    skipped: Array<{ layer: string; reason: string }>;
  };

  const cli = (args: string[], store: string) =>
    runCli([...args, '--store', join(work.path, store)], { timeoutMs: 300_000 });
  const blob = async (digest: string, range?: [number, number]) => {
    const headers: Record<string, string> = range
      ? { range: `bytes=${range[0]}-${range[1] - 1}` }
      : {};
    const res = await registryFetch(fixture.reg, `/v2/${REPO}/blobs/${digest}`, { headers });
    assert.equal(res.status, range ? 206 : 200);
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    fixture = await startLazyFixture(BIG);
    work = await tempDir('soci-index');
    ref = `${fixture.reg.host}/${REPO}:v1`;
    const built = await cli(['index', ref, '--format', 'soci', '--push', '--json'], 'push');
    assert.equal(built.code, 0, built.stderr);
    pushed = JSON.parse(built.out);
  });
  after(async () => {
    await fixture?.close();
    await work?.remove();
  });

  it('pushes a zTOC for the big layer only, listed as the image referrer', async () => {
    const [big, small] = fixture.original.layers.map((l) => l.descriptor);
    assert.equal(pushed.referrers, 'tag');
    assert.deepEqual(
      pushed.layers.map((l) => l.layer),
      [big!.digest],
    );
    assert.deepEqual(pushed.skipped, [
      { layer: small!.digest, reason: `size ${small!.size} is less than min-layer-size 10485760` },
    ]);
    assert.equal(pushed.layers[0]!.spans, Math.ceil(BIG / DEFAULT_SOCI_SPAN));
    const listed = await cli(['referrers', ref, '--json'], 'list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.out).manifests.map((d: { artifactType: string; digest: string }) => [
        d.artifactType,
        d.digest,
      ]),
      [[SOCI_INDEX_ARTIFACT_TYPE, pushed.digest]],
    );
  });

  it('writes the index manifest as soci does: config type, annotations, subject, no artifactType', async () => {
    const res = await registryFetch(fixture.reg, `/v2/${REPO}/manifests/${pushed.digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), pushed.digest);
    const manifest = JSON.parse(bytes.toString());
    const big = fixture.original.layers[0]!.descriptor;
    const subject = await registryFetch(fixture.reg, `/v2/${REPO}/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const subjectBytes = Buffer.from(await subject.arrayBuffer());
    assert.deepEqual(Object.keys(manifest), [
      'schemaVersion',
      'mediaType',
      'config',
      'layers',
      'subject',
      'annotations',
    ]);
    assert.deepEqual(manifest, {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: SOCI_INDEX_ARTIFACT_TYPE,
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      },
      layers: [
        {
          mediaType: 'application/octet-stream',
          digest: pushed.layers[0]!.ztoc,
          size: pushed.layers[0]!.size,
          annotations: {
            'com.amazon.soci.image-layer-digest': big.digest,
            'com.amazon.soci.image-layer-mediaType': big.mediaType,
            'com.amazon.soci.span-size': String(DEFAULT_SOCI_SPAN),
          },
        },
      ],
      subject: {
        mediaType: subject.headers.get('content-type'),
        digest: sha256(subjectBytes),
        size: subjectBytes.length,
      },
      annotations: {
        'com.amazon.soci.build-tool-identifier':
          manifest.annotations['com.amazon.soci.build-tool-identifier'],
      },
    });
    assert.match(manifest.annotations['com.amazon.soci.build-tool-identifier'], /^ocipeek v\d/);
  });

  it('reads a file by its spans, one range request on the registry layer', async () => {
    const ztoc = await blob(pushed.layers[0]!.ztoc);
    assert.equal(sha256(ztoc), pushed.layers[0]!.ztoc);
    const big = fixture.original.layers[0]!.descriptor;
    const z = parseZtoc(ztoc, 'layer 0');
    assert.equal(z.fields.compressedArchiveSize, big.size);
    assert.equal(z.files.length, pushed.layers[0]!.entries);
    const entry = z.files.find((f) => Buffer.from(f.name).toString() === 'data/big.bin')!;
    let requests = 0;
    const got = await readZtocRange(
      z,
      entry.uncompressedOffset,
      entry.uncompressedSize,
      (start, end) => {
        requests++;
        return blob(big.digest, [start, end]);
      },
      'layer 0',
    );
    assert.equal(requests, 1);
    assert.ok(got.equals(fixture.big));
  });

  it('writes the same index to oci:DIR, and every layer with --min-layer-size 1', async () => {
    const dir = join(work.path, 'out');
    const written = await cli(
      ['index', ref, '--format', 'soci', '-o', `oci:${dir}`, '--json'],
      'out',
    );
    assert.equal(written.code, 0, written.stderr);
    assert.equal(JSON.parse(written.out).digest, pushed.digest, 'the build is deterministic');
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    assert.deepEqual(
      index.manifests.map((d: { digest: string }) => d.digest),
      [pushed.digest],
    );
    const all = await cli(
      ['index', ref, '--format', 'soci', '--min-layer-size', '1', '-o', `oci:${dir}-all`, '--json'],
      'all',
    );
    assert.equal(all.code, 0, all.stderr);
    const report = JSON.parse(all.out);
    assert.equal(report.layers.length, 2);
    assert.deepEqual(report.skipped, []);
  });

  it('reports both formats in one shape: the same keys, each naming its format', async () => {
    const soci = await cli(
      ['index', ref, '--format', 'soci', '-o', `oci:${work.path}/s`, '--json'],
      'shape',
    );
    const own = await cli(['index', ref, '-o', `oci:${work.path}/o`, '--json'], 'shape');
    assert.equal(soci.code, 0, soci.stderr);
    assert.equal(own.code, 0, own.stderr);
    const [sociReport, ownReport] = [JSON.parse(soci.out), JSON.parse(own.out)];
    assert.equal(sociReport.format, 'soci');
    assert.equal(ownReport.format, 'ocipeek');
    const { skipped, ...sociRest } = sociReport;
    assert.ok(Array.isArray(skipped));
    assert.deepEqual(Object.keys(ownReport), Object.keys(sociRest));
    assert.deepEqual(Object.keys(ownReport.layers[0]), [
      'layer',
      'digest',
      'size',
      'records',
      'checkpoints',
      'entries',
    ]);
  });

  it('keeps ocipeek listing the image as before, and says one line for a wrong flag', async () => {
    const ls = await cli(['ls', ref, '/data'], 'ls');
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.out, /big\.bin/);
    const bad = await cli(
      ['index', ref, '--format', 'soci', '--compressed-span', '1MiB', '-o', `oci:${work.path}/x`],
      'bad',
    );
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /--compressed-span does not apply to --format soci/);
  });
});
