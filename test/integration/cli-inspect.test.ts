import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  type BuiltIndex,
  digestOf,
  jsonBytes,
  LayoutWriter,
  multiPlatformIndex,
  pushLayout,
  putManifest,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
  uploadBlob,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('inspection commands against the real registry (anonymous)', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let app: BuiltImage;
  let multi: BuiltIndex;
  let dockerList: BuiltIndex;
  let sha512Image: BuiltImage;
  let ref: (repoTag: string) => string;
  const extraTags = ['t1', 't2', 't3', 't4', 't5', 't6', 't7'];

  before(async () => {
    reg = await startRegistry();
    ref = (repoTag) => `${reg.host}/${repoTag}`;
    dir = await tempDir('cli-inspect');
    const w = new LayoutWriter(dir.path);
    app = await randomImage(w, {
      layers: 2,
      refName: 'app',
      labels: { 'org.example.team': 'platform' },
      env: ['PATH=/usr/bin', 'MODE=test'],
      entrypoint: ['/bin/app'],
      cmd: ['--serve'],
      annotations: { 'org.opencontainers.image.source': 'https://example.invalid/app' },
      history: [
        { created: '2024-01-01T00:00:00Z', created_by: 'ADD layer0 /' },
        { created: '2024-01-01T00:01:00Z', created_by: 'ENV MODE=test', empty_layer: true },
        { created: '2024-01-01T00:02:00Z', created_by: 'COPY layer1 /' },
      ],
    });
    multi = await multiPlatformIndex(w, { attestation: true, refName: 'multi' });
    dockerList = await multiPlatformIndex(w, { mediaTypes: 'docker', refName: 'dockerlist' });
    sha512Image = await randomImage(w, { layers: 1, layerAlgorithm: 'sha512', refName: 'sha512' });
    await w.finish();
    await pushLayout(dir.path, 'app', reg, 'team/app:v1');
    await pushLayout(dir.path, 'multi', reg, 'team/multi:1');
    await pushLayout(dir.path, 'dockerlist', reg, 'team/dockerlist:1');
    await pushLayout(dir.path, 'sha512', reg, 'team/sha512:1');
    for (const tag of extraTags) {
      await putManifest(reg, 'team/app', tag, app.manifestBytes, app.descriptor.mediaType);
    }
  });

  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('digest equals skopeo inspect for an image, an index and a Docker list', async () => {
    for (const r of ['team/app:v1', 'team/multi:1', 'team/dockerlist:1']) {
      const ours = await runCli(['digest', ref(r)]);
      assert.equal(ours.code, 0, ours.stderr);
      const theirs = await skopeo([
        'inspect',
        '--tls-verify=false',
        '--no-creds',
        '--format',
        '{{.Digest}}',
        `docker://${ref(r)}`,
      ]);
      assert.equal(ours.out.trim(), theirs.trim(), r);
    }
    assert.equal(
      (await runCli(['digest', ref('team/multi:1')])).out.trim(),
      multi.descriptor.digest,
    );
  });

  it('digest --platform picks the child manifest', async () => {
    const arm = await runCli(['digest', ref('team/multi:1'), '--platform', 'linux/aarch64']);
    assert.equal(arm.out.trim(), multi.images[1]!.descriptor.digest);
    const armv7 = await runCli(['--platform', 'linux/arm', 'digest', ref('team/multi:1')]);
    assert.equal(armv7.out.trim(), multi.images[2]!.descriptor.digest);
  });

  it('manifest prints the exact bytes, whose sha256 is the digest', async () => {
    const r = await runCli(['manifest', ref('team/multi:1')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, multi.indexBytes);
    assert.equal(sha256(r.stdout), multi.descriptor.digest);
    const child = await runCli(['manifest', ref('team/multi:1'), '--platform', 'linux/arm64']);
    assert.deepEqual(child.stdout, multi.images[1]!.manifestBytes);
    const raw = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--no-creds',
      `docker://${ref('team/app:v1')}`,
    ]);
    assert.equal((await runCli(['manifest', ref('team/app:v1')])).out, raw);
  });

  it('inspect --json matches skopeo inspect and the fixture', async () => {
    const r = await runCli(['inspect', ref('team/app:v1'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.out);
    const sk = JSON.parse(
      await skopeo([
        'inspect',
        '--tls-verify=false',
        '--no-creds',
        `docker://${ref('team/app:v1')}`,
      ]),
    );
    assert.equal(info.name, ref('team/app:v1'));
    assert.equal(info.digest, sk.Digest);
    assert.deepEqual(
      info.layers.map((l: { digest: string }) => l.digest),
      sk.Layers,
    );
    assert.deepEqual(
      info.layers.map((l: { size: number; mediaType: string }) => [l.size, l.mediaType]),
      app.layers.map((l) => [l.size, l.mediaType]),
    );
    assert.deepEqual(info.labels, sk.Labels);
    assert.deepEqual(info.env, sk.Env);
    assert.equal(info.platform, `${sk.Os}/${sk.Architecture}`);
    assert.equal(info.created, app.config.created);
    assert.deepEqual(info.entrypoint, ['/bin/app']);
    assert.deepEqual(info.cmd, ['--serve']);
    assert.equal(info.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(
      info.annotations['org.opencontainers.image.source'],
      'https://example.invalid/app',
    );
  });

  it('inspect of an index lists its platforms and never picks the attestation', async () => {
    const r = await runCli([
      'inspect',
      ref('team/multi:1'),
      '--json',
      '--platform',
      'linux/arm64/v8',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.out);
    assert.equal(info.digest, multi.descriptor.digest);
    assert.equal(info.manifestDigest, multi.images[1]!.descriptor.digest);
    assert.equal(info.platform, 'linux/arm64/v8');
    assert.deepEqual(
      info.platforms.map((p: { digest: string }) => p.digest),
      multi.index.manifests.map((d) => d.digest),
    );
    assert.equal(
      info.platforms.filter((p: { attestation: boolean }) => p.attestation).length,
      multi.attestations.length,
    );
    const none = await runCli(['inspect', ref('team/multi:1'), '--platform', 'unknown/unknown']);
    assert.notEqual(none.code, 0);
    assert.match(
      none.stderr,
      /^ocipeek: no manifest for platform unknown\/unknown \(available: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7\)\n$/,
    );
  });

  it('inspect reads a Docker manifest list and schema2 manifest', async () => {
    const r = await runCli([
      'inspect',
      ref('team/dockerlist:1'),
      '--json',
      '--platform',
      'linux/amd64',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.out);
    assert.equal(info.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.equal(info.manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(info.manifestDigest, dockerList.images[0]!.descriptor.digest);
  });

  it('config prints the verified config bytes; history pairs steps with layers', async () => {
    const c = await runCli(['config', ref('team/app:v1')]);
    assert.deepEqual(c.stdout, app.configBytes);
    const h = await runCli(['history', ref('team/app:v1'), '--json']);
    const steps = JSON.parse(h.out);
    assert.deepEqual(
      steps.map(
        (s: {
          createdBy: string;
          emptyLayer: boolean;
          layerDigest: string | null;
          size: number;
        }) => [s.createdBy, s.emptyLayer, s.layerDigest, s.size],
      ),
      [
        ['ADD layer0 /', false, app.layers[0]!.digest, app.layers[0]!.size],
        ['ENV MODE=test', true, null, 0],
        ['COPY layer1 /', false, app.layers[1]!.digest, app.layers[1]!.size],
      ],
    );
    const text = await runCli(['history', ref('team/app:v1')]);
    assert.match(text.out, /\(empty\)\s+0 B\s+ENV MODE=test/);
  });

  it('tags equals skopeo list-tags; --limit and --last hold even though distribution 2.8 ignores n and last', async () => {
    const sk = JSON.parse(
      await skopeo([
        'list-tags',
        '--tls-verify=false',
        '--no-creds',
        `docker://${ref('team/app')}`,
      ]),
    );
    const all = await runCli(['tags', ref('team/app'), '--page-size', '2', '--json']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(JSON.parse(all.out).tags, sk.Tags);
    assert.equal(sk.Tags.length, extraTags.length + 1);
    const limited = await runCli(['tags', ref('team/app'), '--limit', '3', '--page-size', '2']);
    assert.deepEqual(limited.out.trim().split('\n'), sk.Tags.slice(0, 3));
    const after = await runCli(['tags', ref('team/app'), '--last', 't5']);
    assert.deepEqual(after.out.trim().split('\n'), sk.Tags.slice(sk.Tags.indexOf('t5') + 1));
  });

  it('catalog lists every repository across pages', async () => {
    const r = await runCli(['catalog', reg.host, '--page-size', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.out).repositories, [
      'team/app',
      'team/dockerlist',
      'team/multi',
      'team/sha512',
    ]);
  });

  it('blob writes verified bytes, sha256 and sha512 alike', async () => {
    const out = join(dir.path, 'layer.bin');
    const layer = app.layers[0]!;
    const r = await runCli(['blob', ref('team/app:v1'), layer.digest, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readFile(out), layer.blob);
    const l512 = sha512Image.layers[0]!;
    assert.ok(l512.digest.startsWith('sha512:'));
    const s = await runCli(['blob', ref('team/sha512'), l512.digest]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(s.stdout, l512.blob);
    const i = await runCli(['inspect', ref('team/sha512:1'), '--json']);
    assert.equal(JSON.parse(i.out).layers[0].digest, l512.digest);
  });

  it('referrers falls back to the sha256-<hex> tag on distribution 2.8', async () => {
    const empty = Buffer.from('{}');
    await uploadBlob(reg, 'team/app', empty, digestOf(empty));
    const artifact = jsonBytes({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sbom+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: 2 },
      layers: [
        { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: 2 },
      ],
      subject: {
        mediaType: app.descriptor.mediaType,
        digest: app.descriptor.digest,
        size: app.descriptor.size,
      },
    });
    const artifactDigest = digestOf(artifact);
    await putManifest(
      reg,
      'team/app',
      artifactDigest,
      artifact,
      'application/vnd.oci.image.manifest.v1+json',
    );
    const fallback = jsonBytes({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: artifactDigest,
          size: artifact.length,
          artifactType: 'application/vnd.example.sbom+json',
        },
      ],
    });
    const tag = app.descriptor.digest.replace(':', '-');
    await putManifest(reg, 'team/app', tag, fallback, 'application/vnd.oci.image.index.v1+json');
    const r = await runCli(['referrers', ref('team/app:v1'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.out);
    assert.equal(out.source, 'tag');
    assert.deepEqual(
      out.manifests.map((d: { digest: string }) => d.digest),
      [artifactDigest],
    );
    const filtered = await runCli([
      'referrers',
      ref('team/app:v1'),
      '--artifact-type',
      'application/other',
      '--json',
    ]);
    assert.deepEqual(JSON.parse(filtered.out).manifests, []);
    const none = await runCli([
      'referrers',
      `${ref('team/multi')}@${multi.descriptor.digest}`,
      '--json',
    ]);
    assert.deepEqual(JSON.parse(none.out).manifests, []);
  });

  it('errors are one line on stderr with a non-zero exit code', async () => {
    const unknownTag = await runCli(['inspect', ref('team/app:nope')]);
    assert.equal(unknownTag.code, 1);
    assert.match(unknownTag.stderr, /^ocipeek: manifest unknown: .*team\/app:nope.*\n$/);
    const unknownRepo = await runCli(['tags', ref('team/none')]);
    assert.equal(unknownRepo.code, 1);
    assert.match(unknownRepo.stderr, /^ocipeek: name unknown: /);
    const badRef = await runCli(['inspect', 'team/UPPER']);
    assert.equal(badRef.code, 2);
    assert.equal(
      badRef.stderr,
      'ocipeek: invalid reference "team/UPPER": repository name must be lowercase ("UPPER")\n',
    );
    const badDigest = await runCli(['blob', ref('team/app'), 'sha256:1234']);
    assert.notEqual(badDigest.code, 0);
    assert.match(
      badDigest.stderr,
      /^ocipeek: invalid digest "sha256:1234": sha256 needs 64 lowercase hex digits\n$/,
    );
    const unreachable = await runCli(['digest', '127.0.0.1:1/x:y']);
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      /^ocipeek: cannot reach 127\.0\.0\.1:1: connection refused\n$/,
    );
    const missingBlob = await runCli([
      'blob',
      ref('team/app'),
      `sha256:${'0'.repeat(64)}`,
      '-o',
      join(dir.path, 'missing'),
    ]);
    assert.equal(missingBlob.code, 1);
    assert.match(missingBlob.stderr, /^ocipeek: blob unknown: /);
  });

  it('--stats prints exactly one summary line; global options go before or after the command', async () => {
    const r = await runCli(['--stats', 'digest', ref('team/app:v1')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    const m = /^stats: requests=(\d+) bytesFetched=(\d+) seconds=\d+(\.\d+)?$/.exec(lines[0]!);
    assert.ok(m, lines[0]);
    assert.equal(Number(m[1]), 1);
    assert.equal(Number(m[2]), app.manifestBytes.length);
    const after = await runCli(['digest', ref('team/app:v1'), '--stats']);
    assert.match(after.stderr, /^stats: requests=1 /);
  });

  it('--version and help for every command', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal((await runCli(['--version'])).out.trim(), pkg.version);
    for (const cmd of [
      'inspect',
      'manifest',
      'config',
      'history',
      'digest',
      'tags',
      'catalog',
      'referrers',
      'blob',
      'login',
      'logout',
      'serve',
    ]) {
      const h = await runCli(['help', cmd]);
      assert.equal(h.code, 0, cmd);
      assert.match(h.out, new RegExp(`Usage: ocipeek ${cmd}`));
      const h2 = await runCli([cmd, '--help']);
      assert.equal(h2.out, h.out);
    }
  });
});
