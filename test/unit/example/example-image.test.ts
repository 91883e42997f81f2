import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import {
  EXAMPLE_TAGS,
  type ExampleLayoutResult,
  writeExampleLayout,
} from '../../../src/example/index.js';
import { OciLayout } from '../../../src/layout/index.js';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../../src/media/index.js';

interface TarEntry {
  name: string;
  type: string;
  linkname: string | null | undefined;
  mode: number;
  mtime: number;
  body: string;
}

async function listTar(tar: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const ex = extract();
  ex.end(tar);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    out.push({
      name: h.name,
      type: h.type,
      linkname: h.linkname,
      mode: h.mode,
      mtime: h.mtime.getTime(),
      body: Buffer.concat(chunks).toString(),
    });
  }
  return out;
}

async function treeBytes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(
      path.slice(dir.length),
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return out;
}

describe('writeExampleLayout', () => {
  let tmp: string;
  let first: ExampleLayoutResult;
  let layout: OciLayout;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ocipeek-example-'));
    first = await writeExampleLayout(join(tmp, 'a', 'example'));
    layout = await OciLayout.open(join(tmp, 'a', 'example'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('is byte-for-byte deterministic', async () => {
    const second = await writeExampleLayout(join(tmp, 'b', 'example'));
    assert.deepEqual(second, first);
    const a = await treeBytes(join(tmp, 'a', 'example'));
    const b = await treeBytes(join(tmp, 'b', 'example'));
    assert.ok(a.size >= 17, `expected many files, got ${a.size}`);
    assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort());
    // Writing again over an existing layout changes nothing either.
    await writeExampleLayout(join(tmp, 'a', 'example'));
    assert.deepEqual(await treeBytes(join(tmp, 'a', 'example')), a);
  });

  it('tags the index and the single-platform images (ref.name = bare tag)', async () => {
    assert.deepEqual(first.refs, [...EXAMPLE_TAGS].sort());
    const refs = await layout.refs();
    const byName = new Map(refs.map((r) => [r.name, r.descriptor.digest]));
    assert.equal(byName.get('1.0'), first.index.digest);
    assert.equal(byName.get('latest'), first.index.digest);
    assert.equal(byName.get('edge'), first.index.digest);
    assert.equal(byName.get('1.0-amd64'), first.images[0]?.manifest.digest);
    assert.equal(byName.get('1.0-arm64'), first.images[1]?.manifest.digest);
  });

  it('has an index with amd64, arm64/v8 and an unknown/unknown attestation', async () => {
    const index = JSON.parse((await layout.readBlob(first.index.digest)).toString()) as ImageIndex;
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m) => m.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux', variant: 'v8' },
        { architecture: 'unknown', os: 'unknown' },
      ],
    );
    const att = index.manifests[2];
    assert.equal(att?.annotations?.['vnd.docker.reference.type'], 'attestation-manifest');
    assert.equal(
      att?.annotations?.['vnd.docker.reference.digest'],
      first.images[0]?.manifest.digest,
    );
  });

  it('builds images whose configs match their layers', async () => {
    for (const image of first.images) {
      const manifest = JSON.parse(
        (await layout.readBlob(image.manifest.digest)).toString(),
      ) as ImageManifest;
      assert.equal(manifest.layers.length, 3);
      assert.ok(manifest.annotations?.['org.opencontainers.image.created']);
      const config = JSON.parse(
        (await layout.readBlob(manifest.config.digest)).toString(),
      ) as ImageConfig;
      assert.equal(config.architecture, image.platform.architecture);
      assert.equal(config.created, '2024-05-01T12:10:00Z');
      assert.deepEqual(config.config?.Entrypoint, ['/usr/bin/hello']);
      assert.deepEqual(config.config?.Cmd, ['world']);
      assert.ok(config.config?.Env?.includes('HELLO_GREETING=Hello'));
      const history = config.history ?? [];
      assert.equal(history.filter((h) => !h.empty_layer).length, manifest.layers.length);
      assert.equal(history.filter((h) => h.empty_layer).length, 2);
      for (const [i, layer] of manifest.layers.entries()) {
        assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
        const tar = gunzipSync(await layout.readBlob(layer.digest));
        const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
        assert.equal(config.rootfs.diff_ids[i], diffId);
      }
    }
    // The app and top layers are shared between the platforms; the base is not.
    const [amd, arm] = first.images;
    assert.notEqual(amd?.layers[0]?.digest, arm?.layers[0]?.digest);
    assert.equal(amd?.layers[1]?.digest, arm?.layers[1]?.digest);
    assert.equal(amd?.layers[2]?.digest, arm?.layers[2]?.digest);
  });

  it('has layers with links, whiteouts and an opaque directory', async () => {
    const layers = first.images[1]?.layers ?? [];
    const [base, app, top] = await Promise.all(
      layers.map(async (l) => listTar(gunzipSync(await layout.readBlob(l.digest)))),
    );
    assert.ok(base && app && top);
    const find = (entries: TarEntry[], name: string) => entries.find((e) => e.name === name);
    assert.match(
      find(base, 'etc/os-release')?.body ?? '',
      /PRETTY_NAME="Ocipeek Example Linux 1.0 \(arm64\)"/,
    );
    assert.equal(find(base, 'etc/hostname')?.body, 'example\n');
    assert.equal(find(base, 'usr/lib/arch')?.body, 'aarch64\n');
    assert.deepEqual(
      [find(base, 'usr/lib/os-release')?.type, find(base, 'usr/lib/os-release')?.linkname],
      ['link', 'etc/os-release'],
    );
    assert.equal(find(base, 'tmp/')?.mode, 0o1777);
    const hello = find(app, 'usr/bin/hello');
    assert.equal(hello?.mode, 0o755);
    assert.match(hello?.body ?? '', /^#!\/bin\/sh\n/);
    assert.deepEqual(
      [find(app, 'usr/bin/hi')?.type, find(app, 'usr/bin/hi')?.linkname],
      ['symlink', 'hello'],
    );
    assert.equal(find(app, 'usr/share/doc/hello/README.md')?.type, 'link');
    assert.ok(find(top, 'etc/.wh.motd'));
    assert.ok(find(top, 'var/cache/example/.wh..wh..opq'));
    assert.equal(find(top, 'var/cache/example/fresh.txt')?.body, 'rebuilt cache\n');
    for (const e of [...base, ...app, ...top]) {
      assert.ok(
        [
          Date.UTC(2024, 4, 1, 12, 0),
          Date.UTC(2024, 4, 1, 12, 5),
          Date.UTC(2024, 4, 1, 12, 10),
        ].includes(e.mtime),
      );
    }
  });

  it('carries OCI 1.1 referrers for the amd64 image and the index', async () => {
    const [sbom, signature] = first.referrers;
    const s = JSON.parse((await layout.readBlob(sbom?.digest ?? '')).toString()) as ImageManifest;
    assert.equal(s.artifactType, 'application/spdx+json');
    assert.equal(s.subject?.digest, first.images[0]?.manifest.digest);
    assert.equal(s.config.mediaType, 'application/vnd.oci.empty.v1+json');
    const g = JSON.parse(
      (await layout.readBlob(signature?.digest ?? '')).toString(),
    ) as ImageManifest;
    assert.equal(g.subject?.digest, first.index.digest);
  });
});
