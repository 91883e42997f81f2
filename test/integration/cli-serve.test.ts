import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ExampleLayoutResult,
  startRegistryServer,
  writeExampleLayout,
} from '../../src/index.js';
import { tempDir } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

describe('the client against ocipeek serve (Link pagination, OCI 1.1 referrers)', () => {
  let dir: { path: string; remove(): Promise<void> };
  let example: ExampleLayoutResult;
  let server: Awaited<ReturnType<typeof startRegistryServer>>;
  let repo: string;

  before(async () => {
    dir = await tempDir('cli-serve');
    example = await writeExampleLayout(join(dir.path, 'example'));
    server = await startRegistryServer({ roots: join(dir.path, 'example'), name: 'demo/example' });
    repo = `${server.host}:${server.port}/demo/example`;
  });
  after(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('follows Link pages for tags and honours --limit and --last', async () => {
    const all = await runCli(['tags', repo, '--page-size', '2', '--verbose']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.out.trim().split('\n'), [...example.refs].sort());
    const pages = all.stderr
      .split('\n')
      .filter((l) => l.startsWith('> GET http://') && l.includes('/tags/list'));
    assert.equal(pages.length, Math.ceil(example.refs.length / 2), 'one request per page');
    const limited = await runCli(['tags', repo, '--limit', '3']);
    assert.deepEqual(limited.out.trim().split('\n'), [...example.refs].sort().slice(0, 3));
    const last = await runCli(['tags', repo, '--last', 'edge', '--json']);
    assert.deepEqual(
      JSON.parse(last.out).tags,
      [...example.refs].sort().filter((t) => t > 'edge'),
    );
  });

  it('lists referrers through the OCI 1.1 API, with artifactType filtering', async () => {
    const subject = example.referrers.map((r) => r).length;
    assert.ok(subject > 0);
    const r = await runCli(['referrers', `${repo}:1.0`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.out);
    assert.equal(out.source, 'api');
    assert.equal(out.subject, `${repo}:1.0@${example.index.digest}`);
    const signature = example.referrers.find((d) => d.artifactType?.includes('signature'))!;
    assert.deepEqual(
      out.manifests.map((d: { digest: string }) => d.digest),
      [signature.digest],
    );
    const none = await runCli([
      'referrers',
      `${repo}:1.0`,
      '--artifact-type',
      'application/spdx+json',
      '--json',
    ]);
    assert.deepEqual(JSON.parse(none.out).manifests, []);
  });

  it('catalog and inspect work against the server', async () => {
    const c = await runCli(['catalog', `${server.host}:${server.port}`]);
    assert.equal(c.out.trim(), 'demo/example');
    const i = await runCli(['inspect', `${repo}:1.0`, '--platform', 'linux/arm64', '--json']);
    const info = JSON.parse(i.out);
    assert.equal(info.digest, example.index.digest);
    assert.equal(info.platform, 'linux/arm64/v8');
    assert.deepEqual(
      info.layers.map((l: { digest: string }) => l.digest),
      example.images[1]!.layers.map((l) => l.digest),
    );
  });
});
