import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  type RunningRegistryServer,
  startRegistryServer,
} from '../../src/server/registry/index.js';
import {
  type BuiltImage,
  inspectRaw,
  type LayerEntry,
  LayoutWriter,
  makeLayer,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  skopeoRaw,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);

const EMPTY = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

/** The `subject` an artifact about `image` carries: its descriptor cut to three fields. */
const subjectOf = (image: BuiltImage) => ({
  mediaType: image.descriptor.mediaType,
  digest: image.descriptor.digest,
  size: image.descriptor.size,
});

describe('ocipeek artifact push|attach|pull (OCI 1.1 artifacts, referrers)', () => {
  let reg: RunningRegistry;
  let server: RunningRegistryServer;
  let serverHost: string;
  let dir: { path: string; remove(): Promise<void> };
  let layout: string;
  let image: BuiltImage;
  let sbom: string;
  let notes: string;
  const SBOM = Buffer.from('{"spdxVersion":"SPDX-2.3"}\n');

  before(async () => {
    dir = await tempDir('cli-artifact');
    reg = await startRegistry();
    server = await startRegistryServer({ storageDir: join(dir.path, 'served-store') });
    serverHost = `127.0.0.1:${server.port}`;
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { refName: 'v1' });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'art/app:v1');
    await skopeo([
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${serverHost}/art/app:v1`,
    ]);
    sbom = join(dir.path, 'sbom.json');
    notes = join(dir.path, 'notes.txt');
    await writeFile(sbom, SBOM);
    await writeFile(notes, 'release notes\n');
  });
  after(async () => {
    await server?.close();
    await reg?.stop();
    await dir?.remove();
  });

  it('attach on distribution 2.8: the manifest skopeo reads, listed through the referrers tag', async () => {
    const r = await runCli([
      'artifact',
      'attach',
      `${reg.host}/art/app:v1`,
      `${sbom}:application/spdx+json`,
      '--artifact-type',
      'application/vnd.example.sbom',
      '--annotation',
      'org.example.tool=ocipeek',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pushed = JSON.parse(r.out);
    assert.equal(pushed.referrers, 'tag');
    assert.equal(pushed.subject, image.descriptor.digest);
    const raw = JSON.parse((await inspectRaw(reg, `art/app@${pushed.digest}`)).toString());
    assert.equal(raw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(raw.artifactType, 'application/vnd.example.sbom');
    assert.deepEqual(raw.config, EMPTY);
    assert.deepEqual(raw.subject, subjectOf(image));
    assert.equal(raw.layers.length, 1);
    assert.equal(raw.layers[0].mediaType, 'application/spdx+json');
    assert.equal(raw.layers[0].size, SBOM.length);
    assert.equal(raw.layers[0].annotations['org.opencontainers.image.title'], 'sbom.json');
    assert.equal(raw.annotations['org.example.tool'], 'ocipeek');
    const listed = await runCli(['referrers', `${reg.host}/art/app:v1`, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const referrers = JSON.parse(listed.out);
    assert.equal(referrers.source, 'tag');
    assert.deepEqual(
      referrers.manifests.map((d: { digest: string; artifactType: string }) => [
        d.digest,
        d.artifactType,
      ]),
      [[pushed.digest, 'application/vnd.example.sbom']],
    );
    // Attaching a second artifact keeps the first in the list.
    const second = await runCli([
      'artifact',
      'attach',
      `${reg.host}/art/app:v1`,
      notes,
      '--artifact-type',
      'application/vnd.example.notes',
    ]);
    assert.equal(second.code, 0, second.stderr);
    const again = JSON.parse((await runCli(['referrers', `${reg.host}/art/app:v1`, '--json'])).out);
    assert.equal(again.manifests.length, 2);
  });

  it("attach on a registry with the referrers API: found through the registry's own API", async () => {
    const r = await runCli([
      'artifact',
      'attach',
      `${serverHost}/art/app:v1`,
      sbom,
      '--artifact-type',
      'application/vnd.example.sbom',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pushed = JSON.parse(r.out);
    assert.equal(pushed.referrers, 'api');
    const res = await fetch(`http://${serverHost}/v2/art/app/referrers/${image.descriptor.digest}`);
    assert.equal(res.status, 200);
    const index = (await res.json()) as {
      manifests: Array<{ digest: string; artifactType: string }>;
    };
    assert.deepEqual(
      index.manifests.map((d) => [d.digest, d.artifactType]),
      [[pushed.digest, 'application/vnd.example.sbom']],
    );
    const listed = JSON.parse(
      (await runCli(['referrers', `${serverHost}/art/app:v1`, '--json'])).out,
    );
    assert.equal(listed.source, 'api');
    assert.equal(listed.manifests[0].digest, pushed.digest);
  });

  it('push by tag, then pull writes the files; existing files are refused unless --overwrite', async () => {
    const r = await runCli([
      'artifact',
      'push',
      `${reg.host}/art/files:1`,
      sbom,
      notes,
      '--artifact-type',
      'application/vnd.example.files',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const raw = JSON.parse((await inspectRaw(reg, 'art/files:1')).toString());
    assert.deepEqual(
      raw.layers.map((l: { mediaType: string; annotations: Record<string, string> }) => [
        l.mediaType,
        l.annotations['org.opencontainers.image.title'],
      ]),
      [
        ['application/octet-stream', 'sbom.json'],
        ['application/octet-stream', 'notes.txt'],
      ],
    );
    assert.equal(raw.subject, undefined);
    const out = join(dir.path, 'pulled');
    const p = await runCli(['artifact', 'pull', `${reg.host}/art/files:1`, '-o', out]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await readFile(join(out, 'sbom.json')), SBOM);
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'release notes\n');
    await writeFile(join(out, 'notes.txt'), 'changed\n');
    const refused = await runCli(['artifact', 'pull', `${reg.host}/art/files:1`, '-o', out]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pulled\/sbom\.json exists \(--overwrite replaces it\)/);
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'changed\n');
    const forced = await runCli([
      'artifact',
      'pull',
      `${reg.host}/art/files:1`,
      '-o',
      out,
      '--overwrite',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'release notes\n');
  });

  it('push to an OCI layout; skopeo reads it, pull reads it back', async () => {
    const target = join(dir.path, 'art-layout');
    const r = await runCli([
      'artifact',
      'push',
      `oci:${target}:notes`,
      notes,
      '--artifact-type',
      'application/vnd.example.notes',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const raw = JSON.parse(
      (await skopeoRaw(['inspect', '--raw', `oci:${target}:notes`])).toString(),
    );
    assert.equal(raw.artifactType, 'application/vnd.example.notes');
    const out = join(dir.path, 'from-layout');
    const p = await runCli(['artifact', 'pull', `oci:${target}:notes`, '-o', out, '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.out).files[0].name, 'notes.txt');
    assert.equal(await readFile(join(out, 'notes.txt'), 'utf8'), 'release notes\n');
  });

  it('referrers in an OCI layout: attach to oci:DIR:TAG, listed by subject, --artifact-type filters', async () => {
    const target = join(dir.path, 'attach-layout');
    await skopeo(['copy', `oci:${layout}:v1`, `oci:${target}:v1`]);
    const attach = async (file: string, type: string) => {
      const r = await runCli([
        'artifact',
        'attach',
        `oci:${target}:v1`,
        file,
        '--artifact-type',
        type,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.out) as { digest: string; subject: string };
    };
    const sbomArt = await attach(sbom, 'application/vnd.example.sbom');
    const notesArt = await attach(notes, 'application/vnd.example.notes');
    assert.equal(sbomArt.subject, image.descriptor.digest);
    // skopeo still reads the image by its tag; the artifact is an unnamed entry.
    const raw = JSON.parse((await skopeoRaw(['inspect', '--raw', `oci:${target}:v1`])).toString());
    assert.equal(raw.config.digest, image.configDescriptor.digest);
    const index = JSON.parse(await readFile(join(target, 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 3);

    const listed = await runCli(['referrers', `oci:${target}:v1`, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const all = JSON.parse(listed.out);
    assert.equal(all.subject, `oci:${target}:v1@${image.descriptor.digest}`);
    assert.equal(all.source, 'layout');
    assert.deepEqual(
      all.manifests
        .map((d: { digest: string; artifactType: string }) => [d.digest, d.artifactType])
        .sort(),
      [
        [sbomArt.digest, 'application/vnd.example.sbom'],
        [notesArt.digest, 'application/vnd.example.notes'],
      ].sort(),
    );
    const sized = all.manifests.find((d: { digest: string }) => d.digest === sbomArt.digest);
    const bytes = await readFile(join(target, 'blobs/sha256', sbomArt.digest.slice(7)));
    assert.equal(sized.size, bytes.length);
    const filtered = await runCli([
      'referrers',
      `oci:${target}:v1`,
      '--artifact-type',
      'application/vnd.example.notes',
    ]);
    assert.equal(filtered.code, 0, filtered.stderr);
    const notesSize = all.manifests.find(
      (d: { digest: string }) => d.digest === notesArt.digest,
    ).size;
    const lines = filtered.out.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, filtered.out);
    assert.match(lines[0]!, /^DIGEST +ARTIFACT TYPE +SIZE$/);
    assert.deepEqual(lines[1]!.split(/ +/), [
      notesArt.digest,
      'application/vnd.example.notes',
      String(notesSize),
    ]);
  });

  it('referrers synced into a layout and into the store list as the registry lists them', async () => {
    const subject = `${reg.host}/art/app:v1`;
    const fromRegistry = JSON.parse((await runCli(['referrers', subject, '--json'])).out);
    assert.equal(fromRegistry.manifests.length, 2, 'attached by the first test');
    const synced = join(dir.path, 'synced');
    const s = await runCli(['sync', subject, `oci:${synced}`, '--include-referrers']);
    assert.equal(s.code, 0, s.stderr);
    const fromLayout = JSON.parse(
      (await runCli(['referrers', `oci:${join(synced, 'app')}:v1`, '--json'])).out,
    );
    const byDigest = (l: { manifests: Array<{ digest: string }> }) =>
      [...l.manifests].sort((a, b) => a.digest.localeCompare(b.digest));
    assert.deepEqual(byDigest(fromLayout), byDigest(fromRegistry));
    // The store: the image and one referrer copied in by digest, found the same way.
    const store = join(dir.path, 'ref-store');
    const referrer = fromRegistry.manifests[0].digest as string;
    for (const ref of [subject, `${reg.host}/art/app@${referrer}`]) {
      const c = await runCli(['--store', store, 'pull', ref]);
      assert.equal(c.code, 0, c.stderr);
    }
    const fromStore = JSON.parse(
      (await runCli(['--store', store, 'referrers', `store:${subject}`, '--json'])).out,
    );
    assert.equal(fromStore.source, 'layout');
    assert.deepEqual(fromStore.manifests, [fromRegistry.manifests[0]]);
  });

  it('attach to store:REF: named REPO@DIGEST, listed by referrers, kept by prune, pulled back', async () => {
    const store = join(dir.path, 'attach-store');
    const subject = `${reg.host}/art/app:v1`;
    const p = await runCli(['--store', store, 'pull', subject]);
    assert.equal(p.code, 0, p.stderr);
    const r = await runCli([
      '--store',
      store,
      'artifact',
      'attach',
      `store:${subject}`,
      sbom,
      '--artifact-type',
      'application/vnd.example.sbom',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pushed = JSON.parse(r.out);
    assert.equal(pushed.subject, image.descriptor.digest);
    assert.equal(pushed.referrers, undefined, 'nothing is sent to the registry');
    assert.deepEqual(pushed.manifest.subject, subjectOf(image));
    // The registry knows nothing of it: the attach wrote only into the store.
    const remote = JSON.parse((await runCli(['referrers', subject, '--json'])).out);
    assert.ok(!remote.manifests.some((d: { digest: string }) => d.digest === pushed.digest));
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8'));
    const names = index.manifests.map(
      (d: { annotations?: Record<string, string> }) =>
        d.annotations?.['org.opencontainers.image.ref.name'],
    );
    assert.ok(names.includes(`${reg.host}/art/app@${pushed.digest}`), names.join(' '));
    const pruned = await runCli(['--store', store, 'prune']);
    assert.equal(pruned.code, 0, pruned.stderr);
    const listed = await runCli(['--store', store, 'referrers', `store:${subject}`, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.out).manifests.map((d: { digest: string; artifactType: string }) => [
        d.digest,
        d.artifactType,
      ]),
      [[pushed.digest, 'application/vnd.example.sbom']],
    );
    const out = join(dir.path, 'from-store');
    const got = await runCli([
      '--store',
      store,
      'artifact',
      'pull',
      `store:${reg.host}/art/app@${pushed.digest}`,
      '-o',
      out,
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(await readFile(join(out, 'sbom.json')), SBOM);
    const missing = await runCli([
      '--store',
      store,
      'artifact',
      'attach',
      `store:${reg.host}/art/app:nope`,
      sbom,
      '--artifact-type',
      'application/vnd.example.sbom',
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ocipeek: .*art\/app:nope is not in the store/);
  });

  it('push --subject to an OCI layout (tag or digest): listed by referrers, read by skopeo', async () => {
    const target = join(dir.path, 'subject-layout');
    await skopeo(['copy', `oci:${layout}:v1`, `oci:${target}:v1`]);
    const byTag = await runCli([
      'artifact',
      'push',
      `oci:${target}:notes`,
      notes,
      '--artifact-type',
      'application/vnd.example.notes',
      '--subject',
      'v1',
      '--json',
    ]);
    assert.equal(byTag.code, 0, byTag.stderr);
    const tagged = JSON.parse(byTag.out);
    assert.equal(tagged.subject, image.descriptor.digest);
    const byDigest = await runCli([
      'artifact',
      'push',
      `oci:${target}`,
      sbom,
      '--artifact-type',
      'application/vnd.example.sbom',
      '--subject',
      image.descriptor.digest,
      '--json',
    ]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    const untagged = JSON.parse(byDigest.out);
    const raw = JSON.parse(
      (await skopeoRaw(['inspect', '--raw', `oci:${target}:notes`])).toString(),
    );
    assert.deepEqual(raw.subject, subjectOf(image));
    const listed = JSON.parse((await runCli(['referrers', `oci:${target}:v1`, '--json'])).out);
    assert.deepEqual(
      listed.manifests.map((d: { digest: string }) => d.digest).sort(),
      [tagged.digest, untagged.digest].sort(),
    );
    const unknown = await runCli([
      'artifact',
      'push',
      `oci:${target}`,
      notes,
      '--artifact-type',
      'application/x',
      '--subject',
      `sha256:${'1'.repeat(64)}`,
    ]);
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      `ocipeek: --subject sha256:${'1'.repeat(64)} is not in oci:${target}\n`,
    );
    const archive = await runCli([
      'artifact',
      'push',
      `oci-archive:${join(dir.path, 'a.tar')}`,
      notes,
      '--artifact-type',
      'application/x',
      '--subject',
      'v1',
    ]);
    assert.equal(archive.code, 2);
    assert.match(archive.stderr, /--subject needs a registry, oci:DIR or store: destination/);
  });

  it("every artifact form follows image-spec 1.1's artifact guidance and skopeo copies it unchanged", async () => {
    // No oras CLI here: the check is the guidance itself and skopeo's copy both ways.
    const source = join(dir.path, 'guide-layout');
    await skopeo(['copy', `oci:${layout}:v1`, `oci:${source}:v1`]);
    const folder = join(dir.path, 'guide-folder');
    await mkdir(folder);
    await writeFile(join(folder, 'a.txt'), 'a\n');
    const forms: Record<string, string[]> = {
      files: [notes, `${sbom}:application/spdx+json`],
      folder: [folder],
      bare: ['--annotation', 'org.example.note=no files'],
      referrer: [notes, '--subject', 'v1'],
    };
    for (const [tag, args] of Object.entries(forms)) {
      const r = await runCli([
        'artifact',
        'push',
        `oci:${source}:${tag}`,
        ...args,
        '--artifact-type',
        `application/vnd.example.${tag}`,
      ]);
      assert.equal(r.code, 0, `${tag}: ${r.stderr}`);
    }
    const back = join(dir.path, 'guide-back');
    for (const tag of Object.keys(forms)) {
      const bytes = await skopeoRaw(['inspect', '--raw', `oci:${source}:${tag}`]);
      const m = JSON.parse(bytes.toString());
      assert.equal(m.schemaVersion, 2);
      assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(m.artifactType, `application/vnd.example.${tag}`, tag);
      assert.deepEqual(m.config, EMPTY, `${tag}: the config is the empty descriptor`);
      assert.ok(m.layers.length >= 1, `${tag}: at least one layer`);
      if (tag === 'bare') {
        assert.deepEqual(m.layers, [EMPTY], 'no files: the one empty layer the guidance asks for');
      } else {
        for (const l of m.layers) assert.ok(l.annotations['org.opencontainers.image.title'], tag);
      }
      assert.match(m.annotations['org.opencontainers.image.created'], /^\d{4}-\d\d-\d\dT[\d:]+Z$/);
      assert.equal(m.subject?.digest, tag === 'referrer' ? image.descriptor.digest : undefined);
      // skopeo: layout -> registry -> layout, the manifest bytes never change.
      const remote = `docker://${reg.host}/guide/art:${tag}`;
      await skopeo(['copy', '--dest-tls-verify=false', `oci:${source}:${tag}`, remote]);
      await skopeo(['copy', '--src-tls-verify=false', remote, `oci:${back}:${tag}`]);
      assert.deepEqual(await inspectRaw(reg, `guide/art:${tag}`), bytes, tag);
      assert.deepEqual(await skopeoRaw(['inspect', '--raw', `oci:${back}:${tag}`]), bytes, tag);
    }
    const out = join(dir.path, 'guide-pulled');
    const p = await runCli(['artifact', 'pull', `oci:${back}:folder`, '-o', out]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(await readFile(join(out, 'guide-folder/a.txt'), 'utf8'), 'a\n');
  });

  it('a folder is pushed as oras packs one and unpacked on pull; a hostile folder layer writes nothing', async () => {
    const folder = join(dir.path, 'site');
    await mkdir(join(folder, 'css'), { recursive: true });
    await writeFile(join(folder, 'index.html'), '<h1>hi</h1>\n');
    await writeFile(join(folder, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(folder, 'css/a.css'), 'h1{}\n');
    await symlink('index.html', join(folder, 'home.html'));
    const r = await runCli([
      'artifact',
      'push',
      `${reg.host}/art/site:1`,
      folder,
      notes,
      '--artifact-type',
      'application/vnd.example.site',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const raw = JSON.parse((await inspectRaw(reg, 'art/site:1')).toString());
    const [packed, plain] = raw.layers;
    assert.equal(packed.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.equal(packed.annotations['org.opencontainers.image.title'], 'site');
    assert.equal(packed.annotations['io.deis.oras.content.unpack'], 'true');
    assert.equal(plain.annotations['io.deis.oras.content.unpack'], undefined);
    // The blob is a gzip tar whose one top entry is the folder, its digest as annotated.
    const blob = Buffer.from(
      await (await fetch(`http://${reg.host}/v2/art/site/blobs/${packed.digest}`)).arrayBuffer(),
    );
    const tar = gunzipSync(blob);
    assert.equal(
      packed.annotations['io.deis.oras.content.digest'],
      `sha256:${createHash('sha256').update(tar).digest('hex')}`,
    );
    const blobFile = join(dir.path, 'site.tar.gz');
    await writeFile(blobFile, blob);
    const { stdout } = await run('tar', ['-tzf', blobFile]);
    assert.deepEqual(stdout.split('\n').filter(Boolean), [
      'site/',
      'site/css/',
      'site/css/a.css',
      'site/home.html',
      'site/index.html',
      'site/run.sh',
    ]);

    const out = join(dir.path, 'site-pulled');
    const p = await runCli(['artifact', 'pull', `${reg.host}/art/site:1`, '-o', out]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.out, /^site\/ {2}sha256:/);
    assert.deepEqual((await readdir(out)).sort(), ['notes.txt', 'site']);
    assert.equal(await readFile(join(out, 'site/index.html'), 'utf8'), '<h1>hi</h1>\n');
    assert.equal(await readFile(join(out, 'site/css/a.css'), 'utf8'), 'h1{}\n');
    assert.equal(await readlink(join(out, 'site/home.html')), 'index.html');
    assert.equal((await stat(join(out, 'site/run.sh'))).mode & 0o777, 0o755);
    // The folder exists now: refused unless --overwrite, which replaces it whole.
    await writeFile(join(out, 'site/extra'), 'mine\n');
    const again = await runCli(['artifact', 'pull', `${reg.host}/art/site:1`, '-o', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /site-pulled\/site exists \(--overwrite replaces it\)/);
    const forced = await runCli([
      'artifact',
      'pull',
      `${reg.host}/art/site:1`,
      '-o',
      out,
      '--overwrite',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual((await readdir(join(out, 'site'))).sort(), [
      'css',
      'home.html',
      'index.html',
      'run.sh',
    ]);

    // Hostile folder layers, in a layout: each pull fails and leaves the folder as it was.
    const hostile = join(dir.path, 'hostile');
    const w = new LayoutWriter(hostile);
    const config = await w.writeJson({}, 'application/vnd.oci.empty.v1+json');
    const cases: Record<string, { entries: LayerEntry[]; digest?: string; error: RegExp }> = {
      outside: {
        entries: [
          { path: 'tree/', type: 'dir' },
          { path: 'other.txt', content: 'x' },
        ],
        error: /holds other\.txt outside tree\//,
      },
      dotdot: {
        entries: [
          { path: 'tree/', type: 'dir' },
          { path: 'tree/../../escape.txt', content: 'x' },
        ],
        error: /holds escape\.txt outside tree\//,
      },
      symlink: {
        entries: [
          { path: 'tree/', type: 'dir' },
          { path: 'tree/link', type: 'symlink', linkname: join(dir.path, 'outside') },
          { path: 'tree/link/pwned', content: 'x' },
          { path: 'other', content: 'x' },
        ],
        error: /outside tree\//,
      },
      digest: {
        entries: [{ path: 'tree/a', content: 'x' }],
        digest: `sha256:${'0'.repeat(64)}`,
        error: /digest/i,
      },
    };
    for (const [name, c] of Object.entries(cases)) {
      const layer = await makeLayer(c.entries);
      await w.writeBlob(layer.blob);
      const manifest = await w.writeManifest({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.hostile',
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: [
          {
            mediaType: layer.mediaType,
            digest: layer.digest,
            size: layer.size,
            annotations: {
              'org.opencontainers.image.title': 'tree',
              'io.deis.oras.content.digest': c.digest ?? layer.diffId,
              'io.deis.oras.content.unpack': 'true',
            },
          },
        ],
      });
      w.addToIndex(manifest.descriptor, name);
    }
    await w.finish();
    const target = join(dir.path, 'hostile-out');
    await mkdir(target);
    for (const [name, c] of Object.entries(cases)) {
      const h = await runCli(['artifact', 'pull', `oci:${hostile}:${name}`, '-o', target]);
      assert.notEqual(h.code, 0, `${name}: ${h.out}`);
      assert.match(h.stderr, c.error, name);
      assert.deepEqual(await readdir(target), [], `${name} left something behind`);
    }
    await assert.rejects(lstat(join(dir.path, 'outside')), { code: 'ENOENT' });
    await assert.rejects(lstat(join(dir.path, 'escape.txt')), { code: 'ENOENT' });
  });

  it('usage mistakes: no --artifact-type, a device as a file, a subject elsewhere', async () => {
    const noType = await runCli(['artifact', 'push', `${reg.host}/art/x:1`, notes]);
    assert.equal(noType.code, 2);
    assert.match(noType.stderr, /^ocipeek: .*--artifact-type.*\n$/);
    const device = await runCli([
      'artifact',
      'push',
      `${reg.host}/art/x:1`,
      '/dev/null',
      '--artifact-type',
      'application/x',
    ]);
    assert.equal(device.code, 2);
    assert.equal(device.stderr, 'ocipeek: /dev/null is neither a regular file nor a folder\n');
    const elsewhere = await runCli([
      'artifact',
      'push',
      `${reg.host}/art/x:1`,
      notes,
      '--artifact-type',
      'application/x',
      '--subject',
      `${reg.host}/other/repo:v1`,
    ]);
    assert.equal(elsewhere.code, 2);
    assert.match(elsewhere.stderr, /referrer lives in its subject's repository/);
  });
});
