import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPlaceSource } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
  type FaultProxy,
  LayoutWriter,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

/**
 * Where `cat`, `ls` and the other readers take a stored tag from, against the real
 * docker-registry behind a logging proxy (no fault injected: it only counts requests).
 * The store holds `team/app:1`; the tests move the tag in the registry (the next read pulls
 * the new image into the store), read with and without `--offline` and `--remote`, and
 * finally stop the proxy so the registry cannot be reached.
 */
describe('a stored tag is revalidated with one HEAD', () => {
  let dir: { path: string; remove(): Promise<void> };
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let store: string;
  let one: BuiltImage;
  let two: BuiltImage;
  let layout: string;
  let ref: string;
  let checkedAfter: number;

  const cli = (args: string[]) => runCli(['--store', store, ...args]);
  /** Requests the proxy forwarded since the last reset, as `METHOD PATH`. */
  const requests = () => proxy.log.map((e) => `${e.method} ${e.url}`);

  before(async () => {
    dir = await tempDir('cli-tag-revalidation');
    store = join(dir.path, 'store');
    layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    one = await randomImage(w, {
      layerEntries: [[{ path: 'hello.txt', content: 'one\n' }]],
      refName: 'one',
    });
    two = await randomImage(w, {
      layerEntries: [
        [
          { path: 'hello.txt', content: 'two\n' },
          { path: 'new.txt', content: 'new\n' },
        ],
      ],
      refName: 'two',
      created: '2024-02-01T00:00:00Z',
    });
    await w.finish();
    reg = await startRegistry();
    await pushLayout(layout, 'one', reg, 'team/app:1');
    proxy = await startFaultProxyFor(reg);
    ref = `${proxy.host}/team/app:1`;
    const pulled = await cli(['pull', ref]);
    assert.equal(pulled.code, 0, pulled.stderr);
  });
  after(async () => {
    await proxy?.close();
    await reg?.stop();
    await dir?.remove();
  });

  it('unchanged tag: one HEAD, then the store serves', async () => {
    proxy.resetLog();
    checkedAfter = Date.now() - 1000;
    const r = await cli(['cat', ref, '/hello.txt', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'one\n');
    assert.deepEqual(requests(), ['HEAD /v2/team/app/manifests/1']);
    assert.match(
      r.stderr,
      new RegExp(
        `source: store \\(the registry still serves ${one.descriptor.digest} for the tag\\)`,
      ),
    );
  });

  it('unchanged tag, library: the tag is found in index.json once, its digest not read again', async () => {
    const opened = await Store.open(store, { create: false });
    const readIndex = opened.layout.index.bind(opened.layout);
    let reads = 0;
    opened.layout.index = (options) => {
      reads++;
      return readIndex(options);
    };
    const client = new RegistryClient();
    try {
      const source = await openPlaceSource(ref, { client, store: opened, policy: 'newer' });
      assert.equal((await source.root()).digest, one.descriptor.digest);
      assert.equal(source.kind, 'store');
      assert.equal(reads, 1);
      await source.close();
    } finally {
      await client.close();
    }
  });

  it('moved tag, manifest-only commands: inspect and digest answer from the registry and download no layer', async () => {
    await pushLayout(layout, 'two', reg, 'team/app:1');
    proxy.resetLog();
    const inspected = await cli(['inspect', ref, '--json', '--verbose']);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(JSON.parse(inspected.out).digest, two.descriptor.digest);
    assert.match(
      inspected.stderr,
      new RegExp(
        `source: registry \\(the tag moved to ${two.descriptor.digest}; the store's copy is older\\)`,
      ),
    );
    const sent = requests();
    assert.equal(sent[0], 'HEAD /v2/team/app/manifests/1');
    const blobs = sent.filter((s) => s.includes('/blobs/'));
    assert.deepEqual(
      blobs,
      [`GET /v2/team/app/blobs/${two.configDescriptor.digest}`],
      sent.join(', '),
    );
    proxy.resetLog();
    const digest = await cli(['digest', ref]);
    assert.equal(digest.code, 0, digest.stderr);
    assert.equal(digest.out, `${two.descriptor.digest}\n`);
    assert.equal(requests().filter((s) => s.includes('/blobs/')).length, 0, requests().join(', '));
    // The store still holds the old image under the tag: nothing was pulled.
    const images = JSON.parse((await cli(['images', '--json'])).out) as Array<{
      digest: string;
    }>;
    assert.deepEqual(
      images.map((i) => i.digest),
      [one.descriptor.digest],
    );
  });

  it('moved tag, a layer reader: ls pulls the new image into the store and lists it', async () => {
    proxy.resetLog();
    const r = await cli(['ls', ref, '/', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.out.split('\n').filter(Boolean).sort(), ['hello.txt', 'new.txt']);
    const sent = requests();
    assert.equal(sent[0], 'HEAD /v2/team/app/manifests/1');
    assert.equal(sent.filter((s) => s.startsWith('HEAD ')).length, 1, sent.join(', '));
    assert.ok(sent.includes(`GET /v2/team/app/blobs/${two.layers[0]!.digest}`));
    assert.match(
      r.stderr,
      new RegExp(`source: store \\(the tag moved to ${two.descriptor.digest}; pulled it\\)`),
    );
    const images = JSON.parse((await cli(['images', '--json'])).out) as Array<{
      reference: string;
      digest: string;
      complete: boolean;
    }>;
    assert.deepEqual(
      images.map((i) => [i.reference, i.digest, i.complete]),
      [[ref, two.descriptor.digest, true]],
    );
    // inspect and cat agree with ls: the new image, now current in the store.
    proxy.resetLog();
    const listed = await cli(['inspect', ref, '--json', '--verbose']);
    assert.equal(JSON.parse(listed.out).digest, two.descriptor.digest);
    assert.deepEqual(requests(), ['HEAD /v2/team/app/manifests/1']);
    const cat = await cli(['cat', ref, '/hello.txt']);
    assert.equal(cat.out, 'two\n');
  });

  it('--offline never asks the registry: the store copy, no request at all', async () => {
    proxy.resetLog();
    const r = await cli(['cat', ref, '/hello.txt', '--offline', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'two\n', 'the store followed the moved tag');
    assert.deepEqual(requests(), []);
    assert.match(r.stderr, /source: store \(--offline\)/);
    const missing = await cli(['cat', `${proxy.host}/team/other:1`, '/hello.txt', '--offline']);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^ocipeek: 127\.0\.0\.1:\d+\/team\/other:1 is not in the store .*, and offline use never asks the registry\n$/,
    );
    assert.deepEqual(requests(), []);
    // Commands only a registry can answer fail at once instead of asking it.
    const tags = await cli(['tags', `${proxy.host}/team/app`, '--offline']);
    assert.equal(tags.code, 1);
    assert.equal(tags.stderr, `ocipeek: offline: the registry ${proxy.host} is not contacted\n`);
    assert.deepEqual(requests(), []);
    const both = await cli(['cat', ref, '/hello.txt', '--offline', '--remote']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /use one of --offline and --remote/);
  });

  it('--remote always reads the registry, without a HEAD first', async () => {
    proxy.resetLog();
    const r = await cli(['cat', ref, '/hello.txt', '--remote', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'two\n');
    const sent = requests();
    assert.equal(sent.filter((s) => s.startsWith('HEAD ')).length, 0, sent.join(', '));
    assert.equal(sent[0], 'GET /v2/team/app/manifests/1');
    assert.match(r.stderr, /source: registry\n/);
  });

  it('unreachable registry: the store copy, with a warning saying when the tag was last checked', async () => {
    await proxy.close();
    const r = await cli(['cat', ref, '/hello.txt']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, 'two\n');
    const m =
      /^warning: reading from the store, tag last checked at (\S+): the registry could not be asked \(cannot reach 127\.0\.0\.1:\d+: connection refused\)\n$/.exec(
        r.stderr,
      );
    assert.ok(m, r.stderr);
    const checked = Date.parse(m[1]!);
    assert.ok(checked >= checkedAfter && checked <= Date.now(), m[1]);
  });
});

/**
 * A store that pulled one platform of an index holds an index cut to it: commands that
 * answer with the root (digest, manifest, inspect, export --all-platforms) read the
 * registry's, and say so; offline, and copying the cut index, say to pull every platform.
 */
describe('a stored index holding some platforms is not the registry index', () => {
  let dir: { path: string; remove(): Promise<void> };
  let reg: RunningRegistry;
  let store: string;
  let built: BuiltIndex;
  let ref: string;
  const cli = (args: string[]) => runCli(['--store', store, ...args]);

  before(async () => {
    dir = await tempDir('cli-partial-index');
    store = join(dir.path, 'store');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    built = await multiPlatformIndex(w, { refName: 'multi' });
    await w.finish();
    reg = await startRegistry();
    await pushLayout(layout, 'multi', reg, 'team/multi:1');
    ref = `${reg.host}/team/multi:1`;
    const pulled = await cli(['--platform', 'linux/arm64', 'pull', ref]);
    assert.equal(pulled.code, 0, pulled.stderr);
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  it('digest, manifest and inspect answer with the registry index, and --verbose says why', async () => {
    const digest = await cli(['--verbose', 'digest', ref]);
    assert.equal(digest.code, 0, digest.stderr);
    assert.equal(digest.out, `${built.descriptor.digest}\n`);
    assert.match(
      digest.stderr,
      /source: registry \(the store holds only some platforms of the index\)/,
    );
    const manifest = await cli(['manifest', ref]);
    assert.equal(manifest.code, 0, manifest.stderr);
    assert.deepEqual(manifest.stdout, built.indexBytes);
    const inspected = await cli(['inspect', ref, '--json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(JSON.parse(inspected.out).digest, built.descriptor.digest);
    // One platform is what the store holds: it answers that, offline too.
    const arm = await cli(['--offline', '--platform', 'linux/arm64', 'digest', ref]);
    assert.equal(arm.code, 0, arm.stderr);
    assert.equal(arm.out, `${built.images[1]!.descriptor.digest}\n`);
    const offline = await cli(['--offline', 'digest', ref]);
    assert.equal(offline.code, 1);
    assert.match(offline.stderr, /holds only some platforms of its index.*--all-platforms\)\n$/);
  });

  it('export --all-platforms writes the registry index; copy store:REF --all-platforms warns', async () => {
    const exported = await cli([
      'export',
      ref,
      '--all-platforms',
      '-o',
      join(dir.path, 'all.tar'),
      '--json',
    ]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(JSON.parse(exported.out).digest, built.descriptor.digest);
    const copied = await cli([
      'copy',
      `store:${ref}`,
      `oci:${join(dir.path, 'cut')}`,
      '--all-platforms',
      '--json',
    ]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.equal(
      copied.stderr,
      `warning: store:${ref} holds only the platforms pulled of ${built.descriptor.digest} (pull it with --all-platforms for every one)\n`,
    );
    const cut = JSON.parse(copied.out).digest as string;
    assert.notEqual(cut, built.descriptor.digest);
    assert.equal(
      cut,
      `sha256:${createHash('sha256')
        .update(
          JSON.stringify({
            ...built.index,
            manifests: built.index.manifests.filter((d) => d.platform?.architecture === 'arm64'),
          }),
        )
        .digest('hex')}`,
    );
  });
});
