import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getIsletImage, isletReference } from '../../src/ir/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { makeCcaToken } from '../harness/cca-token.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  type TestCerts,
  tempDir,
  testCerts,
} from '../harness/index.js';
import { type RatlsServer, startRatlsServer } from '../harness/ratls-server.js';
import { snapshotRootfs } from '../harness/rootfs-snapshot.js';
import { runCli } from '../harness/run-cli.js';

/**
 * `ocipeek ir`: islet's image-registry client commands, with islet's options, over
 * no-tls (docker-registry), tls (docker-registry with a test CA, `--root-ca`) and ra-tls
 * (the Go islet-style front). What each prints or writes is compared with what
 * ocipeek's own commands (manifest, blob, tags, unpack) give for the same image.
 */
describe('ocipeek ir (islet parity)', () => {
  let dir: { path: string; remove(): Promise<void> };
  let certs: TestCerts;
  let registry: RunningRegistry;
  let tlsRegistry: RunningRegistry;
  let front: RatlsServer;
  const images: Record<string, BuiltImage> = {};
  const KINDS = { gz: 'gzip', zstd: 'zstd', tar: 'none' } as const;
  const APP = 'com.samsung.example.app';

  before(async () => {
    dir = await tempDir('ir');
    certs = await testCerts();
    registry = await startRegistry();
    tlsRegistry = await startRegistry({ tls: 'tls' });
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    for (const [tag, compression] of Object.entries(KINDS)) {
      images[tag] = await randomImage(w, { layers: 2, refName: tag, compression });
    }
    await w.finish();
    for (const tag of Object.keys(KINDS)) {
      await pushLayout(layout, tag, registry, `${APP}:${tag}`);
      await pushLayout(layout, tag, tlsRegistry, `${APP}:${tag}`);
    }
    front = await startRatlsServer({
      upstream: registry.url,
      certFile: certs.server.cert.path,
      keyFile: certs.server.key.path,
      dir: dir.path,
    });
  });
  after(async () => {
    await front?.stop();
    await registry?.stop();
    await tlsRegistry?.stop();
    await dir?.remove();
  });

  /** The two modes the CLI can be run in with files alone, and ocipeek's own flags for them. */
  const modes = () => [
    { mode: 'no-tls', host: registry.host, ir: ['-t', 'no-tls'], own: ['--tls', 'no-tls'] },
    {
      mode: 'tls',
      host: tlsRegistry.host,
      ir: ['-t', 'tls', '--root-ca', certs.ca.cert.path],
      own: ['--tls', 'tls', '--root-ca', certs.ca.cert.path],
    },
  ];

  let n = 0;
  const fresh = (name: string) => join(dir.path, `${name}-${n++}`);

  async function ok(args: string[], cwd?: string) {
    const r = await runCli(args, cwd ? { cwd } : {});
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  }

  it('get-manifest prints the manifest bytes as served, by tag and by digest, as `manifest` does', async () => {
    for (const m of modes()) {
      for (const tag of Object.keys(KINDS)) {
        const img = images[tag]!;
        const ir = await ok(['ir', '-a', m.host, ...m.ir, 'get-manifest', '-a', APP, '-r', tag]);
        const own = await ok(['manifest', ...m.own, `${m.host}/${APP}:${tag}`]);
        assert.deepEqual(ir.stdout, own.stdout, `${m.mode} ${tag}`);
        assert.deepEqual(ir.stdout, img.manifestBytes);
      }
      const digest = images.zstd!.descriptor.digest;
      const out = fresh('manifest.json');
      await ok(['ir', '-a', m.host, ...m.ir, 'get-manifest', '-a', APP, '-r', digest, '-o', out]);
      assert.deepEqual(await readFile(out), images.zstd!.manifestBytes);
    }
  });

  it('get-blob writes the config and layers verified, as `blob` does', async () => {
    for (const m of modes()) {
      const img = images.gz!;
      const config = img.configDescriptor.digest;
      const ir = await ok(['ir', '-a', m.host, ...m.ir, 'get-blob', '-a', APP, '-d', config]);
      const own = await ok(['blob', ...m.own, `${m.host}/${APP}`, config]);
      assert.deepEqual(ir.stdout, own.stdout);
      assert.deepEqual(ir.stdout, img.configBytes);
      for (const layer of images.zstd!.layers) {
        const out = fresh('layer');
        await ok([
          'ir',
          '-a',
          m.host,
          ...m.ir,
          'get-blob',
          '-a',
          APP,
          '-d',
          layer.digest,
          '-o',
          out,
        ]);
        assert.deepEqual(await readFile(out), layer.blob);
      }
      const missing = `sha256:${'0'.repeat(64)}`;
      const r = await runCli(['ir', '-a', m.host, ...m.ir, 'get-blob', '-a', APP, '-d', missing]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^ocipeek: .*(not found|unknown)/i);
    }
  });

  it('list-tags lists as `tags` does, with -n and --last', async () => {
    for (const m of modes()) {
      const ir = await ok(['ir', '-a', m.host, ...m.ir, 'list-tags', '-a', APP]);
      const own = await ok(['tags', ...m.own, `${m.host}/${APP}`]);
      assert.equal(ir.out, own.out);
      assert.deepEqual(ir.out.trim().split('\n').sort(), Object.keys(KINDS).sort());
      const one = await ok(['ir', '-a', m.host, ...m.ir, 'list-tags', '-a', APP, '-n', '1']);
      assert.equal(one.out, `${ir.out.split('\n')[0]}\n`);
      // Debian's docker-registry ignores n and last and does not sort: both are then
      // applied by ocipeek, the same for `tags` and `ir list-tags`.
      const all = ir.out.trim().split('\n');
      const after = await ok([
        'ir',
        '-a',
        m.host,
        ...m.ir,
        'list-tags',
        '-a',
        APP,
        '--last',
        all[0]!,
      ]);
      const ownAfter = await ok(['tags', ...m.own, '--last', all[0]!, `${m.host}/${APP}`]);
      assert.equal(after.out, ownAfter.out);
      assert.deepEqual(after.out.trim().split('\n'), all.slice(1));
    }
  });

  it('get-image unpacks tar, tar+gzip and tar+zstd images as `unpack` does', async () => {
    for (const m of modes()) {
      for (const tag of Object.keys(KINDS)) {
        const mine = fresh('ir-rootfs');
        const r = await ok([
          'ir',
          'get-image',
          '-a',
          m.host,
          ...m.ir,
          '-n',
          APP,
          '-r',
          tag,
          '-d',
          mine,
        ]);
        assert.match(r.stderr, /2 layers.*diff_id checked/);
        const theirs = fresh('own-rootfs');
        await ok([
          'unpack',
          ...m.own,
          '--store',
          fresh('store'),
          `${m.host}/${APP}:${tag}`,
          theirs,
        ]);
        const snapshot = snapshotRootfs(mine);
        assert.deepEqual(snapshot, snapshotRootfs(theirs), `${m.mode} ${tag}`);
        for (const [i, layer] of images[tag]!.layers.entries()) {
          const file = layer.entries.find((e) => e.path.endsWith('random.bin'))!;
          assert.deepEqual(await readFile(join(mine, file.path)), file.content, `layer ${i}`);
        }
      }
    }
  });

  it('unpack applies layer files of each type, checking every diff_id', async () => {
    const layout = join(dir.path, 'layout');
    const blobPath = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
    for (const [tag, type] of [
      ['gz', 'tar-gz'],
      ['zstd', 'tar-zstd'],
      ['tar', 'tar'],
    ] as const) {
      const img = images[tag]!;
      const mine = fresh('layers');
      const args = ['ir', 'unpack', '-d', mine, '-t', type];
      for (const l of img.layers) args.push('-l', blobPath(l.digest), '-i', l.diffId);
      await ok(args);
      const theirs = fresh('own');
      await ok(['unpack', '--store', fresh('store'), `oci:${layout}:${tag}`, theirs]);
      assert.deepEqual(snapshotRootfs(mine), snapshotRootfs(theirs), type);
    }
    const l = images.gz!.layers[0]!;
    const wrong = images.gz!.layers[1]!.diffId;
    const bad = await runCli([
      'ir',
      'unpack',
      '-d',
      fresh('bad'),
      '-t',
      'tar-gz',
      '-l',
      blobPath(l.digest),
      '-i',
      wrong,
    ]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^ocipeek: .*diff_id|digest/);
  });

  it('ra-tls: get-image and get-manifest through the islet front with a fresh token', async () => {
    const client = new RegistryClient({
      mode: 'ra-tls',
      tls: {
        rootCaFile: certs.ca.cert.path,
        tokenProvider: async (challenge) => makeCcaToken({ challenge }),
      },
      retry: { retries: 0 },
    });
    try {
      for (const tag of Object.keys(KINDS)) {
        const ref = isletReference(front.host, APP, tag);
        const { bytes } = await client.getManifest(ref);
        assert.deepEqual(bytes, images[tag]!.manifestBytes);
        const mine = fresh('ratls-rootfs');
        const result = await getIsletImage(ref, mine, { client });
        assert.equal(result.manifestDigest, images[tag]!.descriptor.digest);
        const theirs = fresh('own-rootfs');
        await ok([
          'unpack',
          '--tls',
          'no-tls',
          '--store',
          fresh('store'),
          `${registry.host}/${APP}:${tag}`,
          theirs,
        ]);
        assert.deepEqual(snapshotRootfs(mine), snapshotRootfs(theirs), tag);
      }
    } finally {
      await client.close();
    }
    assert.match(front.logs(), /attestation accepted/);
  });

  it("ra-tls from the CLI sends islet's default files (./res/token.bin, ./res/root-ca.crt)", async () => {
    // A token in a file cannot carry the server's fresh nonce: the front refuses it, and
    // that refusal is what proves the default token went out over ra-tls.
    const cwd = fresh('cwd');
    await mkdir(join(cwd, 'res'), { recursive: true });
    await writeFile(join(cwd, 'res/token.bin'), makeCcaToken({ challenge: Buffer.alloc(64, 3) }));
    await writeFile(join(cwd, 'res/root-ca.crt'), certs.ca.cert.pem);
    const before = front.logs().split('challenge mismatch').length;
    const r = await runCli(
      ['ir', '-a', front.host, '-t', 'ra-tls', 'get-manifest', '-a', APP, '-r', 'gz'],
      { cwd },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^ocipeek: the registry refused the attestation: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.ok(front.logs().split('challenge mismatch').length > before, front.logs());
    // No default token there: said before connecting.
    const empty = fresh('empty');
    await mkdir(empty);
    const none = await runCli(
      [
        'ir',
        '-a',
        front.host,
        '-t',
        'ra-tls',
        '--root-ca',
        certs.ca.cert.path,
        'list-tags',
        '-a',
        APP,
      ],
      { cwd: empty },
    );
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /^ocipeek: cannot read --token \.\/res\/token\.bin \(islet's default; give --token FILE\)$/m,
    );
    // tls mode ignores the token, as islet does; no root CA file is a clear error.
    const tls = await runCli(['ir', '-a', tlsRegistry.host, '-t', 'tls', 'list-tags', '-a', APP], {
      cwd: empty,
    });
    assert.equal(tls.code, 2);
    assert.match(tls.stderr, /^ocipeek: cannot read --root-ca \.\/res\/root-ca\.crt/);
  });

  it('a host whose scheme contradicts the mode is refused in one line; a matching one works', async () => {
    const args = (host: string, ...mode: string[]) => [
      'ir',
      '-a',
      host,
      ...mode,
      'list-tags',
      '-a',
      APP,
    ];
    const wrong = [
      args(`http://${tlsRegistry.host}`, '-t', 'tls', '--root-ca', certs.ca.cert.path),
      args(`https://${registry.host}`, '-t', 'no-tls'),
      args(`https://${registry.host}`),
      args(
        `http://${front.host}`,
        '-t',
        'ra-tls',
        '--root-ca',
        certs.ca.cert.path,
        '--token',
        certs.ca.cert.path,
      ),
    ];
    for (const a of wrong) {
      const r = await runCli(a);
      assert.equal(r.code, 2, a.join(' '));
      assert.match(
        r.stderr,
        /^ocipeek: host https?:\/\/\S+ says https? but the connection mode is [a-z-]+, which speaks https?: drop the scheme or change --tls\n$/,
      );
    }
    const plain = await ok(args(`http://${registry.host}`));
    const secure = await ok(
      args(`https://${tlsRegistry.host}/`, '-t', 'tls', '--root-ca', certs.ca.cert.path),
    );
    assert.equal(plain.out, secure.out);
    // The same rule for every command: --plain-http in a mode that speaks HTTPS is refused
    // (it was a silent downgrade), and a reference never carries a scheme.
    for (const mode of ['tls', 'ra-tls']) {
      const r = await runCli([
        'inspect',
        '--plain-http',
        '--tls',
        mode,
        `${registry.host}/${APP}:gz`,
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `ocipeek: plain HTTP (--plain-http) contradicts the connection mode ${mode}, which speaks HTTPS only\n`,
      );
    }
    const url = await runCli(['inspect', '--tls', 'tls', `https://${tlsRegistry.host}/${APP}:gz`]);
    assert.equal(url.code, 2);
    assert.match(
      url.stderr,
      /^ocipeek: invalid reference "https:.*": references have no URL scheme: write 127\.0\.0\.1:\d+\/com\.samsung\.example\.app:gz/,
    );
    const ftp = await runCli(args(`ftp://${registry.host}`));
    assert.match(
      ftp.stderr,
      /^ocipeek: host ftp:\/\/\S+: only http:\/\/ and https:\/\/ are spoken\n$/,
    );
  });
});
