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

  it('a template outside the subset is a one-line usage error', async () => {
    const r = await runCli([
      'inspect',
      `${reg.host}/fmt/app:1.0`,
      '--format',
      '{{printf "%s" .Digest}}',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ocipeek: --format .*\n$/);
  });
});
