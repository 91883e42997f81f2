import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ISLET_ANNOTATIONS } from '../../src/ir/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import {
  type BuiltImage,
  LayoutWriter,
  pushLayout,
  type RunningRegistry,
  randomImage,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { snapshotRootfs } from '../harness/rootfs-snapshot.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);

/**
 * islet image signatures (ir-sign's annotations) made by `sign-islet` and checked by
 * `inspect`, `pull` and `unpack --islet-root-ca`, against docker-registry. The root CA's
 * signature over the vendor key is made by the openssl CLI, as islet's README does it,
 * and the config signature is checked back with openssl: the formats are islet's.
 */
describe('islet image signatures', () => {
  let dir: { path: string; remove(): Promise<void> };
  let registry: RunningRegistry;
  let image: BuiltImage;
  const files: Record<string, string> = {};
  const client = new RegistryClient({ plainHttp: true, retry: { retries: 0 } });
  const ref = (tag: string) => `${registry.host}/com.example.app:${tag}`;

  /** Write a P-384 key pair as ir-sign/openssl keep them: SEC1 DER private, SPKI DER public. */
  async function keyPair(name: string, curve = 'P-384'): Promise<KeyObject> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    files[`${name}.prv`] = join(dir.path, `${name}.prv`);
    files[`${name}.pub`] = join(dir.path, `${name}.pub`);
    files[`${name}.pem`] = join(dir.path, `${name}.pem`);
    await writeFile(files[`${name}.prv`]!, privateKey.export({ type: 'sec1', format: 'der' }));
    await writeFile(files[`${name}.pub`]!, publicKey.export({ type: 'spki', format: 'der' }));
    await writeFile(files[`${name}.pem`]!, publicKey.export({ type: 'spki', format: 'pem' }));
    return privateKey;
  }

  /** `openssl dgst -sha384 -sign KEY -keyform DER -out OUT FILE`, islet's README command. */
  async function opensslSign(key: string, file: string, out: string): Promise<void> {
    await run('openssl', ['dgst', '-sha384', '-sign', key, '-keyform', 'DER', '-out', out, file]);
  }

  async function push(tag: string) {
    await pushLayout(join(dir.path, 'layout'), 'img', registry, `com.example.app:${tag}`);
  }

  before(async () => {
    dir = await tempDir('islet-sig');
    registry = await startRegistry();
    const w = new LayoutWriter(join(dir.path, 'layout'));
    image = await randomImage(w, { layers: 2, refName: 'img' });
    await w.finish();
    for (const tag of [
      'signed',
      'simple',
      'unsigned',
      'other-root',
      'tampered-config',
      'tampered-sig',
    ]) {
      await push(tag);
    }
    await keyPair('root');
    await keyPair('vendor');
    await keyPair('rogue-root');
    await keyPair('p256', 'P-256');
    files.vendorSig = join(dir.path, 'vendor.pub.sig');
    await opensslSign(files['root.prv']!, files['vendor.pub']!, files.vendorSig);
    files.rogueSig = join(dir.path, 'rogue.pub.sig');
    await opensslSign(files['rogue-root.prv']!, files['vendor.pub']!, files.rogueSig);
  });
  after(async () => {
    await client.close();
    await registry?.stop();
    await dir?.remove();
  });

  async function ok(args: string[]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  }
  async function refused(args: string[], reason: RegExp) {
    const r = await runCli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^ocipeek: \S+ rejected by policy: islet signature \(--islet-root-ca\): /,
    );
    assert.match(r.stderr, reason);
  }
  const store = () => join(dir.path, `store-${Math.random().toString(36).slice(2)}`);

  it('sign-islet writes ir-sign annotations that openssl verifies; inspect, pull and unpack accept them', async () => {
    const signed = await ok([
      'sign-islet',
      ref('signed'),
      '--vendor-key',
      files['vendor.prv']!,
      '--vendor-pub-signature',
      files.vendorSig!,
      '--islet-root-ca',
      files['root.pub']!,
    ]);
    const digest = /^digest: (sha256:[0-9a-f]{64})$/m.exec(signed.out)![1]!;
    const { manifest, bytes } = await client.getManifest(ref('signed'));
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, digest);
    const notes = manifest.annotations!;
    assert.equal(
      notes[ISLET_ANNOTATIONS.vendorPub],
      (await readFile(files['vendor.pub']!)).toString('hex'),
    );
    assert.equal(
      notes[ISLET_ANNOTATIONS.vendorPubSignature],
      (await readFile(files.vendorSig!)).toString('hex'),
    );
    // Everything else of the manifest is kept.
    assert.deepEqual(
      { ...manifest, annotations: undefined },
      { ...image.manifest, annotations: undefined },
    );
    // The config signature, checked by openssl as islet's README would.
    const sig = join(dir.path, 'config.sig');
    const config = join(dir.path, 'config.json');
    await writeFile(sig, Buffer.from(notes[ISLET_ANNOTATIONS.signature]!, 'hex'));
    await writeFile(config, image.configBytes);
    const check = await run('openssl', [
      'dgst',
      '-sha384',
      '-verify',
      files['vendor.pem']!,
      '-signature',
      sig,
      config,
    ]);
    assert.match(check.stdout, /Verified OK/);

    const inspect = await ok([
      'inspect',
      '--json',
      '--islet-root-ca',
      files['root.pem']!,
      ref('signed'),
    ]);
    assert.equal(JSON.parse(inspect.out).digest, digest);
    const verified = await ok(['verify', '--islet-root-ca', files['root.pub']!, ref('signed')]);
    assert.match(
      verified.out,
      /accepted by islet signature \(--islet-root-ca\)\n {2}config signed by vendor key sha256:[0-9a-f]{64}, signed by the root CA\n$/,
    );
    const s = store();
    await ok(['pull', '--store', s, '--islet-root-ca', files['root.pub']!, ref('signed')]);
    const out = join(dir.path, 'rootfs-signed');
    await ok([
      'unpack',
      '--store',
      s,
      '--offline',
      '--islet-root-ca',
      files['root.pub']!,
      ref('signed'),
      out,
    ]);
    const plain = join(dir.path, 'rootfs-plain');
    await ok(['unpack', '--store', store(), ref('unsigned'), plain]);
    assert.deepEqual(snapshotRootfs(out), snapshotRootfs(plain));
  });

  it('sign-islet --root-key makes the vendor signature itself (ir-sign -x)', async () => {
    await ok([
      'sign-islet',
      ref('simple'),
      '--vendor-key',
      files['vendor.prv']!,
      '--root-key',
      files['root.prv']!,
    ]);
    await ok(['inspect', '--islet-root-ca', files['root.pub']!, ref('simple')]);
    await refused(
      ['inspect', '--islet-root-ca', files['rogue-root.pub']!, ref('simple')],
      /vendor key is not signed by the root CA/,
    );
  });

  it('refuses an unsigned image, from the registry and from the store', async () => {
    await refused(
      ['inspect', '--islet-root-ca', files['root.pub']!, ref('unsigned')],
      /not signed: no com\.samsung\.islet\.image\.signature annotation/,
    );
    await refused(
      [
        'unpack',
        '--store',
        store(),
        '--islet-root-ca',
        files['root.pub']!,
        ref('unsigned'),
        join(dir.path, 'never'),
      ],
      /not signed/,
    );
    const s = store();
    await ok(['pull', '--store', s, ref('unsigned')]);
    await refused(
      ['pull', '--store', s, '--islet-root-ca', files['root.pub']!, ref('unsigned')],
      /not signed/,
    );
    await refused(
      [
        'inspect',
        '--store',
        s,
        '--offline',
        '--islet-root-ca',
        files['root.pub']!,
        ref('unsigned'),
      ],
      /not signed/,
    );
  });

  it('refuses a vendor key signed by another root, and sign-islet checks it first', async () => {
    const r = await runCli([
      'sign-islet',
      ref('other-root'),
      '--vendor-key',
      files['vendor.prv']!,
      '--vendor-pub-signature',
      files.rogueSig!,
      '--islet-root-ca',
      files['root.pub']!,
    ]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^ocipeek: the vendor key's signature does not verify with --islet-root-ca /,
    );
    await ok([
      'sign-islet',
      ref('other-root'),
      '--vendor-key',
      files['vendor.prv']!,
      '--vendor-pub-signature',
      files.rogueSig!,
    ]);
    await refused(
      ['pull', '--store', store(), '--islet-root-ca', files['root.pub']!, ref('other-root')],
      /the vendor key is not signed by the root CA/,
    );
    await ok(['inspect', '--islet-root-ca', files['rogue-root.pub']!, ref('other-root')]);
  });

  it('refuses a tampered config and tampered annotations', async () => {
    for (const tag of ['tampered-config', 'tampered-sig']) {
      await ok([
        'sign-islet',
        ref(tag),
        '--vendor-key',
        files['vendor.prv']!,
        '--root-key',
        files['root.prv']!,
      ]);
    }
    // Config: another config blob (one label added) under the signed manifest's annotations.
    const signed = await client.getManifest(ref('tampered-config'));
    const config = JSON.parse(image.configBytes.toString('utf8'));
    config.config = { ...config.config, Labels: { evil: '1' } };
    const configBytes = Buffer.from(JSON.stringify(config));
    const desc = {
      digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
      size: configBytes.length,
    };
    await client.uploadBlob(ref('tampered-config'), desc, configBytes);
    const m1 = JSON.parse(signed.bytes.toString('utf8'));
    m1.config = { ...m1.config, ...desc };
    await client.putManifest(
      ref('tampered-config'),
      Buffer.from(JSON.stringify(m1)),
      signed.mediaType,
    );
    await refused(
      ['inspect', '--islet-root-ca', files['root.pub']!, ref('tampered-config')],
      /config signature does not match/,
    );
    // Annotations: the config signature's last byte changed.
    const m2 = JSON.parse((await client.getManifest(ref('tampered-sig'))).bytes.toString('utf8'));
    const hex: string = m2.annotations[ISLET_ANNOTATIONS.signature];
    m2.annotations[ISLET_ANNOTATIONS.signature] =
      hex.slice(0, -2) + (hex.endsWith('00') ? '01' : '00');
    await client.putManifest(
      ref('tampered-sig'),
      Buffer.from(JSON.stringify(m2)),
      signed.mediaType,
    );
    await refused(
      [
        'unpack',
        '--store',
        store(),
        '--islet-root-ca',
        files['root.pub']!,
        ref('tampered-sig'),
        join(dir.path, 'never2'),
      ],
      /config signature does not match/,
    );
    // Annotations: a vendor key swapped for another (the root's signature no longer covers it).
    const m3 = JSON.parse(
      (await client.getManifest(ref('tampered-config'))).bytes.toString('utf8'),
    );
    m3.config = JSON.parse(signed.bytes.toString('utf8')).config;
    m3.annotations[ISLET_ANNOTATIONS.vendorPub] = (
      await readFile(files['rogue-root.pub']!)
    ).toString('hex');
    await client.putManifest(
      ref('tampered-config'),
      Buffer.from(JSON.stringify(m3)),
      signed.mediaType,
    );
    await refused(
      ['inspect', '--islet-root-ca', files['root.pub']!, ref('tampered-config')],
      /vendor key is not signed by the root CA/,
    );
  });

  it('a root CA key that is not P-384 is a clear error', async () => {
    const r = await runCli(['inspect', '--islet-root-ca', files['p256.pub']!, ref('signed')]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^ocipeek: --islet-root-ca \S+ is not an ECDSA P-384 key \(ec prime256v1\); islet signs with secp384r1\n$/,
    );
  });
});
