import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRegistryServer } from '../../src/index.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/** Three images in three repositories, all tagged `1`: the tag alone names none of them. */
const IMAGES = ['team/one', 'team/two', 'three'] as const;

describe('serve --root STORE: each stored image under its own repository and tag', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let store: string;
  let plain: string;
  const built = new Map<string, BuiltImage>();
  let server: Awaited<ReturnType<typeof startRegistryServer>>;
  /** The repository the store's copy of `repo` is served as (`127.0.0.1_PORT/repo`). */
  const served = (repo: string) => `${reg.host.replace(':', '_')}/${repo}`;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('serve-store-root');
    store = join(dir.path, 'store');
    plain = join(dir.path, 'plain');
    const w = new LayoutWriter(join(dir.path, 'src'));
    for (const repo of IMAGES) {
      const content = `this is ${repo}\n`;
      const img = await randomImage(w, {
        layerEntries: [[{ path: 'name.txt', content }]],
        refName: repo.replace('/', '-'),
      });
      built.set(repo, img);
    }
    await w.finish();
    for (const repo of IMAGES) {
      await pushLayout(join(dir.path, 'src'), repo.replace('/', '-'), reg, `${repo}:1`);
      const pulled = await runCli(['pull', `${reg.host}/${repo}:1`, '--store', store]);
      assert.equal(pulled.code, 0, pulled.stderr);
    }
    // A plain layout beside it, with full references of two repositories sharing tag `1`.
    const p = new LayoutWriter(plain);
    await randomImage(p, { refName: 'a.example/x:1' });
    await randomImage(p, { refName: 'b.example/y:1' });
    await p.finish();
    server = await startRegistryServer({ roots: [store, plain] });
  });
  after(async () => {
    await server?.close();
    await reg?.stop();
    await dir?.remove();
  });

  const host = () => `${server.host}:${server.port}`;

  it('lists the repositories `ocipeek images` names, the layout under its folder name', async () => {
    const images = await runCli(['images', '--store', store, '--json']);
    assert.equal(images.code, 0, images.stderr);
    const refs = (JSON.parse(images.out) as Array<{ reference: string }>).map((i) => i.reference);
    assert.deepEqual(refs.sort(), IMAGES.map((r) => `${reg.host}/${r}:1`).sort());
    const catalog = await runCli(['catalog', host()]);
    assert.equal(catalog.code, 0, catalog.stderr);
    assert.deepEqual(catalog.out.trim().split('\n'), [...IMAGES.map(served), 'plain'].sort());
    for (const repo of IMAGES) {
      const tags = await runCli(['tags', `${host()}/${served(repo)}`]);
      assert.equal(tags.out.trim(), '1');
    }
  });

  it('skopeo and ocipeek read every image back with its own digest and files', async () => {
    const readStore = join(dir.path, 'read-store');
    for (const repo of IMAGES) {
      const ref = `${host()}/${served(repo)}:1`;
      const want = built.get(repo)?.descriptor.digest;
      const info = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]));
      assert.equal(info.Digest, want, `skopeo digest of ${repo}`);
      const digest = await runCli(['digest', ref, '--store', readStore]);
      assert.equal(digest.out.trim(), want, `ocipeek digest of ${repo}`);
      const cat = await runCli(['cat', ref, '/name.txt', '--store', readStore]);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.out, `this is ${repo}\n`);
    }
    const copy = join(dir.path, 'copied');
    await skopeo([
      'copy',
      '--src-tls-verify=false',
      `docker://${host()}/${served('team/two')}:1`,
      `oci:${copy}:two`,
    ]);
    const copied = await runCli(['digest', `oci:${copy}:two`]);
    assert.equal(copied.out.trim(), built.get('team/two')?.descriptor.digest);
  });

  it('a store given as --root is read-only: a push or delete is refused', async () => {
    const url = `${server.url}/v2/${served('three')}/manifests/1`;
    const del = await fetch(url, { method: 'DELETE' });
    assert.equal(del.status, 405);
    await del.body?.cancel();
    const upload = await fetch(`${server.url}/v2/${served('three')}/blobs/uploads/`, {
      method: 'POST',
    });
    assert.equal(upload.status, 405);
    await upload.body?.cancel();
    const still = await runCli(['digest', `${host()}/${served('three')}:1`, '--remote']);
    assert.equal(still.out.trim(), built.get('three')?.descriptor.digest);
  });

  it('an ambiguous tag is a whole JSON error, and the client asks twice, not five times', async () => {
    const res = await fetch(`${server.url}/v2/plain/manifests/1`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
    assert.equal(body.errors[0]?.code, 'UNKNOWN');
    assert.match(body.errors[0]?.message ?? '', /a\.example\/x:1, b\.example\/y:1\); give the/);
    const r = await runCli(['digest', `${host()}/plain:1`, '--remote', '--verbose']);
    assert.equal(r.code, 1);
    const gets = r.stderr
      .split('\n')
      .filter((l) => /^> (GET|HEAD) \S*\/plain\/manifests\/1 /.test(l));
    assert.equal(gets.length, 2, r.stderr);
    assert.match(r.stderr, /same error as before: not retrying/);
    assert.match(r.stderr, /give the full reference/);
  });
});
