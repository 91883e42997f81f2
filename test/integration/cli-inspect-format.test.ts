import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

describe('ocipeek inspect --format: templates as skopeo inspect --format prints them', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-inspect-format');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    await randomImage(w, {
      refName: 'v1',
      layers: 2,
      labels: { 'org.example.a': 'one', b: 'two' },
    });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'fmt/app:1.0');
    await pushLayout(layout, 'v1', reg, 'fmt/app:latest');
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  const TEMPLATES = [
    '{{.Digest}}',
    '{{.Name}}',
    '{{range .RepoTags}}{{.}} {{end}}',
    '{{index .Labels "org.example.a"}}',
    '{{.Os}}/{{.Architecture}}',
    '{{range .Layers}}{{.}},{{end}}',
    'fixed text, {{if .Labels}}labelled{{else}}bare{{end}}',
    '{{printf "%s %s" .Digest .Architecture}}',
    '{{printf "%.19s|%-8s|" .Digest .Os}}',
    '{{printf "%v" .RepoTags}}',
    '{{printf "%d layers" (len .Layers)}}',
    '{{.Digest | printf "%.15s"}}',
    '{{printf "%s" (index .Labels "org.example.a")}}',
    '{{len .Labels}}',
    '{{.RepoTags}}',
    '{{.Labels}}',
    '{{.Layers}} {{.Env}}',
    'tags: {{.RepoTags}}, {{if .RepoTags}}tagged{{end}}',
  ];

  for (const template of TEMPLATES) {
    it(`${template} prints what skopeo prints`, async () => {
      const ref = `${reg.host}/fmt/app:1.0`;
      const theirs = await skopeo([
        'inspect',
        '--tls-verify=false',
        '--format',
        template,
        `docker://${ref}`,
      ]);
      const ours = await runCli(['inspect', ref, '--format', template]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.out, theirs);
    });
  }

  it('json (podman and docker have it, skopeo not) prints the value as compact JSON', async () => {
    const ref = `${reg.host}/fmt/app:1.0`;
    const theirs = JSON.parse(
      await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]),
    ) as Record<string, unknown>;
    for (const template of ['{{json .Labels}}', '{{.Labels | json}}']) {
      const ours = await runCli(['inspect', ref, '--format', template]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(ours.out, `${JSON.stringify(theirs.Labels)}\n`);
    }
    const tags = await runCli(['inspect', ref, '--format', '{{json .RepoTags}}']);
    assert.deepEqual(JSON.parse(tags.out), theirs.RepoTags);
  });

  it('RepoTags of a bare reference the store answers are still the registry tags (not offline)', async () => {
    const ref = `${reg.host}/fmt/app:1.0`;
    const store = join(dir.path, 'store');
    const pulled = await runCli(['--store', store, 'pull', ref]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const theirs = await skopeo([
      'inspect',
      '--tls-verify=false',
      '--format',
      '{{.RepoTags}}',
      `docker://${ref}`,
    ]);
    const ours = await runCli([
      '--store',
      store,
      '--verbose',
      'inspect',
      ref,
      '--format',
      '{{.RepoTags}}',
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stderr, /source: store/);
    assert.equal(ours.out, theirs);
    assert.match(theirs, /1\.0/);
    const offline = await runCli([
      '--store',
      store,
      '--offline',
      'inspect',
      ref,
      '--format',
      '{{.RepoTags}}',
    ]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.equal(offline.out, '[]\n');
  });

  it('a template outside the subset is a one-line usage error', async () => {
    for (const template of [
      '{{printf "%s" (upper .Digest)}}',
      '{{range .Layers}}{{json .}}{{end}}',
    ]) {
      const r = await runCli(['inspect', `${reg.host}/fmt/app:1.0`, '--format', template]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^ocipeek: --format .*\n$/);
    }
  });
});
